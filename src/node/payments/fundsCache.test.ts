import { test } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import { ChainUnavailableError } from "../../chain/errors.ts";
import { isChainOutage } from "../toChainUnavailable.ts";
import { createFundsCache, type SenderFunds } from "./fundsCache.ts";

const alice: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const bob: Address = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

test("during a chain outage the funds last read stand in for staleMs after that read, then the outage is an error again", async () => {
  const clock = { t: 0, now() { return this.t; } };
  let deposit = 100n;
  let down = false;
  let reads = 0;
  const read = async (): Promise<SenderFunds> => {
    reads++;
    if (down) throw new ChainUnavailableError("http://127.0.0.1:1");
    return { deposit, reserve: 0n, withdrawTime: 0n };
  };
  const funds = createFundsCache({ read, clock, ttlMs: 10_000, staleMs: 300_000, retryMs: 2_000, isOutage: isChainOutage });
  assert.equal((await funds.get(alice)).deposit, 100n);
  deposit = 50n;
  down = true;
  clock.t = 11_000; // past the TTL: the read fails, the last funds stand in
  assert.equal(funds.peek(alice), undefined);
  assert.equal((await funds.get(alice)).deposit, 100n);
  assert.equal(reads, 2);
  clock.t = 12_000; // within retryMs of the failure: no new read, peek answers at once
  assert.equal(funds.peek(alice)?.deposit, 100n);
  assert.equal(reads, 2);
  clock.t = 14_000; // time to ask the chain again
  assert.equal(funds.peek(alice), undefined);
  assert.equal((await funds.get(alice)).deposit, 100n);
  assert.equal(reads, 3);
  // A sender never read, or one invalidated (new sessions read afresh), gets the outage.
  await assert.rejects(funds.get(bob), { name: "ChainUnavailableError" });
  funds.invalidate(alice);
  await assert.rejects(funds.get(alice), { name: "ChainUnavailableError" });
  // Back up: fresh funds again; then down for longer than staleMs after that read: the error.
  down = false;
  assert.equal((await funds.get(alice)).deposit, 50n);
  down = true;
  clock.t += 300_000;
  await assert.rejects(funds.get(alice), { name: "ChainUnavailableError" });
});

test("a read error that is not an outage (a bug, a revert) is never papered over with stale funds", async () => {
  const clock = { t: 0, now() { return this.t; } };
  let fail = false;
  const funds = createFundsCache({
    read: async () => {
      if (fail) throw new Error("decoding failed");
      return { deposit: 1n, reserve: 0n, withdrawTime: 0n };
    },
    clock, ttlMs: 10, staleMs: 300_000, isOutage: isChainOutage,
  });
  await funds.get(alice);
  fail = true;
  clock.t = 20;
  await assert.rejects(funds.get(alice), /decoding failed/);
});
