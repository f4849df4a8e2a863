import { test } from "node:test";
import assert from "node:assert/strict";
import type { AcceptTicketInput } from "./ticketStore.ts";
import { createTicketCommitter } from "./ticketCommitter.ts";

// The writer alone, over a recording store: what goes into which transaction, and when.

const input = (i: number) => ({ hash: `0x${i.toString(16).padStart(64, "0")}` }) as unknown as AcceptTicketInput;

test("tickets queued in one turn share one transaction; a full queue commits at once in maxBatch slices", async () => {
  const transactions: string[][] = [];
  const c = createTicketCommitter({ store: { writeTickets: (b) => void transactions.push(b.map((x) => x.hash.slice(-1))) }, maxBatch: 2 });
  const first = [c.commit(input(1))];
  assert.equal(c.queued, 1);
  first.push(c.commit(input(2))); // reaches maxBatch: committed synchronously
  assert.deepEqual(transactions, [["1", "2"]]);
  const rest = [c.commit(input(3))];
  assert.equal(transactions.length, 1, "a lone ticket waits for the end of the turn");
  await Promise.all([...first, ...rest]);
  assert.deepEqual(transactions, [["1", "2"], ["3"]]);
});

test("a resolved commit means its transaction ran; a failure rejects its whole batch, the next batch is tried afresh", async () => {
  let fail = true;
  const calls: number[] = [];
  const c = createTicketCommitter({
    store: {
      writeTickets(b) {
        calls.push(b.length);
        if (fail) throw new Error("SQLITE_FULL");
      },
    },
    maxBatch: 10,
  });
  const ps = [1, 2, 3, 4].map((i) => c.commit(input(i)));
  const settled = await Promise.allSettled(ps);
  assert.deepEqual(settled.map((s) => s.status), ["rejected", "rejected", "rejected", "rejected"]);
  assert.deepEqual(calls, [4], "one transaction for the four, none retried one by one");
  fail = false;
  await c.commit(input(5));
  assert.deepEqual(calls, [4, 1]);
});

test("close commits what is queued and refuses later tickets", async () => {
  const committed: number[] = [];
  const c = createTicketCommitter({ store: { writeTickets: (b) => void committed.push(b.length) } });
  const p = c.commit(input(1));
  c.close();
  assert.deepEqual(committed, [1]);
  await p;
  await assert.rejects(c.commit(input(2)), /closed/);
});

test("asynchronous writes (the store's writer thread): one batch at a time, what queued meanwhile goes next, close waits", async () => {
  const writes: { hashes: string[]; finish: (error?: Error) => void }[] = [];
  const c = createTicketCommitter({
    store: {
      writeTickets: (b) =>
        new Promise<void>((resolve, reject) => writes.push({ hashes: b.map((x) => x.hash.slice(-1)), finish: (e) => (e ? reject(e) : resolve()) })),
    },
  });
  const p1 = c.commit(input(1));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes.map((w) => w.hashes), [["1"]]);
  const p2 = c.commit(input(2));
  const p3 = c.commit(input(3));
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1, "no second batch while the first is being written");
  let firstDone = false;
  void p1.then(() => (firstDone = true));
  writes[0]!.finish();
  await p1;
  assert.ok(firstDone);
  assert.deepEqual(writes.map((w) => w.hashes), [["1"], ["2", "3"]], "the tickets queued meanwhile form the next batch");
  // The second batch fails: it and everything queued behind it are refused.
  const p4 = c.commit(input(4));
  writes[1]!.finish(new Error("SQLITE_IOERR"));
  const settled = await Promise.allSettled([p2, p3, p4]);
  assert.deepEqual(settled.map((s) => s.status), ["rejected", "rejected", "rejected"]);
  // close() resolves only after the batch in flight is durable.
  const p5 = c.commit(input(5));
  await new Promise((r) => setImmediate(r));
  let closed = false;
  const closing = c.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false);
  writes[2]!.finish();
  await Promise.all([p5, closing]);
  assert.ok(closed);
  await assert.rejects(c.commit(input(6)), /closed/);
});
