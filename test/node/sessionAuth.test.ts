import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http } from "viem";
import { devAccount } from "../../src/chain/devAccounts.ts";
import { fetchRange, MiB, openSession, postSessionRequest, sessionRequestBody, startHarness, type Harness } from "./harness.ts";

// POST /sessions must prove that the caller holds the sender's key (payments.md §1.2). Before
// signed requests anyone could open sessions in a funded sender's name and fill the sender's
// per-sender credit window, so that the real consumer's requests got 402.

async function errorOf(res: Response): Promise<{ status: number; error: string }> {
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

describe("session requests are signed by the sender", () => {
  let dir: string;
  let h: Harness;
  const victim = devAccount(10);
  const attacker = devAccount(12);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-auth-"));
    h = await startHarness(dir);
  });
  after(async () => {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("an unsigned request (the old body) is refused with 401 UnsignedSessionRequestError", async () => {
    assert.deepEqual(await errorOf(await postSessionRequest(h.url, { sender: victim.address })), { status: 401, error: "UnsignedSessionRequestError" });
  });

  test("a request for the victim signed with another key is refused with 401 SessionRequestSignerError", async () => {
    const forged = await sessionRequestBody(h.url, attacker, { sender: victim.address });
    assert.deepEqual(await errorOf(await postSessionRequest(h.url, forged)), { status: 401, error: "SessionRequestSignerError" });
    // Changing the sender of a request the attacker signed for itself does not help either.
    const own = await sessionRequestBody(h.url, attacker);
    assert.deepEqual(await errorOf(await postSessionRequest(h.url, { ...own, sender: victim.address })), { status: 401, error: "SessionRequestSignerError" });
  });

  test("stale and future timestamps are refused with 401 StaleSessionRequestError", async () => {
    const now = BigInt(Math.floor(h.clock.now() / 1000));
    for (const timestamp of [now - 301n, now + 61n]) {
      const body = await sessionRequestBody(h.url, victim, { timestamp });
      assert.deepEqual(await errorOf(await postSessionRequest(h.url, body)), { status: 401, error: "StaleSessionRequestError" }, String(timestamp - now));
    }
  });

  test("a replayed request is refused with 409 ReplayedSessionRequestError, also when replays race", async () => {
    const body = await sessionRequestBody(h.url, victim);
    const results = await Promise.all([postSessionRequest(h.url, body), postSessionRequest(h.url, body), postSessionRequest(h.url, body)]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409]);
    for (const r of results) if (r.status === 409) assert.equal((await r.json() as { error: string }).error, "ReplayedSessionRequestError");
    // Durable: the digest is on disk with the session, not only in memory.
    assert.deepEqual(await errorOf(await postSessionRequest(h.url, body)), { status: 409, error: "ReplayedSessionRequestError" });
  });

  test("after every attack the victim still gets its whole credit window", async () => {
    const s = await openSession(h.url, victim);
    assert.equal(s.sender, victim.address);
    for (let i = 0n; i < h.offer.creditWindowBytes / MiB; i++) {
      const res = await fetchRange(h.url, s, i * MiB, (i + 1n) * MiB);
      assert.equal(res.status, 206, `MiB ${i}`);
      await res.arrayBuffer();
    }
    assert.equal((await fetchRange(h.url, s, 4n * MiB, 4n * MiB + 1n)).status, 402);
  });
});

describe("chain outages", () => {
  test("a failed funds read answers 503 ChainUnavailableError, not 500", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bandmint-outage-"));
    // A real viem client against a port nobody listens on, read through the node's broker client.
    const { createBrokerClient } = await import("../../src/node/brokerClient.ts");
    const { ticketBrokerAbi } = await import("../../src/chain/abis.ts");
    const { createWalletClient } = await import("viem");
    const { privateKeyToAccount } = await import("viem/accounts");
    const chain = { id: 31337, name: "dead", nativeCurrency: { name: "E", symbol: "E", decimals: 18 }, rpcUrls: { default: { http: ["http://127.0.0.1:9"] } } } as const;
    const transport = http("http://127.0.0.1:9", { retryCount: 0, timeout: 2000 });
    const broker = createBrokerClient({
      publicClient: createPublicClient({ chain, transport }),
      walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(devAccount(2).privateKey) }),
      broker: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      abi: ticketBrokerAbi,
    });
    await assert.rejects(broker.getSender(devAccount(10).address), (e: Error) => e.name === "ChainUnavailableError" && /127\.0\.0\.1:9/.test(e.message));
    const h = await startHarness(dir, {}, { readFunds: (sender) => broker.getSender(sender) });
    try {
      assert.deepEqual(await errorOf(await postSessionRequest(h.url, await sessionRequestBody(h.url, devAccount(10)))), { status: 503, error: "ChainUnavailableError" });
    } finally {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
