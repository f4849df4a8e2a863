import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { devAccount } from "../../chain/devAccounts.ts";
import { domainSeparatorBytes } from "../../protocol/hashTicket.ts";
import { signTicket } from "../../protocol/signTicket.ts";
import { ticketDomain, type Ticket } from "../../protocol/ticket.ts";
import { encodeTicketHeader, SESSION_HEADER, TICKET_HEADER } from "../../protocol/wire.ts";
import { buildOffer } from "./buildOffer.ts";
import { createFundsCache } from "./fundsCache.ts";
import { createPaymentGate } from "./paymentGate.ts";
import { createRefusalBudget } from "./refusalBudget.ts";
import { createSessionBook, type SessionState } from "./sessionBook.ts";
import { createTicketCommitter } from "./ticketCommitter.ts";
import { createTicketIntake } from "./ticketIntake.ts";
import { openTicketStore, type TicketStore } from "./ticketStore.ts";

// A request's header tickets hold it only while the credit window needs them: when the sender's
// durable credit already covers the request, it is admitted while they commit, and paidBytes moves
// only once they are durable. The commits here wait for the test to release them.

const MiB = 1n << 20n;
const TOKEN = 10n ** 18n;
const provider = devAccount(2);
const consumer = devAccount(10);
const broker: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = ticketDomain(31337, broker);

function setup(dir: string) {
  const offer = buildOffer({
    recipient: provider.address, chainId: 31337, broker, pricePerGiB: TOKEN, bytesPerTicket: MiB, faceValue: TOKEN / 10n,
    creditWindowBytes: 4n * MiB, ticketExpirySeconds: 86_400, services: ["cdn"],
  });
  const clock = { now: () => Date.now() };
  const store = openTicketStore({ path: join(dir, "node.db") });
  const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
  const funds = createFundsCache({ read: async () => ({ deposit: 100n * TOKEN, reserve: 0n, withdrawTime: 0n }), clock, ttlMs: 60_000 });
  // Each batch is written when the test releases it (or fails, if told to).
  const held: { release: () => void; fail: (e: Error) => void }[] = [];
  const committer = createTicketCommitter({
    store: {
      writeTickets: (batch) =>
        new Promise<void>((resolve, reject) => {
          held.push({ release: () => resolve(store.acceptTickets(batch)), fail: reject });
        }),
    },
  });
  const intake = createTicketIntake({ store, funds, offer, domainSeparator: domainSeparatorBytes(domain), clock, outstanding: new Map(), committer, onPaid: (s) => sessions.creditFreed(s.sender) });
  const refusals: unknown[] = [];
  const refusalBudget = createRefusalBudget({ clock });
  const gate = createPaymentGate({ sessions, intake, offer, clock, onRefusal: (e) => refusals.push(e), refusalBudget });
  const { session, token } = sessions.openWithToken(consumer.address);
  return { offer, store, sessions, intake, gate, session, token, held, refusals };
}

async function header(s: SessionState, offer: { faceValue: bigint; winProb: bigint }, tickets: [nonce: bigint, cumulativeBytes: bigint][]): Promise<string> {
  const payments = [];
  for (const [senderNonce, cumulativeBytes] of tickets) {
    const ticket: Ticket = {
      recipient: provider.address, sender: s.sender, faceValue: offer.faceValue, winProb: offer.winProb, senderNonce,
      recipientRandHash: s.randHash, expiry: BigInt(Math.floor(Date.now() / 1000)) + 86_400n, sessionId: s.id, cumulativeBytes,
    };
    payments.push({ ticket, signature: await signTicket({ ticket, domain, privateKey: consumer.privateKey }) });
  }
  return encodeTicketHeader(payments);
}

/** A request as the gate reads it: its headers and a connection. */
const request = (headers: Record<string, string>, socket: object = {}) => ({ headers, socket }) as unknown as IncomingMessage;

/** The body a request asks for: bytes [start, end) of a file. */
const range = (start: bigint, end: bigint) => ({ contentId: "c", path: "f", start, end });

/** Resolves with "pending" if `p` has not settled after a few turns of the event loop. */
async function settledOrPending<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), 50))]);
}

