import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { devAccount } from "../../chain/devAccounts.ts";
import { domainSeparatorBytes, hashTicket } from "../../protocol/hashTicket.ts";
import { signTicket } from "../../protocol/signTicket.ts";
import { ticketDomain, type Ticket } from "../../protocol/ticket.ts";
import type { TicketPayment } from "../../protocol/wire.ts";
import { buildOffer, type OfferTerms } from "./buildOffer.ts";
import { createFundsCache } from "./fundsCache.ts";
import { createSessionBook, type SessionState } from "./sessionBook.ts";
import { startSignerPool, type SignerPool } from "./signerPool.ts";
import { createTicketCommitter } from "./ticketCommitter.ts";
import { createTicketIntake } from "./ticketIntake.ts";
import { openTicketStore, type TicketStore } from "./ticketStore.ts";

// Group commit: tickets in flight together are committed in one transaction, and the state checks
// see queued tickets, so two in-flight tickets of one sender or session cannot both pass.

const MiB = 1n << 20n;
const TOKEN = 10n ** 18n;
const provider = devAccount(2);
const consumer = devAccount(10);
const broker: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = ticketDomain(31337, broker);

function setup(dir: string, terms: Partial<OfferTerms> = {}, deposit = 100n * TOKEN, failCommits = false, signers?: Pick<SignerPool, "recover">) {
  const offer = buildOffer({
    recipient: provider.address, chainId: 31337, broker, pricePerGiB: TOKEN, bytesPerTicket: MiB, faceValue: TOKEN / 10n,
    creditWindowBytes: 4n * MiB, ticketExpirySeconds: 86_400, services: ["cdn"], ...terms,
  });
  const clock = { now: () => Date.now() };
  const store = openTicketStore({ path: join(dir, "node.db") });
  const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
  const funds = createFundsCache({ read: async () => ({ deposit, reserve: 0n, withdrawTime: 0n }), clock, ttlMs: 60_000 });
  const batches: number[] = [];
  const failing = { on: failCommits };
  const committer = createTicketCommitter({
    store: {
      writeTickets(batch) {
        if (failing.on) throw new Error("disk full");
        store.acceptTickets(batch);
      },
    },
    onCommit: (n) => batches.push(n),
  });
  const outstanding = new Map<Address, number>();
  const intake = createTicketIntake({ store, funds, offer, domainSeparator: domainSeparatorBytes(domain), clock, outstanding, committer, ...(signers ? { signers } : {}) });
  return { offer, store, sessions, intake, batches, failing, outstanding, funds };
}

async function ticketFor(s: SessionState, offer: { faceValue: bigint; winProb: bigint }, nonce: bigint, cumulativeBytes: bigint, expiryOffset = 0n): Promise<TicketPayment> {
  const ticket: Ticket = {
    recipient: provider.address, sender: s.sender, faceValue: offer.faceValue, winProb: offer.winProb, senderNonce: nonce,
    recipientRandHash: s.randHash, expiry: BigInt(Math.floor(Date.now() / 1000)) + 86_400n - expiryOffset, sessionId: s.id, cumulativeBytes,
  };
  return { ticket, signature: await signTicket({ ticket, domain, privateKey: consumer.privateKey }) };
}

const nameOf = (r: PromiseSettledResult<unknown>) => (r.status === "fulfilled" ? "ok" : (r.reason as Error).name);

