import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { InvalidSessionTokenError, UnknownSessionError } from "./errors.ts";
import { createSessionBook, SESSION_IDLE_MS } from "./sessionBook.ts";
import { openTicketStore } from "./ticketStore.ts";

const alice: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const bob: Address = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const MiB = 1n << 20n;

test("sessions idle for 7 days are forgotten in memory and on disk; active or busy ones stay", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-sessions-"));
  try {
    let now = 1_000_000;
    const clock = { now: () => now };
    const store = openTicketStore({ path: join(dir, "node.db") });
    const book = createSessionBook({ store, clock, creditWindowBytes: 4n * MiB });
    const idle = book.openWithToken(alice);
    const busy = book.openWithToken(alice);
    const recent = book.openWithToken(bob);
    // Alice's idle session owes 3 MiB; her busy one has a response in flight.
    idle.session.servedBytes = 3n * MiB;
    idle.session.dirty = true;
    busy.session.inFlightBytes = MiB;
    assert.equal(book.unpaidBytesOf(alice), 4n * MiB);

    now += SESSION_IDLE_MS; // exactly the idle period: not yet
    assert.equal(book.forgetIdle(), 0);
    recent.session.lastActive = now;
    now += 1;
    assert.equal(book.forgetIdle(), 1, "only the idle session without bytes in flight goes");

    assert.throws(() => book.authorize(idle.session.id, idle.token), UnknownSessionError);
    assert.equal(book.byToken(idle.token), undefined, "its token names nothing any more (401 on content)");
    assert.equal(book.get(idle.session.id), undefined);
    assert.equal(store.getSession(idle.session.id), undefined, "deleted from disk");
    assert.equal(book.unpaidBytesOf(alice), MiB, "its unpaid bytes no longer hold alice's window");
    assert.equal(book.authorize(busy.session.id, busy.token).id, busy.session.id);
    assert.equal(book.authorize(recent.session.id, recent.token).id, recent.session.id);

    // After a restart the forgotten session stays forgotten; the others come back.
    book.flush();
    store.close();
    const store2 = openTicketStore({ path: join(dir, "node.db") });
    const book2 = createSessionBook({ store: store2, clock, creditWindowBytes: 4n * MiB });
    assert.equal(book2.get(idle.session.id), undefined);
    assert.ok(book2.get(busy.session.id) !== undefined && book2.get(recent.session.id) !== undefined);
    assert.throws(() => book2.authorize(busy.session.id, recent.token), InvalidSessionTokenError);
    store2.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("at the per-sender cap a new session replaces the least recently used settled one; if every one owes bytes, TooManySessionsError", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-sessions-cap-"));
  try {
    let now = 1_000_000;
    const clock = { now: () => now++ };
    const store = openTicketStore({ path: join(dir, "node.db") });
    const book = createSessionBook({ store, clock, creditWindowBytes: 4n * MiB, maxPerSender: 3 });
    const [a, b, c] = [book.openWithToken(alice), book.openWithToken(alice), book.openWithToken(alice)];
    book.openWithToken(bob); // other senders do not count
    a.session.lastActive = now++; // a was used last; b is now the least recently used
    const d = book.openWithToken(alice);
    assert.equal(book.get(b.session.id), undefined, "b was let go");
    assert.equal(store.getSession(b.session.id), undefined, "in the same transaction, on disk");
    assert.equal(book.byToken(b.token), undefined);
    assert.deepEqual([a, c, d].map((x) => book.get(x.session.id)?.id), [a, c, d].map((x) => x.session.id));
    // A session that owes bytes, or has a response in flight, is never let go (it would free window).
    c.session.servedBytes = 1n;
    d.session.inFlightBytes = 1n;
    a.session.lastActive = 0;
    const e = book.openWithToken(alice);
    assert.equal(book.get(a.session.id), undefined, "a, the only settled one, made room");
    e.session.servedBytes = 5n;
    e.session.paidBytes = 4n;
    assert.throws(() => book.assertRoom(alice), (err: Error) => err.name === "TooManySessionsError");
    assert.throws(() => book.openWithToken(alice), (err: Error) => err.name === "TooManySessionsError");
    assert.equal(book.unpaidBytesOf(alice), 1n + 1n + 1n, "nothing owed was forgotten");
    book.assertRoom(bob);
    // Bytes a restart forgave (creditBaseBytes) are not owed: such a session may be let go.
    c.session.creditBaseBytes = c.session.servedBytes;
    const f = book.openWithToken(alice);
    assert.equal(book.get(c.session.id), undefined, "c, forgiven at a restart, made room");
    assert.ok(book.get(f.session.id));
    store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("after a restart a session's unpaid bytes from before no longer hold its sender's window; new ones do", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-sessions-"));
  try {
    const clock = { now: () => 1_000_000 };
    const store = openTicketStore({ path: join(dir, "node.db") });
    const book = createSessionBook({ store, clock, creditWindowBytes: 4n * MiB });
    const { session } = book.openWithToken(alice);
    // Served 3 MiB (the last 2 MiB perhaps cut by a crash before the consumer got them), paid 1 MiB.
    session.servedBytes = 3n * MiB;
    session.paidBytes = MiB;
    session.dirty = true;
    assert.equal(book.unpaidBytesOf(alice), 2n * MiB);
    book.flush();
    store.close();

    const store2 = openTicketStore({ path: join(dir, "node.db") });
    const book2 = createSessionBook({ store: store2, clock, creditWindowBytes: 4n * MiB });
    const loaded = book2.get(session.id)!;
    // Before: 2 MiB stayed unpaid here for good, and the sender's new sessions got 402 once they reached it.
    assert.equal(book2.unpaidBytesOf(alice), 0n, "what was unpaid at the restart is not held against alice");
    loaded.servedBytes += MiB;
    assert.equal(book2.unpaidBytesOf(alice), MiB, "bytes served after the restart count as usual");
    loaded.paidBytes = 4n * MiB; // a ticket paid everything, the old bytes too
    assert.equal(book2.unpaidBytesOf(alice), 0n);
    loaded.servedBytes += 2n * MiB;
    assert.equal(book2.unpaidBytesOf(alice), 2n * MiB);
    store2.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("with the writer thread a session is durable before its token is used; one that fails to be written is dropped and the one it replaced comes back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-sessions-"));
  try {
    const clock = { now: () => 1_000_000 };
    const store = openTicketStore({ path: join(dir, "node.db"), ticketWriter: "thread" });
    const book = createSessionBook({ store, clock, creditWindowBytes: 4n * MiB, maxPerSender: 1 });
    const digest = `0x${"ab".repeat(32)}` as const;
    const first = book.openWithToken(alice, { digest, expiresAt: 2_000_000 });
    assert.ok(first.durable instanceof Promise);
    assert.equal(store.hasSessionRequest(digest), true, "a replay is refused while the write is queued");
    assert.equal(book.get(first.session.id), first.session, "the session counts at once (against alice's cap too)");
    await first.durable;
    assert.equal(store.getSession(first.session.id)?.sender, alice);
    assert.equal(store.hasSessionRequest(digest), true);
    // At the cap of 1 the next session replaces the first; here its write fails (the thread is gone).
    store.close();
    const second = book.openWithToken(alice, { digest: `0x${"cd".repeat(32)}`, expiresAt: 2_000_000 });
    assert.equal(book.get(first.session.id), undefined, "replaced");
    await assert.rejects(second.durable!);
    assert.equal(book.get(second.session.id), undefined, "the unwritten session is gone");
    assert.equal(book.get(first.session.id), first.session, "the replaced one is back (its row was never deleted)");
    const reopened = openTicketStore({ path: join(dir, "node.db") });
    assert.equal(reopened.hasSessionRequest(`0x${"cd".repeat(32)}`), false, "the failed request may be sent again");
    assert.equal(reopened.getSession(first.session.id)?.sender, alice);
    assert.equal(reopened.getSession(second.session.id), undefined);
    reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