describe("payment gate: header tickets and the credit window", () => {
  let dir: string;
  let stores: TicketStore[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-gate-"));
    stores = [];
  });
  afterEach(async () => {
    for (const s of stores) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a request the durable credit covers is admitted while its tickets commit; paidBytes moves only when they are durable", async () => {
    const w = setup(dir);
    stores.push(w.store);
    w.session.servedBytes = 2n * MiB; // 2 MiB served, nothing paid: 2 MiB of credit left
    const h = await header(w.session, w.offer, [[1n, MiB], [2n, 2n * MiB]]);
    const grant = await settledOrPending(w.gate.admit(request({ [SESSION_HEADER]: w.token, [TICKET_HEADER]: h }), range(0n, MiB)));
    assert.notEqual(grant, "pending", "admitted without waiting for the commit");
    if (grant === "pending") return;
    await new Promise((resolve) => setImmediate(resolve)); // the committer writes on the next turn
    assert.equal(w.held.length, 1, "the tickets are being committed");
    assert.equal(w.session.paidBytes, 0n, "not paid before the commit is durable");
    assert.equal(w.store.lastNonce(consumer.address), 0n);
    assert.equal(grant.headers?.["X-Bandmint-Paid-Bytes"], "0");
    assert.equal(grant.headers?.["X-Bandmint-Next-Nonce"], "3", "the queued nonces are taken");
    // The window counts the unpaid bytes (2 served + 1 in flight): a 2 MiB request needs the
    // queued tickets, so it waits for their commit instead of a 402.
    const needing = w.gate.admit(request({ [SESSION_HEADER]: w.token }), range(0n, 2n * MiB));
    assert.equal(await settledOrPending(needing), "pending");
    w.held[0]!.release();
    const second = await needing;
    assert.equal(w.session.paidBytes, 2n * MiB);
    assert.equal(w.store.lastNonce(consumer.address), 2n);
    assert.equal(second.headers?.["X-Bandmint-Credit-Bytes"], String(MiB));
    grant.served(MiB);
    second.served(2n * MiB);
    // With nothing queued, a request over the window is refused at once.
    await assert.rejects(w.gate.admit(request({ [SESSION_HEADER]: w.token }), range(0n, 2n * MiB)), { name: "PaymentRequiredError", status: 402 });
    assert.equal(w.refusals.length, 1, "only the last request was refused");
  });

  test("a request that needs its tickets waits until they are durable", async () => {
    const w = setup(dir);
    stores.push(w.store);
    w.session.servedBytes = 4n * MiB; // the window is used up: this request needs the ticket
    const h = await header(w.session, w.offer, [[1n, MiB]]);
    const admitting = w.gate.admit(request({ [SESSION_HEADER]: w.token, [TICKET_HEADER]: h }), range(0n, MiB));
    assert.equal(await settledOrPending(admitting), "pending", "held while the ticket commits");
    assert.equal(w.session.paidBytes, 0n);
    w.held[0]!.release();
    const grant = await admitting;
    assert.equal(w.session.paidBytes, MiB);
    assert.equal(grant.headers?.["X-Bandmint-Paid-Bytes"], String(MiB));
    assert.equal(grant.headers?.["X-Bandmint-Credit-Bytes"], "0");
    grant.served(MiB);
  });

  test("a request that needs its tickets is refused when their commit fails; one that did not is served, and the failure counts as a refusal", async () => {
    const w = setup(dir);
    stores.push(w.store);
    w.session.servedBytes = 2n * MiB;
    const h = await header(w.session, w.offer, [[1n, MiB]]);
    const grant = await w.gate.admit(request({ [SESSION_HEADER]: w.token, [TICKET_HEADER]: h }), range(0n, MiB));
    await new Promise((resolve) => setImmediate(resolve));
    w.held[0]!.fail(new Error("disk on fire"));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(w.session.paidBytes, 0n, "nothing paid by a failed commit");
    assert.equal(w.refusals.length, 1);
    assert.match(String(w.refusals[0]), /disk on fire/);
    grant.served(MiB);
    // Now 3 MiB are unpaid: a 2 MiB request needs the ticket, whose commit fails too.
    const h2 = await header(w.session, w.offer, [[1n, MiB]]);
    const admitting = w.gate.admit(request({ [SESSION_HEADER]: w.token, [TICKET_HEADER]: h2 }), range(0n, 2n * MiB));
    await settledOrPending(admitting);
    w.held[1]!.fail(new Error("disk still on fire"));
    await assert.rejects(admitting, (e: Error) => /disk still on fire/.test(String(e.cause)));
    assert.equal(w.session.paidBytes, 0n);
    assert.equal(w.session.inFlightBytes, 0n, "nothing admitted");
  });

  test("a ticket that fails its checks refuses the request even when the credit would cover it", async () => {
    const w = setup(dir);
    stores.push(w.store);
    w.session.servedBytes = MiB;
    const h = await header(w.session, w.offer, [[1n, 2n * MiB]]); // acknowledges bytes never served
    await assert.rejects(w.gate.admit(request({ [SESSION_HEADER]: w.token, [TICKET_HEADER]: h }), range(0n, MiB)), { name: "TicketOverAcknowledgesError", status: 409 });
    assert.equal(w.held.length, 0, "nothing queued");
    assert.equal(w.session.inFlightBytes, 0n);
  });
});
