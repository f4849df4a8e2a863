import type { Address, Hex } from "viem";
import { ticketStructHash } from "../protocol/hashTicket.ts";
import type { BrokerClient, RedeemItem } from "./brokerClient.ts";
import type { FundsCache } from "./payments/fundsCache.ts";
import type { Clock, SessionBook } from "./payments/sessionBook.ts";
import type { OutstandingWinners } from "./payments/ticketIntake.ts";
import type { StoredTicket, TicketStore } from "./payments/ticketStore.ts";

/** When and how the redeemer spends gas. */
export type RedeemPolicy = {
  /** Redeem when gas fee <= this share (basis points) of the batch's face value. */
  maxFeeShareBps: number;
  /** Redeem regardless of fee once a ticket is this close to expiry (seconds). */
  deadlineMarginSeconds: number;
  /** Most tickets per transaction. */
  maxBatch: number;
  /** Time between rounds. */
  intervalMs: number;
  /** Cap of the exponential backoff after failed rounds. */
  maxBackoffMs: number;
  /**
   * Token wei one native (gas) wei is worth, times 1e18. Gas is paid in the chain's native coin
   * and face values are in the token, so the fee rule needs an exchange rate; 1e18 means 1:1.
   */
  tokenPerNativeE18: bigint;
};

/** Defaults: 5% fee share (Mysterium settles at <= 5%), one hour before expiry, 32 per batch, every 15 s, backoff to 5 min. */
export const defaultRedeemPolicy: RedeemPolicy = {
  maxFeeShareBps: 500, deadlineMarginSeconds: 3600, maxBatch: 32, intervalMs: 15_000, maxBackoffMs: 300_000, tokenPerNativeE18: 10n ** 18n,
};

/** What one round did (for logs and tests). */
export type RedeemRound = {
  confirmed: number;
  failed: number;
  submitted: Hex[];
  dropped: { hash: Hex; reason: string }[];
  deferred: number;
  /** Set when the round stopped on an error; the next round retries after backoff. */
  error?: string;
};

/** Dependencies of the redeemer. */
export type RedeemerParameters = {
  store: TicketStore;
  broker: BrokerClient;
  sessions: SessionBook;
  funds: FundsCache;
  outstanding: OutstandingWinners;
  clock: Clock;
  policy: RedeemPolicy;
  log?: (line: string) => void;
};

/** The redeemer service. */
export type Redeemer = ReturnType<typeof createRedeemer>;

// Errors that condemn one ticket for good; anything else (funds exhausted) may heal later.
const FATAL_ERRORS = new Set([
  "NotTicketRecipient", "InvalidRecipientRand", "TicketExpired", "InvalidSignatureLength", "InvalidSignature",
  "InvalidSigner", "TicketNotWinning", "TicketNonceUsed",
]);

/**
 * Redeems winning tickets in batches: reconcile submitted transactions, drop expired tickets,
 * simulate (dropping tickets the broker would refuse, with the reason), then submit when the fee
 * is worth it or a deadline is near. States are durable (pending -> submitted(txHash) ->
 * confirmed | failed) and the tx hash is recorded before broadcast, so a restart neither loses a
 * redemption nor sends one twice.
 */
