import { test } from "node:test";
import assert from "node:assert/strict";
import type { Address, Hex } from "viem";
import type { Ticket } from "../protocol/ticket.ts";
import type { TicketPayment } from "../protocol/wire.ts";
import { ProviderClaimError, TicketRedrawError } from "./errors.ts";
import { allowedRedraws, createTicketPayer, type PayerSessionState, type TicketPayerParameters } from "./ticketPayer.ts";

// A fake node that keeps the protocol's rules that matter to the payer: nonces strictly increase,
// cumulativeBytes only grows, the ticket's recipientRandHash must be the session's current one.

const MiB = 1n << 20n;
const randA: Hex = `0x${"aa".repeat(32)}`;
const randB: Hex = `0x${"bb".repeat(32)}`;

function fakeNode() {
  const node = {
    lastNonce: 0n, paidBytes: 0n, randHash: randA, accepted: [] as Ticket[], posts: [] as number[], down: false, loseNextAnswer: false,
    /** Every signature a POST carried (a hostile node keeps them all). */
    seen: [] as Hex[],
    /** Answer every POST with an error without taking anything (a garbage answer). */
    garbage: false,
    /** A fresh rand before every POST (a hostile node). */
    rotateAlways: false,
    /** Added to paidBytes in every state reported. */
    inflatePaid: 0n,
  };
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const state = (): PayerSessionState => ({ paidBytes: node.paidBytes + node.inflatePaid, nextNonce: node.lastNonce + 1n, recipientRandHash: node.randHash });
  return {
    node,
    /** Holds the next POSTs until `open()` (a slow fsync). */
    hold() {
      gate = new Promise((r) => (release = r));
    },
    open() {
      release?.();
      gate = undefined;
    },
    async post(payments: TicketPayment[]): Promise<PayerSessionState> {
      node.posts.push(payments.length);
      node.seen.push(...payments.map((x) => x.signature));
      if (gate) await gate;
      if (node.down) throw Object.assign(new Error("ECONNREFUSED"), { name: "ProviderRequestError" });
      if (node.garbage) throw new SyntaxError("Unexpected token '<'");
      // The first byte names the rand (the fake signature shows it).
      if (node.rotateAlways) node.randHash = `0x${(node.seen.length % 256).toString(16).padStart(2, "0")}${"cc".repeat(31)}`;
      for (const { ticket: t } of payments) {
        if (t.senderNonce <= node.lastNonce) throw new Error("TicketNonceError");
        if (t.cumulativeBytes <= node.paidBytes) throw new Error("TicketAcknowledgesNothingError");
        if (t.recipientRandHash !== node.randHash) throw new Error("StaleRecipientRandError");
        node.lastNonce = t.senderNonce;
        node.paidBytes = t.cumulativeBytes;
        node.accepted.push(t);
      }
      if (node.loseNextAnswer) {
        node.loseNextAnswer = false;
        throw new Error("socket hang up");
      }
      return state();
    },
    async read(): Promise<PayerSessionState> {
      if (node.down) throw new Error("ECONNREFUSED");
      return state();
    },
  };
}

function payerOver(f: ReturnType<typeof fakeNode>, extra: Partial<TicketPayerParameters> = {}) {
  let changes: (() => void)[] = [];
  const payer = createTicketPayer({
    terms: {
      recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address, sender: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" as Address,
      faceValue: 100n, winProb: 1n, sessionId: `0x${"11".repeat(32)}`, bytesPerTicket: MiB, ticketExpirySeconds: 86_400,
    },
    start: { paidBytes: 0n, nextNonce: 1n, recipientRandHash: randA },
    // The "signature" names what was signed, so a test can tell a re-signed ticket from the first.
    sign: async (t) => `0x${t.senderNonce.toString(16).padStart(2, "0")}${t.recipientRandHash.slice(2, 4)}` as Hex,
    post: (payments) => f.post(payments),
    read: () => f.read(),
    isFatal: () => false,
    onChange: () => {
      const c = changes;
      changes = [];
      for (const x of c) x();
    },
    now: () => 1_700_000_000_000,
    retryDelayMs: 1,
    ...extra,
  });
  const wait = () => new Promise<void>((r) => changes.push(r));
  return { payer, wait };
}

test("verified chunks become full tickets at once; tickets queued during a POST go out together in the next", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f);
  f.hold();
  payer.acknowledge(MiB); // first POST, held
  await new Promise((r) => setImmediate(r));
  payer.acknowledge(MiB + MiB / 2n); // half a ticket: nothing to sign yet
  assert.equal(payer.signed, MiB);
  for (let i = 2n; i <= 5n; i++) payer.acknowledge(i * MiB);
  assert.deepEqual(f.node.posts, [1], "one POST in flight at a time");
  f.open();
  await payer.drain(wait);
  assert.deepEqual(f.node.posts, [1, 4], "everything queued meanwhile shares the next POST");
  assert.deepEqual(f.node.accepted.map((t) => [t.senderNonce, t.cumulativeBytes]), [1n, 2n, 3n, 4n, 5n].map((n) => [n, n * MiB]));
  assert.equal(payer.confirmed, 5n * MiB);
  assert.equal(payer.accepted, 5);
  // The tail is signed only when asked for, and overpays by at most one ticket.
  payer.acknowledgeAll(5n * MiB + 100n);
  await payer.drain(wait);
  assert.equal(f.node.accepted.at(-1)?.cumulativeBytes, 5n * MiB + 100n);
});

