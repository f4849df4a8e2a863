import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devAccount } from "../../src/chain/devAccounts.ts";
import type { OpenedSession } from "../../src/protocol/wire.ts";
import { fetchRange, makeTicket, MiB, openSession, postSessionRequest, postTickets, sessionRequestBody, startHarness, type Harness } from "./harness.ts";

type ErrorOf = { status: number; error: string; details?: Record<string, unknown> };
async function fullErrorOf(res: Response): Promise<ErrorOf> {
  const body = (await res.json()) as { error: string; details?: Record<string, unknown> };
  return { status: res.status, error: body.error, ...(body.details ? { details: body.details } : {}) };
}
/** Status and error name only (details checked where they matter). */
async function errorOf(res: Response): Promise<ErrorOf> {
  const { status, error } = await fullErrorOf(res);
  return { status, error };
}

describe("ticket intake over HTTP", () => {
  let dir: string;
  let h: Harness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-intake-"));
    h = await startHarness(dir);
  });
  after(async () => {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function servedSession(bytes: bigint): Promise<OpenedSession> {
    const s = await openSession(h.url, h.consumer);
    const res = await fetchRange(h.url, s, 0n, bytes);
    assert.equal(res.status, 206);
    await res.arrayBuffer();
    return s;
  }

  test("offer and session carry the ticket terms", async () => {
    const offer = (await (await fetch(`${h.url}/offer`)).json()) as Record<string, unknown>;
    assert.equal(offer.recipient, h.provider.address);
    assert.equal(offer.faceValue, h.offer.faceValue.toString());
    const s = await openSession(h.url, h.consumer);
    assert.equal(s.winProb, h.offer.winProb);
    assert.ok(s.nextNonce >= 1n);
    assert.match(s.recipientRandHash, /^0x[0-9a-f]{64}$/);
  });

  test("content without a session is refused with 402 SessionRequiredError", async () => {
    const res = await fetch(`${h.url}/c/c/f`, { headers: { range: "bytes=0-9" } });
    assert.deepEqual(await errorOf(res), { status: 402, error: "SessionRequiredError" });
  });

  test("accepts valid tickets in a header and a POST, durably, and moves paidBytes", async () => {
    const s = await servedSession(2n * MiB);
    const t1 = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
    const res = await fetchRange(h.url, s, 2n * MiB, 3n * MiB, [t1]);
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("x-bandmint-paid-bytes"), MiB.toString());
    await res.arrayBuffer();
    const t2 = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: s.nextNonce + 1n, cumulativeBytes: 2n * MiB });
    const t3 = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: s.nextNonce + 2n, cumulativeBytes: 3n * MiB });
    const post = await postTickets(h.url, s, [t2, t3]);
    assert.equal(post.status, 200);
    const body = (await post.json()) as { accepted: number; session: { paidBytes: string } };
    assert.equal(body.accepted, 2);
    assert.equal(body.session.paidBytes, (3n * MiB).toString());
    const stored = h.store.ticketsOfSession(s.sessionId);
    assert.deepEqual(stored.map((t) => t.ticket.cumulativeBytes), [MiB, 2n * MiB, 3n * MiB]);
    assert.equal(h.store.getSession(s.sessionId)?.paidBytes, 3n * MiB);
  });

  test("rejects forged, replayed, expired, under-priced and over-acknowledging tickets", async () => {
    const s = await servedSession(3n * MiB);
    const n = s.nextNonce;
    const other = devAccount(11);
    const forged = await makeTicket(s, other.privateKey, h.domain, { nonce: n, cumulativeBytes: MiB });
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [forged])), { status: 401, error: "SignerMismatchError" });

    const good = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n, cumulativeBytes: MiB });
    assert.equal((await postTickets(h.url, s, [good])).status, 200);
    const replay = await fullErrorOf(await postTickets(h.url, s, [good]));
    assert.equal(replay.status, 409);
    assert.equal(replay.error, "TicketNonceError");
    assert.equal(replay.details?.nextNonce, (n + 1n).toString());
    const sameNonce = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n, cumulativeBytes: 2n * MiB });
    assert.equal((await errorOf(await postTickets(h.url, s, [sameNonce]))).error, "TicketNonceError");

    const now = BigInt(Math.floor(h.clock.now() / 1000));
    const expired = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 2n * MiB }, { expiry: now - 1n });
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [expired])), { status: 400, error: "TicketExpiredError" });
    const tooSoon = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 2n * MiB }, { expiry: now + 60n });
    assert.equal((await errorOf(await postTickets(h.url, s, [tooSoon]))).error, "TicketExpiresTooSoonError");

    // One ticket is worth bytesPerTicket bytes: acknowledging 2 MiB at once is under-priced.
    const under = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 3n * MiB });
    const u = await fullErrorOf(await postTickets(h.url, s, [under]));
    assert.equal(u.status, 402);
    assert.equal(u.error, "TicketUnderpricedError");
    assert.equal(u.details?.maxBytes, MiB.toString());
    const cheap = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 2n * MiB }, { winProb: s.winProb - 1n });
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [cheap])), { status: 400, error: "TicketTermsMismatchError" });

    const over = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 3n * MiB + 1n }, {});
    assert.equal((await errorOf(await postTickets(h.url, s, [over]))).error, "TicketOverAcknowledgesError");
    // Within value, but beyond what was served: over-acknowledged.
    const s2 = await servedSession(MiB / 2n);
    const over2 = await makeTicket(s2, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: MiB / 2n + 1n });
    assert.deepEqual(await errorOf(await postTickets(h.url, s2, [over2])), { status: 409, error: "TicketOverAcknowledgesError" });
    const stale = await makeTicket(s2, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 1n }, { recipientRandHash: `0x${"00".repeat(32)}` });
    assert.equal((await errorOf(await postTickets(h.url, s2, [stale]))).error, "StaleRecipientRandError");
    const wrongSession = await makeTicket(s2, h.consumer.privateKey, h.domain, { nonce: n + 1n, cumulativeBytes: 1n });
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [wrongSession])), { status: 409, error: "SessionMismatchError" });
    // None of the refused tickets was stored.
    assert.equal(h.store.ticketsOfSession(s.sessionId).length, 1);
  });

  test("a consumer that stops paying gets at most one credit window", async () => {
    const payer = devAccount(12);
    const s = await openSession(h.url, payer);
    let served = 0n;
    let refused;
    for (let i = 0n; i < 10n; i++) {
      const res = await fetchRange(h.url, s, i * MiB, (i + 1n) * MiB);
      if (res.status !== 206) {
        refused = await fullErrorOf(res);
        break;
      }
      served += BigInt((await res.arrayBuffer()).byteLength);
    }
    assert.equal(served, h.offer.creditWindowBytes);
    assert.equal(refused?.status, 402);
    assert.equal(refused?.error, "PaymentRequiredError");
    assert.equal(refused?.details?.minCumulativeBytes, MiB.toString());
    // Paying for one MiB buys exactly one more MiB.
    const t = await makeTicket(s, payer.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
    const res = await fetchRange(h.url, s, 4n * MiB, 5n * MiB, [t]);
    assert.equal(res.status, 206);
    await res.arrayBuffer();
    assert.equal((await fetchRange(h.url, s, 5n * MiB, 5n * MiB + 1n)).status, 402);
  });

  test("insufficient funds and unlocking senders are refused", async () => {
    const poor = devAccount(13);
    const s = await openSession(h.url, poor);
    await (await fetchRange(h.url, s, 0n, MiB)).arrayBuffer();
    h.funds.deposit = h.offer.faceValue - 1n;
    try {
      const t = await makeTicket(s, poor.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
      assert.deepEqual(await errorOf(await postTickets(h.url, s, [t])), { status: 402, error: "InsufficientFundsError" });
      const res = await postSessionRequest(h.url, await sessionRequestBody(h.url, poor));
      assert.equal((await errorOf(res)).error, "InsufficientFundsError");
      h.funds.deposit = 100n * 10n ** 18n;
      h.funds.withdrawTime = BigInt(Math.floor(h.clock.now() / 1000)) + 3600n;
      assert.equal((await errorOf(await postTickets(h.url, s, [t]))).error, "InsufficientFundsError");
    } finally {
      h.funds.deposit = 100n * 10n ** 18n;
      h.funds.withdrawTime = 0n;
    }
  });
});

describe("credit is per sender", () => {
  test("opening more sessions buys no more unpaid bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bandmint-credit-"));
    const h = await startHarness(dir);
    try {
      let served = 0n;
      for (let i = 0; i < 6; i++) {
        const s = await openSession(h.url, h.consumer);
        const res = await fetchRange(h.url, s, 0n, MiB);
        if (res.status === 206) served += BigInt((await res.arrayBuffer()).byteLength);
        else assert.equal(((await res.json()) as { error: string }).error, "PaymentRequiredError");
      }
      assert.equal(served, h.offer.creditWindowBytes);
      // Another sender has its own window.
      const other = await openSession(h.url, devAccount(11));
      assert.equal((await fetchRange(h.url, other, 0n, MiB)).status, 206);
    } finally {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
