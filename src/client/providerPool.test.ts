import { test } from "node:test";
import assert from "node:assert/strict";
import type { ProviderListing } from "../market/providerListing.ts";
import { createProviderStats } from "../market/providerStats.ts";
import type { ManifestFile } from "../protocol/manifest.ts";
import type { Offer } from "../protocol/wire.ts";
import { createProviderPool } from "./providerPool.ts";
import type { ProviderSession, SessionPayments } from "./providerSession.ts";

// The pool's per-provider limit: by default it follows the provider's credit window (the session
// holds back what the window does not admit), so payment latency no longer caps what is in flight.

const CHUNK = 1024;
const listing: ProviderListing = { provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", endpoint: "http://a.test", pricePerGiB: 1n, capacityMbps: 100n, region: "", services: 1 };
const file: ManifestFile = { path: "f", size: BigInt(20 * CHUNK), mediaType: "application/octet-stream", chunks: Array.from({ length: 20 }, () => "00") };

function stubSession(windowBytes: bigint) {
  const state = { inFlight: 0, maxInFlight: 0, release: [] as (() => void)[] };
  const payments: SessionPayments = { tickets: 0, expectedValue: 0n, acknowledgedBytes: 0n, unacknowledgedBytes: 0n };
  const session: ProviderSession = {
    listing,
    offer: {} as Offer,
    sessionId: `0x${"11".repeat(32)}`,
    maxRequestBytes: windowBytes,
    async fetchRange(r) {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      await new Promise<void>((resolve) => state.release.push(resolve));
      state.inFlight--;
      return { data: Buffer.alloc(Number(r.end - r.start)), elapsedMs: 1 };
    },
    fetchManifest: async () => ({}),
    settle: async () => {},
    payments: () => payments,
  };
  return { session, state };
}

async function maxInFlight(perProvider: number | undefined, windowBytes: bigint): Promise<number> {
  const { session, state } = stubSession(windowBytes);
  const pool = createProviderPool({
    listings: async () => [listing],
    stats: createProviderStats(),
    openSession: async () => session,
    ...(perProvider !== undefined ? { perProvider } : {}),
  });
  const all = Array.from({ length: 12 }, (_, index) => pool.fetchChunk({ contentId: "c", chunkSize: CHUNK, file, index }));
  // Release one request at a time until every chunk is done; the pool refills as slots free up.
  let done = false;
  const finished = Promise.all(all).then(() => (done = true));
  while (!done) {
    await new Promise((r) => setTimeout(r, 2));
    state.release.shift()?.();
  }
  await finished;
  return state.maxInFlight;
}

test("by default a provider gets as many chunks in flight as its credit window holds", async () => {
  assert.equal(await maxInFlight(undefined, BigInt(6 * CHUNK)), 6);
  assert.equal(await maxInFlight(undefined, BigInt(CHUNK / 2)), 1, "at least one");
});

test("an explicit perProvider caps it", async () => {
  assert.equal(await maxInFlight(2, BigInt(6 * CHUNK)), 2);
});

test("with every provider cooling down, the manifest and chunk errors say which and why, not an empty list", async () => {
  const { ProviderRequestError, ManifestUnavailableError, NoProviderAvailableError } = await import("./errors.ts");
  let opens = 0;
  const pool = createProviderPool({
    listings: async () => [listing],
    stats: createProviderStats(),
    openSession: async () => {
      opens++;
      throw new ProviderRequestError({ provider: listing.provider, url: `${listing.endpoint}/sessions`, reason: "connect ECONNREFUSED" });
    },
  });
  const first = await pool.fetchManifest("c").then(() => assert.fail("resolved"), (e: unknown) => e);
  assert.ok(first instanceof ManifestUnavailableError);
  assert.match(first.message, /ECONNREFUSED/);
  // Within the cooldown nothing is tried again, and the error still names the provider and its failure.
  const again = await pool.fetchManifest("c").then(() => assert.fail("resolved"), (e: unknown) => e);
  assert.ok(again instanceof ManifestUnavailableError);
  assert.equal(opens, 1);
  assert.match(again.message, new RegExp(`${listing.provider} \\(http://a.test\\): cooling down for (29|30) s after: Request to provider .* ECONNREFUSED`));
  const chunk = await pool.fetchChunk({ contentId: "c", chunkSize: CHUNK, file, index: 0 }).then(() => assert.fail("resolved"), (e: unknown) => e);
  assert.ok(chunk instanceof NoProviderAvailableError);
  assert.match(chunk.message, /cooling down/);
  assert.doesNotMatch(chunk.message, /No active cdn provider is listed/);
});