test("a rotated recipientRand: the refused tickets are re-signed with the new hash and the same nonces", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f);
  payer.acknowledge(MiB);
  await payer.drain(wait);
  f.node.randHash = randB; // a winner of the session was submitted
  payer.acknowledge(2n * MiB);
  payer.acknowledge(3n * MiB);
  await payer.drain(wait);
  assert.deepEqual(f.node.accepted.map((t) => [t.senderNonce, t.recipientRandHash]), [[1n, randA], [2n, randB], [3n, randB]]);
  assert.equal(payer.confirmed, 3n * MiB);
});

test("a lost answer is not paid twice: the payer asks the node and drops what it already holds", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f);
  f.node.loseNextAnswer = true;
  payer.acknowledge(MiB);
  payer.acknowledge(2n * MiB);
  await payer.drain(wait);
  payer.acknowledge(3n * MiB);
  await payer.drain(wait);
  assert.deepEqual(f.node.accepted.map((t) => t.cumulativeBytes), [MiB, 2n * MiB, 3n * MiB]);
  assert.equal(payer.accepted, 3);
  assert.equal(payer.confirmed, 3n * MiB);
});

test("a dead node: the payer gives up after its attempts, keeps what was accepted and signs nothing more", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f, { maxAttempts: 3 });
  payer.acknowledge(MiB);
  await payer.drain(wait);
  f.node.down = true;
  payer.acknowledge(2n * MiB);
  await assert.rejects(payer.drain(wait), /ECONNREFUSED/);
  assert.equal(f.node.posts.length, 1 + 3);
  assert.ok(payer.failure instanceof Error);
  assert.equal(payer.confirmed, MiB);
  payer.acknowledge(3n * MiB);
  assert.equal(payer.busy, false, "a failed payer queues nothing");
});

test("a fatal refusal stops at once", async () => {
  const f = fakeNode();
  f.node.down = true;
  const { payer, wait } = payerOver(f, { isFatal: () => true });
  payer.acknowledge(MiB);
  await assert.rejects(payer.drain(wait));
  assert.deepEqual(f.node.posts, [1]);
});

test("a POST whose answer is garbage: the same signatures are sent again, never new ones for the same bytes", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f, { maxAttempts: 4 });
  f.node.garbage = true;
  payer.acknowledge(MiB);
  payer.acknowledge(2n * MiB);
  await assert.rejects(payer.drain(wait), SyntaxError);
  assert.equal(f.node.posts.length, 4);
  assert.equal(new Set(f.node.seen).size, 2, "two tickets, each signed once, sent four times");
});

test("a node that rotates its rand on every POST gets a bounded number of new signatures, then nothing", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f, { maxAttempts: 4 });
  f.node.rotateAlways = true;
  payer.acknowledge(2n * MiB); // two tickets in one POST
  await assert.rejects(payer.drain(wait), (e: unknown) => e instanceof TicketRedrawError && e.redraws === allowedRedraws(0, 1n) + 1);
  // The first signatures and one set per allowed redraw round: 2 tickets x (1 + 2).
  assert.equal(new Set(f.node.seen).size, 2 * (1 + allowedRedraws(0, 1n)));
  assert.equal(f.node.accepted.length, 0);
});

test("redraws allowed grow with the winners expected among accepted tickets", () => {
  assert.equal(allowedRedraws(0, 2n ** 250n), 2);
  assert.equal(allowedRedraws(1000, 2n ** 256n / 100n), 2 + 30); // 10 expected winners
  assert.equal(allowedRedraws(10, 2n ** 256n - 1n), 2 + 30); // every ticket wins
});

test("a node claiming paidBytes beyond what our tickets cover is not paid further", async () => {
  const f = fakeNode();
  const { payer, wait } = payerOver(f);
  payer.acknowledge(MiB);
  await payer.drain(wait);
  f.node.inflatePaid = 10n * MiB;
  payer.acknowledge(2n * MiB);
  await assert.rejects(payer.drain(wait), (e: unknown) => e instanceof ProviderClaimError && e.field === "paidBytes" && e.claimed === 12n * MiB && e.actual === 2n * MiB);
  payer.acknowledge(3n * MiB);
  assert.equal(payer.busy, false, "nothing more is signed");
  assert.equal(payer.confirmed, MiB + MiB, "the accepted ticket counts, the claim does not");
});

test("transient refusals (a full disk, the chain away) are retried until the node takes the tickets, however many; stalled meanwhile", async () => {
  const f = fakeNode();
  let refusals = 12;
  const transient = Object.assign(new Error("StorageFullError"), { transient: true });
  const { payer, wait } = payerOver(
    { ...f, post: async (payments) => (refusals-- > 0 ? Promise.reject(transient) : f.post(payments)) },
    { isTransient: (e) => (e as { transient?: boolean }).transient === true, maxAttempts: 2 },
  );
  const stalls: boolean[] = [];
  payer.acknowledge(2n * MiB);
  while (refusals > 6) {
    await new Promise((r) => setTimeout(r, 5));
    stalls.push(payer.stalled);
  }
  assert.ok(stalls.includes(true), "stalled while the node refuses");
  await payer.drain(wait);
  assert.equal(payer.failure, undefined, "12 transient refusals did not count towards maxAttempts (2)");
  assert.equal(payer.confirmed, 2n * MiB);
  assert.equal(payer.stalled, false);
});

test("transient refusals for longer than transientGiveUpMs: the payer gives up with the node's error", async () => {
  const f = fakeNode();
  let clock = 1_700_000_000_000;
  const transient = Object.assign(new Error("ChainUnavailableError"), { transient: true });
  const { payer, wait } = payerOver(
    { ...f, post: async () => {
      clock += 10_000;
      throw transient;
    } },
    { isTransient: (e) => (e as { transient?: boolean }).transient === true, transientGiveUpMs: 60_000, now: () => clock },
  );
  payer.acknowledge(MiB);
  await assert.rejects(payer.drain(wait), (e) => e === transient);
  assert.equal(payer.stalled, false);
});
