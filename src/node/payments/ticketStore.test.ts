import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { Ticket } from "../../protocol/ticket.ts";
import { openTicketStore, type AcceptTicketInput, type TicketStore } from "./ticketStore.ts";

// The nonce watermark is served from memory (content requests read it for their headers), and the
// counts /status shows from a summary table; these tests pin that neither disagrees with the disk.

const sender: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const sessionId: Hex = `0x${"11".repeat(32)}`;

function input(nonce: bigint, hash: Hex): AcceptTicketInput {
  const ticket: Ticket = {
    recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", sender, faceValue: 10n, winProb: 1n, senderNonce: nonce,
    recipientRandHash: `0x${"22".repeat(32)}`, expiry: 2_000_000_000n, sessionId, cumulativeBytes: nonce * 1024n,
  };
  return { hash, sessionId, ticket, signature: `0x${"33".repeat(65)}`, recipientRand: 5n, winning: false, servedBytes: nonce * 1024n, now: 1 };
}

describe("ticketStore nonce watermark and counts", () => {
  let dir: string;
  const stores: TicketStore[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-store-"));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const open = (ticketWriter: "inline" | "thread" = "inline") => {
    const s = openTicketStore({ path: join(dir, "node.db"), ticketWriter });
    stores.push(s);
    return s;
  };

  test("follows accepted tickets and raiseNonce, and is reloaded from disk at open", () => {
    const store = open();
    store.createSession({ id: sessionId, sender, rand: 5n, randHash: `0x${"22".repeat(32)}`, tokenHash: `0x${"44".repeat(32)}`, now: 1 });
    assert.equal(store.lastNonce(sender), 0n);
    store.acceptTickets([input(3n, `0x${"a1".repeat(32)}`), input(4n, `0x${"a2".repeat(32)}`)]);
    assert.equal(store.lastNonce(sender), 4n);
    store.raiseNonce(sender, 2n); // never lowers
    assert.equal(store.lastNonce(sender), 4n);
    store.raiseNonce(sender, 9n);
    assert.equal(store.lastNonce(sender), 9n);
    assert.equal(open().lastNonce(sender), 9n);
  });

  test("a failed batch leaves the watermark where the disk has it", () => {
    const store = open();
    store.createSession({ id: sessionId, sender, rand: 5n, randHash: `0x${"22".repeat(32)}`, tokenHash: `0x${"44".repeat(32)}`, now: 1 });
    store.acceptTickets([input(1n, `0x${"b1".repeat(32)}`)]);
    // The second ticket reuses the first one's hash (primary key): the whole transaction rolls back.
    assert.throws(() => store.acceptTickets([input(2n, `0x${"b2".repeat(32)}`), input(3n, `0x${"b1".repeat(32)}`)]));
    assert.equal(store.lastNonce(sender), 1n);
    assert.equal(open().lastNonce(sender), 1n);
  });

  test("on the writer thread: a batch is readable from the store's own connection once durable, and survives reopening", async () => {
    const store = open("thread");
    store.createSession({ id: sessionId, sender, rand: 5n, randHash: `0x${"22".repeat(32)}`, tokenHash: `0x${"44".repeat(32)}`, now: 1 });
    const pending = store.writeTickets([input(1n, `0x${"c1".repeat(32)}`), input(2n, `0x${"c2".repeat(32)}`)]);
    assert.ok(pending instanceof Promise, "a thread write is asynchronous");
    assert.equal(store.lastNonce(sender), 0n, "the watermark moves only once the batch is durable");
    await pending;
    assert.equal(store.lastNonce(sender), 2n);
    assert.equal(store.getTicket(`0x${"c2".repeat(32)}`)?.ticket.senderNonce, 2n);
    assert.equal(store.getSession(sessionId)?.paidBytes, 2048n);
    // A counter flush from this connection never touches paid (the thread owns it).
    store.flushCounters([{ id: sessionId, servedBytes: 4096n, lastActive: 2 }]);
    assert.deepEqual([store.getSession(sessionId)?.servedBytes, store.getSession(sessionId)?.paidBytes], [4096n, 2048n]);
    // The second ticket reuses a stored hash: the thread's transaction rolls back, the promise rejects.
    await assert.rejects(async () => store.writeTickets([input(3n, `0x${"c3".repeat(32)}`), input(4n, `0x${"c1".repeat(32)}`)]), /ticket commit failed: .*UNIQUE/);
    assert.equal(store.lastNonce(sender), 2n);
    assert.equal(store.getTicket(`0x${"c3".repeat(32)}`), undefined);
    store.close();
    const again = open();
    assert.equal(again.lastNonce(sender), 2n);
    assert.equal(again.ticketsOfSession(sessionId).length, 2);
  });

  test("stats() polled between writes stays exact: tickets inline and on the writer thread, state changes, redemptions", async () => {
    const h = (i: number): Hex => `0x${i.toString(16).padStart(64, "0")}`;
    const winner = (nonce: bigint, hash: Hex) => ({ ...input(nonce, hash), winning: true });
    const store = open();
    store.createSession({ id: sessionId, sender, rand: 5n, randHash: `0x${"22".repeat(32)}`, tokenHash: `0x${"44".repeat(32)}`, now: 1 });
    assert.equal(store.stats().tickets, 0);
    store.acceptTickets([winner(1n, h(1)), input(2n, h(2))]);
    assert.deepEqual([store.stats().tickets, store.stats().winners, store.stats().byState.pending], [2, 1, 1]);
    store.markSubmitted([h(1)], h(99), 2);
    assert.equal(store.stats().byState.submitted, 1);
    store.setTicketStates([{ hash: h(1), state: "confirmed" }], 3);
    assert.equal(store.stats().byState.confirmed, 1);
    store.finishRedemption(h(99), "confirmed", { paid: 7n, burned: 1n, treasury: 2n, gasUsed: 5n, gasCost: 9n }, 4);
    const st = store.stats();
    assert.deepEqual([st.redeemed.transactions, st.redeemed.paid, st.redeemed.gasCost], [1, 7n, 9n]);
    st.byState.losing = 99; // a caller's copy: the next poll is not affected
    st.redeemed.paid = 0n;
    assert.deepEqual([store.stats().byState.losing, store.stats().redeemed.paid], [1, 7n]);
    store.close();
    const threaded = open("thread");
    assert.equal(threaded.stats().tickets, 2);
    await threaded.writeTickets([input(3n, h(3))]);
    assert.deepEqual([threaded.stats().tickets, threaded.stats().byState.losing], [3, 2]);
  });

  test("stats() reads the counts triggers keep: inserts inline and on the writer thread, state changes, and a database from before them", async () => {
    const h = (i: number): Hex => `0x${i.toString(16).padStart(64, "0")}`;
    const winner = (nonce: bigint, hash: Hex) => ({ ...input(nonce, hash), winning: true });
    const counted = (st: ReturnType<TicketStore["stats"]>) => [st.tickets, st.winners, st.byState];
    const store = open();
    store.createSession({ id: sessionId, sender, rand: 5n, randHash: `0x${"22".repeat(32)}`, tokenHash: `0x${"44".repeat(32)}`, now: 1 });
    store.acceptTickets([input(1n, h(1)), input(2n, h(2)), winner(3n, h(3)), winner(4n, h(4)), input(5n, h(5))]);
    store.markSubmitted([h(3), h(4)], h(99), 2);
    store.setTicketStates([{ hash: h(3), state: "confirmed" }, { hash: h(4), state: "failed", error: "reverted" }], 3);
    const expected = [5, 2, { losing: 3, pending: 0, submitted: 0, confirmed: 1, failed: 1 }];
    assert.deepEqual(counted(store.stats()), expected);
    store.close();
    // The writer thread's connection fires the same triggers.
    const threaded = open("thread");
    await threaded.writeTickets([winner(6n, h(6)), input(7n, h(7))]);
    const after = [7, 3, { losing: 4, pending: 1, submitted: 0, confirmed: 1, failed: 1 }];
    assert.deepEqual(counted(threaded.stats()), after);
    threaded.close();
    // A database from before the counts table: filled from its tickets once, at open.
    const raw = new DatabaseSync(join(dir, "node.db"));
    raw.exec("PRAGMA busy_timeout = 5000; DROP TRIGGER ticket_counts_insert; DROP TRIGGER ticket_counts_delete; DROP TRIGGER ticket_counts_update; DROP TABLE ticket_counts;");
    raw.close();
    const reopened = open();
    assert.deepEqual(counted(reopened.stats()), after);
    reopened.acceptTickets([input(8n, h(8))]);
    assert.equal(reopened.stats().byState.losing, 5);
  });
});