export function createRedeemer(p: RedeemerParameters) {
  const { store, sessions, funds, outstanding, clock, policy } = p;
  const log = p.log ?? (() => {});
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RedeemRound> | undefined;
  let failures = 0;
  let stopped = true;
  /**
   * Set when `stop` stopped waiting for a round (its RPC calls outlived the stop's budget): from
   * then on the round touches nothing. Every store write of a round follows a broker call in the
   * same tick, so checking this after each call (the `broker` below) keeps the round from writing
   * to a store that is being closed; and a transaction not yet recorded is not sent.
   */
  let halted = false;
  const haltedError = () => new Error("the node stopped during this round (its state is reconciled at the next start)");
  const broker: BrokerClient = {
    ...p.broker,
    simulateRedeem: (items) => afterCall(p.broker.simulateRedeem(items)),
    sendRedeem: (items, gas, beforeSend) =>
      afterCall(p.broker.sendRedeem(items, gas, (txHash) => {
        if (halted) throw haltedError();
        beforeSend(txHash);
      })),
    getReceipt: (txHash) => afterCall(p.broker.getReceipt(txHash)),
    isKnownTransaction: (txHash) => afterCall(p.broker.isKnownTransaction(txHash)),
    gasPrice: () => afterCall(p.broker.gasPrice()),
  };
  async function afterCall<T>(call: Promise<T>): Promise<T> {
    const value = await call;
    if (halted) throw haltedError();
    return value;
  }

  const nowSeconds = () => BigInt(Math.floor(clock.now() / 1000));

  function settle(t: StoredTicket): void {
    const n = (outstanding.get(t.ticket.sender) ?? 1) - 1;
    if (n <= 0) outstanding.delete(t.ticket.sender);
    else outstanding.set(t.ticket.sender, n);
    funds.invalidate(t.ticket.sender);
  }

  /** Resolves submitted tickets against the chain: receipts first, unknown transactions go back to pending. */
  async function reconcile(round: RedeemRound): Promise<void> {
    const byTx = new Map<Hex, StoredTicket[]>();
    for (const t of store.winnersInState("submitted")) {
      const list = byTx.get(t.txHash!) ?? [];
      list.push(t);
      byTx.set(t.txHash!, list);
    }
    for (const [txHash, tickets] of byTx) {
      const receipt = await broker.getReceipt(txHash);
      const now = clock.now();
      if (receipt === undefined) {
        if (await broker.isKnownTransaction(txHash)) continue; // still in the mempool: wait
        log(`redeemer: tx ${txHash} never reached the chain; its ${tickets.length} tickets go back to pending`);
        store.setTicketStates(tickets.map((t) => ({ hash: t.hash, state: "pending" })), now);
        continue;
      }
      if (receipt.status === "reverted") {
        // The simulation passed but the chain refused: re-simulate next round, which names the culprit.
        log(`redeemer: tx ${txHash} reverted; re-simulating its tickets`);
        store.setTicketStates(tickets.map((t) => ({ hash: t.hash, state: "pending", error: `tx ${txHash} reverted` })), now);
        store.finishRedemption(txHash, "failed", { paid: 0n, burned: 0n, treasury: 0n, gasUsed: receipt.gasUsed, gasCost: receipt.gasCost }, now);
        continue;
      }
      store.setTicketStates(
        tickets.map((t) => ({ hash: t.hash, state: "confirmed", txHash, paidValue: receipt.paidByTicket.get(ticketStructHash(t.ticket).toLowerCase() as Hex) ?? 0n })),
        now,
      );
      store.finishRedemption(txHash, "confirmed", { ...receipt.totals, gasUsed: receipt.gasUsed, gasCost: receipt.gasCost }, now);
      for (const t of tickets) settle(t);
      round.confirmed += tickets.length;
    }
  }

  function fail(t: StoredTicket, reason: string, round: RedeemRound): void {
    store.setTicketStates([{ hash: t.hash, state: "failed", error: reason }], clock.now());
    settle(t);
    round.failed += 1;
    round.dropped.push({ hash: t.hash, reason });
    log(`redeemer: dropped ticket ${t.hash} (${t.ticket.sender} nonce ${t.ticket.senderNonce}): ${reason}`);
  }

  /** Finds the batch member a revert names (by struct hash, or sender + nonce). */
  function culprit(batch: StoredTicket[], errorName: string, args: readonly unknown[]): StoredTicket | undefined {
    if (errorName === "TicketNonceUsed") {
      const [sender, , nonce] = args as [Address, Address, bigint];
      return batch.find((t) => t.ticket.sender.toLowerCase() === sender.toLowerCase() && t.ticket.senderNonce === nonce);
    }
    const hash = (args.find((a) => typeof a === "string" && /^0x[0-9a-fA-F]{64}$/.test(a)) as Hex | undefined)?.toLowerCase();
    return hash === undefined ? undefined : batch.find((t) => ticketStructHash(t.ticket).toLowerCase() === hash);
  }

  async function round(): Promise<RedeemRound> {
    const r: RedeemRound = { confirmed: 0, failed: 0, submitted: [], dropped: [], deferred: 0 };
    await reconcile(r);
    const now = nowSeconds();
    const candidates: StoredTicket[] = [];
    for (const t of store.winnersInState("pending")) {
      // The broker accepts while block.timestamp <= expiry; leave a minute for inclusion.
      if (t.ticket.expiry <= now + 60n) fail(t, `expired at ${t.ticket.expiry} before it could be redeemed`, r);
      else candidates.push(t);
    }
    // Already sorted by sender then nonce (the broker requires increasing nonces per sender).
    let batch = candidates.slice(0, policy.maxBatch);
    let gas: bigint | undefined;
    while (batch.length > 0) {
      const sim = await broker.simulateRedeem(batch.map(toItem));
      if (sim.ok) {
        gas = sim.gas;
        break;
      }
      const bad = culprit(batch, sim.revert.errorName, sim.revert.args);
      const reason = `${sim.revert.errorName}(${sim.revert.args.map(String).join(", ")})`;
      if (bad === undefined) throw new Error(`redeem simulation reverted with ${reason}, naming no ticket of the batch`);
      if (FATAL_ERRORS.has(sim.revert.errorName)) {
        fail(bad, reason, r);
        batch = batch.filter((t) => t !== bad);
      } else {
        // Funds exhausted: keep the sender's tickets pending (a refill makes them payable again).
        log(`redeemer: deferring sender ${bad.ticket.sender}: ${reason}`);
        store.setTicketStates(batch.filter((t) => t.ticket.sender === bad.ticket.sender).map((t) => ({ hash: t.hash, state: "pending", error: reason })), clock.now());
        batch = batch.filter((t) => t.ticket.sender !== bad.ticket.sender);
      }
    }
    if (batch.length === 0 || gas === undefined) return r;
    const gasPrice = await broker.gasPrice();
    const fee = (gas * gasPrice * policy.tokenPerNativeE18) / 10n ** 18n;
    const face = batch.reduce((sum, t) => sum + t.ticket.faceValue, 0n);
    const urgent = batch.some((t) => t.ticket.expiry <= now + BigInt(policy.deadlineMarginSeconds));
    if (fee * 10_000n > BigInt(policy.maxFeeShareBps) * face && !urgent) {
      r.deferred = batch.length;
      return r;
    }
    const txHash = await broker.sendRedeem(batch.map(toItem), gas, (hash) => {
      store.markSubmitted(batch.map((t) => t.hash), hash, clock.now());
      // The transaction reveals these sessions' recipientRand: commit to fresh ones before broadcast.
      for (const id of new Set(batch.map((t) => t.sessionId))) {
        const s = sessions.get(id);
        if (s !== undefined && batch.some((t) => t.recipientRand === s.rand)) sessions.rotate(id);
      }
    });
    r.submitted.push(txHash);
    log(`redeemer: submitted ${batch.length} tickets (face ${face}, est. fee ${fee}) in ${txHash}`);
    await reconcile(r);
    return r;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => void runOnce(), ms);
  }

  /** Runs one round now (or joins the one in progress). */
  function runOnce(): Promise<RedeemRound> {
    if (running !== undefined) return running;
    if (timer !== undefined) clearTimeout(timer);
    running = round()
      .then((r) => {
        failures = 0;
        return r;
      })
      .catch((error: unknown) => {
        failures += 1;
        log(`redeemer: round failed (${failures} in a row): ${(error as Error).message}`);
        return { confirmed: 0, failed: 0, submitted: [], dropped: [], deferred: 0, error: (error as Error).message } satisfies RedeemRound;
      })
      .finally(() => {
        running = undefined;
        schedule(failures === 0 ? policy.intervalMs : Math.min(policy.maxBackoffMs, policy.intervalMs * 2 ** failures));
      });
    return running;
  }

  return {
    runOnce,
    /** Starts periodic rounds (the first one at once: it reconciles after a restart). */
    start(): void {
      stopped = false;
      schedule(0);
    },
    /**
     * Stops scheduling and waits for a round in progress, at most `waitMs`: during a chain outage
     * each of its RPC calls may wait for its timeout. A round still running then is halted: it
     * writes nothing more and sends nothing new. Whatever it left (a transaction recorded as
     * submitted, sent or not) is reconciled at the next start, so nothing is lost or sent twice.
     */
    async stop({ waitMs = 2000 }: { waitMs?: number } = {}): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (running === undefined) return;
      let wait: NodeJS.Timeout | undefined;
      const finished = await Promise.race([running.then(() => true), new Promise<false>((r) => (wait = setTimeout(() => r(false), waitMs)))]);
      clearTimeout(wait);
      if (!finished) {
        halted = true;
        log(`redeemer: stopped without waiting for the round in progress (over ${waitMs} ms of RPC calls); the next start reconciles it`);
      }
    },
  };
}

function toItem(t: StoredTicket): RedeemItem {
  return { ticket: t.ticket, signature: t.signature, recipientRand: t.recipientRand };
}