describe("ticket intake with group commit", () => {
  let dir: string;
  let stores: TicketStore[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-gc-"));
    stores = [];
  });
  afterEach(async () => {
    for (const s of stores) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("concurrent tickets of several sessions share one transaction, and are on disk when accept resolves", async () => {
    const w = setup(dir);
    stores.push(w.store);
    // Funds cached, as on the hot path: every check then runs before the first commit.
    await w.funds.get(consumer.address);
    const a = w.sessions.open(consumer.address);
    a.servedBytes = 2n * MiB;
    const b = w.sessions.open(consumer.address);
    b.servedBytes = 2n * MiB;
    const tickets = [await ticketFor(a, w.offer, 1n, MiB), await ticketFor(b, w.offer, 2n, MiB), await ticketFor(a, w.offer, 3n, 2n * MiB)];
    const results = await Promise.all([w.intake.accept(a, tickets[0]!), w.intake.accept(b, tickets[1]!), w.intake.accept(a, tickets[2]!)]);
    assert.deepEqual(w.batches, [3]);
    assert.deepEqual(results.map((r) => r.paidBytes), [MiB, MiB, 2n * MiB]);
    assert.equal(a.paidBytes, 2n * MiB);
    assert.equal(b.paidBytes, MiB);
    // A second connection (another process would see the same) finds all three committed.
    const reader = openTicketStore({ path: join(dir, "node.db") });
    stores.push(reader);
    assert.equal(reader.ticketsOfSession(a.id).length, 2);
    assert.equal(reader.lastNonce(consumer.address), 3n);
    assert.equal(reader.getSession(a.id)?.paidBytes, 2n * MiB);
  });

  test("two in-flight tickets with one nonce: exactly one is accepted", async () => {
    const w = setup(dir);
    stores.push(w.store);
    // Funds cached, as on the hot path: every check then runs before the first commit.
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 2n * MiB;
    // Same nonce, different expiry: two distinct valid signatures.
    const [x, y] = [await ticketFor(s, w.offer, 1n, MiB), await ticketFor(s, w.offer, 1n, MiB, 1n)];
    const settled = await Promise.allSettled([w.intake.accept(s, x), w.intake.accept(s, y)]);
    assert.deepEqual(settled.map(nameOf), ["ok", "TicketNonceError"]);
    assert.equal(w.store.ticketsOfSession(s.id).length, 1);
  });

  test("a queued ticket's cumulativeBytes is the next one's floor: two tickets cannot pay for the same bytes", async () => {
    const w = setup(dir);
    stores.push(w.store);
    // Funds cached, as on the hot path: every check then runs before the first commit.
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 3n * MiB;
    const first = await ticketFor(s, w.offer, 1n, MiB);
    const sameBytes = await ticketFor(s, w.offer, 2n, MiB);
    // Worth one MiB but, after the queued first ticket, it would pay for 2 MiB - 0 if checked
    // against the committed paidBytes alone; against the queued state it pays for 1 MiB: fine.
    const next = await ticketFor(s, w.offer, 3n, 2n * MiB);
    const tooMuch = await ticketFor(s, w.offer, 4n, 3n * MiB + 1n);
    const settled = await Promise.allSettled([w.intake.accept(s, first), w.intake.accept(s, sameBytes), w.intake.accept(s, next), w.intake.accept(s, tooMuch)]);
    assert.deepEqual(settled.map(nameOf), ["ok", "TicketAcknowledgesNothingError", "ok", "TicketOverAcknowledgesError"]);
    assert.equal(s.paidBytes, 2n * MiB);
  });

  test("concurrent winners are counted against the deposit before they commit", async () => {
    // Certain tickets (faceValue below the ticket's value: every ticket wins); the deposit backs one.
    const w = setup(dir, { faceValue: 1n }, 10n ** 15n + 1n);
    stores.push(w.store);
    await w.funds.get(consumer.address);
    assert.ok(w.offer.faceValue <= 10n ** 15n + 1n && 2n * w.offer.faceValue > 10n ** 15n + 1n);
    const a = w.sessions.open(consumer.address);
    a.servedBytes = MiB;
    const b = w.sessions.open(consumer.address);
    b.servedBytes = MiB;
    const settled = await Promise.allSettled([
      w.intake.accept(a, await ticketFor(a, w.offer, 1n, MiB)),
      w.intake.accept(b, await ticketFor(b, w.offer, 2n, MiB)),
    ]);
    assert.deepEqual(settled.map(nameOf), ["ok", "InsufficientFundsError"]);
    assert.equal(w.outstanding.get(consumer.address), 1);
  });

  test("a failed commit rejects its batch and releases every reservation", async () => {
    const w = setup(dir, {}, 100n * TOKEN, true);
    stores.push(w.store);
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 2n * MiB;
    const t1 = await ticketFor(s, w.offer, 1n, MiB);
    const t2 = await ticketFor(s, w.offer, 2n, 2n * MiB);
    const settled = await Promise.allSettled([w.intake.accept(s, t1), w.intake.accept(s, t2)]);
    assert.deepEqual(settled.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok")), ["disk full", "disk full"]);
    assert.equal(s.paidBytes, 0n);
    assert.equal(w.store.lastNonce(consumer.address), 0n);
    // Nothing stays reserved: once the disk works the same tickets go in.
    w.failing.on = false;
    await w.intake.accept(s, t1);
    await w.intake.accept(s, t2);
    assert.equal(s.paidBytes, 2n * MiB);
  });

  test("acceptAll commits a request's tickets together and keeps those before a bad one", async () => {
    const w = setup(dir);
    stores.push(w.store);
    // Funds cached, as on the hot path: every check then runs before the first commit.
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 3n * MiB;
    const good = [await ticketFor(s, w.offer, 1n, MiB), await ticketFor(s, w.offer, 2n, 2n * MiB)];
    const replay = good[1]!;
    const { accepted, error } = await w.intake.acceptAll(s, [...good, replay]);
    assert.equal(accepted.length, 2);
    assert.equal((error as Error).name, "TicketNonceError");
    assert.deepEqual(w.batches, [2]);
    assert.equal(w.store.ticketsOfSession(s.id).length, 2);
  });
});

describe("ticket intake with signatures recovered on signer threads", () => {
  let dir: string;
  let stores: TicketStore[];
  let pool: SignerPool;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-signers-"));
    stores = [];
    pool = startSignerPool({ threads: 2, domainSeparator: domainSeparatorBytes(domain) });
  });
  afterEach(async () => {
    await pool.close();
    for (const s of stores) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the pool recovers what the inline check recovers, and answers nothing for a bad signature or once closed", async () => {
    const w = setup(dir);
    stores.push(w.store);
    const s = w.sessions.open(consumer.address);
    const t = await ticketFor(s, w.offer, 1n, MiB);
    assert.deepEqual(await pool.recover(t.ticket, t.signature), { signer: consumer.address, digest: hashTicket(t.ticket, domain) });
    const highS = flipS(t.signature);
    assert.equal(await pool.recover(t.ticket, highS), undefined);
    await pool.close();
    assert.equal(await pool.recover(t.ticket, t.signature), undefined);
  });

  test("tickets are accepted, refused with the protocol's typed errors, and two in flight with one nonce still yield one", async () => {
    const w = setup(dir, {}, 100n * TOKEN, false, pool);
    stores.push(w.store);
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 4n * MiB;
    const [x, y] = [await ticketFor(s, w.offer, 1n, MiB), await ticketFor(s, w.offer, 1n, MiB, 1n)];
    const settled = await Promise.allSettled([w.intake.accept(s, x), w.intake.accept(s, y)]);
    assert.deepEqual(settled.map(nameOf).sort(), ["TicketNonceError", "ok"]);
    const next = await ticketFor(s, w.offer, 2n, 2n * MiB);
    const forged = { ...next, signature: await signTicket({ ticket: next.ticket, domain, privateKey: devAccount(11).privateKey }) };
    await assert.rejects(w.intake.accept(s, forged), { name: "SignerMismatchError" });
    await assert.rejects(w.intake.accept(s, { ...next, signature: flipS(next.signature) }), { name: "InvalidSignatureError" });
    assert.equal((await w.intake.accept(s, next)).paidBytes, 2n * MiB);
    // A request's tickets are recovered together; the one after a forged ticket is not taken.
    const run = [await ticketFor(s, w.offer, 3n, 3n * MiB), await ticketFor(s, w.offer, 4n, 4n * MiB), await ticketFor(s, w.offer, 5n, 4n * MiB)];
    run[1] = { ...run[1]!, signature: await signTicket({ ticket: run[1]!.ticket, domain, privateKey: devAccount(11).privateKey }) };
    const { accepted, error } = await w.intake.acceptAll(s, run);
    assert.deepEqual([accepted.map((a) => a.paidBytes), (error as Error).name], [[3n * MiB], "SignerMismatchError"]);
    assert.equal(s.paidBytes, 3n * MiB);
  });

  test("a batch is recovered only as far as it passes: a bad first ticket costs at most one recovery", async () => {
    const asked: bigint[] = [];
    const counting = { recover: (t: Ticket, sig: Hex) => (asked.push(t.senderNonce), pool.recover(t, sig)) };
    const w = setup(dir, {}, 100n * TOKEN, false, counting);
    stores.push(w.store);
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 64n * MiB;
    const first = await ticketFor(s, w.offer, 1n, MiB);
    assert.equal((await w.intake.accept(s, first)).paidBytes, MiB);
    asked.length = 0;
    // A replay (refused by its nonce, before any recovery), 255 times over: nothing recovered.
    const replays = await w.intake.acceptAll(s, Array(255).fill(first));
    assert.deepEqual([replays.accepted.length, (replays.error as Error).name, asked], [0, "TicketNonceError", []]);
    // A forgery first: its own recovery only, not the fifteen behind it.
    const next = await ticketFor(s, w.offer, 2n, 2n * MiB);
    const forged = { ...next, signature: await signTicket({ ticket: next.ticket, domain, privateKey: devAccount(11).privateKey }) };
    const refused = await w.intake.acceptAll(s, [forged, ...Array(15).fill(next)]);
    assert.deepEqual([refused.accepted.length, (refused.error as Error).name, asked], [0, "SignerMismatchError", [2n]]);
    // Twenty good ones: the first alone, then 16 and 3 together; every one recovered once.
    asked.length = 0;
    const good = [];
    for (let i = 0n; i < 20n; i++) good.push(await ticketFor(s, w.offer, 2n + i, (2n + i) * MiB));
    const ok = await w.intake.acceptAll(s, good);
    assert.deepEqual([ok.accepted.length, ok.error], [20, undefined]);
    assert.deepEqual(asked, good.map((g) => g.ticket.senderNonce));
  });

  test("a pool that answers nothing (threads gone) leaves every decision to the inline check", async () => {
    const w = setup(dir, {}, 100n * TOKEN, false, { recover: async () => undefined });
    stores.push(w.store);
    await w.funds.get(consumer.address);
    const s = w.sessions.open(consumer.address);
    s.servedBytes = 4n * MiB;
    assert.equal((await w.intake.accept(s, await ticketFor(s, w.offer, 1n, MiB))).paidBytes, MiB);
    // A signature of another ticket (other cumulativeBytes): recovers to someone else.
    const t = await ticketFor(s, w.offer, 2n, 2n * MiB);
    const other = await ticketFor(s, w.offer, 2n, 3n * MiB);
    await assert.rejects(w.intake.accept(s, { ...t, signature: other.signature }), { name: "SignerMismatchError" });
    assert.equal(w.store.ticketsOfSession(s.id).length, 1);
  });
});

/** The same signature with s replaced by n - s (high s): the broker and the node refuse it. */
function flipS(sig: `0x${string}`): `0x${string}` {
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  return `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${sig.slice(130)}` as `0x${string}`;
}
