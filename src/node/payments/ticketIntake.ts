import type { Address, Hex } from "viem";
import { checkTicket, checkTicketTerms } from "../../protocol/checkTicket.ts";
import { hashTicketWithSeparator } from "../../protocol/hashTicket.ts";
import { TicketTermsMismatchError } from "../../protocol/errors.ts";
import { MAX_WIN_PROB } from "../../protocol/ticket.ts";
import { priceOfBytes } from "../../protocol/ticketParams.ts";
import { expectedValue, isWinningTicket } from "../../protocol/winningTicket.ts";
import type { Offer, TicketPayment } from "../../protocol/wire.ts";
import {
  InsufficientFundsError,
  SessionMismatchError,
  StaleRecipientRandError,
  TicketAcknowledgesNothingError,
  TicketExpiryTooFarError,
  TicketNonceError,
  TicketOverAcknowledgesError,
  TicketUnderpricedError,
} from "./errors.ts";
import type { FundsCache, SenderFunds } from "./fundsCache.ts";
import type { Clock, SessionState } from "./sessionBook.ts";
import type { RecoveredSigner, SignerPool } from "./signerPool.ts";
import { createTicketCommitter, type TicketCommitter } from "./ticketCommitter.ts";
import type { TicketStore } from "./ticketStore.ts";

/** Seconds of clock skew tolerated above `now + ticketExpirySeconds`. */
export const EXPIRY_SKEW_SECONDS = 600n;
/** A sender whose withdrawal unlocks less than this long after a ticket's expiry is refused. */
export const WITHDRAW_MARGIN_SECONDS = 3600n;

/** Unredeemed winning tickets per sender (shared with the redeemer, which settles them). */
export type OutstandingWinners = Map<Address, number>;

/** What intake reports for an accepted ticket. */
export type AcceptedTicket = { hash: Hex; winning: boolean; paidBytes: bigint };

/** Outcome of a run of tickets: those stored before the first failure, and that failure if any. */
export type AcceptedTickets = { accepted: AcceptedTicket[]; error: unknown };

/** Dependencies and terms of ticket intake. */
export type TicketIntakeParameters = {
  store: TicketStore;
  funds: FundsCache;
  offer: Offer;
  /** Precomputed EIP-712 domain separator (32 bytes) of the broker. */
  domainSeparator: Uint8Array;
  clock: Clock;
  outstanding: OutstandingWinners;
  /** The group-commit writer; by default one over `store` (tests and benches pass their own). */
  committer?: TicketCommitter;
  /** Recovers signatures on worker threads (signerPool.ts); without it they are recovered inline. */
  signers?: Pick<SignerPool, "recover">;
  /** Called after a ticket's commit moved the session's paidBytes (wakes relay tunnels at the window). */
  onPaid?: (session: SessionState) => void;
};

/** Ticket intake: every check of docs/protocol/payments.md §2.3, then a durable write. */
export type TicketIntake = ReturnType<typeof createTicketIntake>;

/** The accepted expiry range at `nowSeconds` (payments.md §2.3). */
export function expiryBounds(offer: Offer, nowSeconds: bigint): { minExpiry: bigint; maxExpiry: bigint } {
  const lifetime = BigInt(offer.ticketExpirySeconds);
  return { minExpiry: nowSeconds + lifetime / 2n, maxExpiry: nowSeconds + lifetime + EXPIRY_SKEW_SECONDS };
}

/**
 * What a ticket is worth to the provider: its expected value, except that a ticket at the win cap
 * (2^256 - 1, "certainty") counts at face value. Its exact value falls short of that by
 * faceValue / 2^256 wei, which the floor in expectedValue would turn into a whole wei and make
 * every certain ticket priced by ticketParams look under-priced.
 */
export function ticketWorth(faceValue: bigint, winProb: bigint): bigint {
  return winProb === MAX_WIN_PROB ? faceValue : expectedValue(faceValue, winProb);
}

/**
 * Creates the ticket intake over a store, a funds cache and the node's offered terms.
 *
 * Tickets are committed in groups (ticketCommitter.ts), so between its checks and its commit a
 * ticket is *queued*: the state checks (nonce above the last one, cumulativeBytes above what is
 * paid, funds for one more winner) run against the committed state advanced by every queued
 * ticket, so two in-flight tickets of one sender or session can never both pass on the same
 * watermark. The session's paidBytes moves only when the ticket's batch is durable.
 */
export function createTicketIntake(p: TicketIntakeParameters) {
  const { store, funds, offer, domainSeparator, clock, outstanding, signers } = p;
  const committer = p.committer ?? createTicketCommitter({ store });
  const ticketValue = ticketWorth(offer.faceValue, offer.winProb);
  // The most bytes one ticket can pay for at the price: the largest b with priceOfBytes(b) <= value.
  const maxBytesPerTicket = (ticketValue * 2n ** 30n) / offer.pricePerGiB;
  /** Highest queued (not yet committed) nonce per sender. */
  const queuedNonce = new Map<Address, bigint>();
  /** Per session, the counters its queued tickets will commit (the last one's). */
  const queuedSession = new Map<Hex, { paidBytes: bigint; servedBytes: bigint }>();

  const lastNonceOf = (sender: Address): bigint => {
    const committed = store.lastNonce(sender);
    const queued = queuedNonce.get(sender);
    return queued !== undefined && queued > committed ? queued : committed;
  };

  /**
   * Bytes a ticket may acknowledge beyond what the node counted as served. Content: none, or one
   * window for a session loaded after a restart (`slackBytes`). Relay: one window, because the
   * consumer counts the bytes it wrote into the tunnel and the node meters them only when it reads
   * them (docs/protocol/relay.md §4); paying them early costs the node nothing.
   */
  const acknowledgeAllowance = (session: SessionState): bigint =>
    session.service === "relay" && offer.creditWindowBytes > session.slackBytes ? offer.creditWindowBytes : session.slackBytes;

  /** Stateful checks against committed + queued state (re-run after any await). */
  function checkState(session: SessionState, payment: TicketPayment): void {
    const t = payment.ticket;
    const lastNonce = lastNonceOf(session.sender);
    if (t.senderNonce <= lastNonce) {
      throw new TicketNonceError({ nonce: t.senderNonce, lastNonce, duplicate: isStored(t) });
    }
    const q = queuedSession.get(session.id);
    const paidBytes = q?.paidBytes ?? session.paidBytes;
    const servedBytes = q !== undefined && q.servedBytes > session.servedBytes ? q.servedBytes : session.servedBytes;
    if (t.cumulativeBytes <= paidBytes) {
      throw new TicketAcknowledgesNothingError({ cumulativeBytes: t.cumulativeBytes, paidBytes });
    }
    if (t.cumulativeBytes > servedBytes + acknowledgeAllowance(session)) {
      throw new TicketOverAcknowledgesError({ cumulativeBytes: t.cumulativeBytes, servedBytes });
    }
    const bytes = t.cumulativeBytes - paidBytes;
    const price = priceOfBytes(offer.pricePerGiB, bytes);
    const value = ticketWorth(t.faceValue, t.winProb);
    if (value < price) {
      throw new TicketUnderpricedError({ bytes, price, value, maxBytes: maxBytesPerTicket });
    }
  }

  /** Whether this very ticket is already stored (the duplicate flag of TicketNonceError). */
  function isStored(t: TicketPayment["ticket"]): boolean {
    try {
      return store.getTicket(hashTicketWithSeparator(t, domainSeparator)) !== undefined;
    } catch {
      return false; // malformed fields: checkTicket will name them
    }
  }

  function checkFunds(sender: Address, f: SenderFunds, expiry: bigint): void {
    // `outstanding` counts queued winners too (raised at enqueue), so concurrent winners share it.
    const pending = BigInt(outstanding.get(sender) ?? 0);
    const required = offer.faceValue * (pending + 1n);
    const base = { sender, deposit: f.deposit, reserve: f.reserve, required, withdrawTime: f.withdrawTime };
    if (f.deposit + f.reserve < required) {
      throw new InsufficientFundsError({ ...base, reason: `deposit + drawable reserve ${f.deposit + f.reserve} < ${required} (face value x (1 + ${pending} unredeemed winners))` });
    }
    if (f.withdrawTime !== 0n && f.withdrawTime < expiry + WITHDRAW_MARGIN_SECONDS) {
      throw new InsufficientFundsError({ ...base, reason: `funds unlock at ${f.withdrawTime}, before the ticket can safely be redeemed` });
    }
  }

  /**
   * Runs every check; on success queues the ticket and returns its commit (wrapped: an async
   * function returning a bare promise would wait for it).
   */
  async function checkAndQueue(
    session: SessionState,
    payment: TicketPayment,
    signal?: AbortSignal,
    recovering?: Promise<RecoveredSigner | undefined>,
  ): Promise<{ committed: Promise<AcceptedTicket> }> {
    const t = payment.ticket;
    if (t.sessionId !== session.id) throw new SessionMismatchError({ expected: session.id, actual: t.sessionId });
    if (t.sender !== session.sender) throw new TicketTermsMismatchError({ field: "sender", expected: session.sender, actual: t.sender });
    // Terms before value: a ticket with other terms is a protocol error, not an under-payment.
    if (t.faceValue !== offer.faceValue) throw new TicketTermsMismatchError({ field: "faceValue", expected: offer.faceValue, actual: t.faceValue });
    if (t.winProb !== offer.winProb) throw new TicketTermsMismatchError({ field: "winProb", expected: offer.winProb, actual: t.winProb });
    if (t.recipientRandHash !== session.randHash) throw new StaleRecipientRandError({ expected: session.randHash, actual: t.recipientRandHash });
    const nowSeconds = BigInt(Math.floor(clock.now() / 1000));
    const { minExpiry, maxExpiry } = expiryBounds(offer, nowSeconds);
    if (t.expiry > maxExpiry) throw new TicketExpiryTooFarError({ expiry: t.expiry, maxExpiry });
    checkState(session, payment);
    // Stateless checks last among the cheap ones: signature recovery is the expensive step.
    const checkOptions = { domain: domainSeparator, now: nowSeconds, expectedRecipient: offer.recipient, minExpiry, faceValue: offer.faceValue, winProb: offer.winProb };
    let digest: Hex;
    let waited = false;
    if (signers === undefined) {
      ({ digest } = checkTicket(t, payment.signature, checkOptions));
    } else {
      checkTicketTerms(t, checkOptions);
      const recovered = await (recovering ?? signers.recover(t, payment.signature));
      waited = true;
      // Anything but "the sender signed it" is decided inline, so a refusal carries its typed error.
      digest = recovered !== undefined && recovered.signer.toLowerCase() === t.sender.toLowerCase() ? recovered.digest : checkTicket(t, payment.signature, checkOptions).digest;
    }
    let f = funds.peek(session.sender);
    if (f === undefined) {
      f = await funds.get(session.sender, signal);
      waited = true;
    }
    if (waited) {
      // Another ticket of this sender may have been queued or accepted while we waited.
      checkState(session, payment);
      // The rand may have rotated while we waited (a winner of this session was submitted).
      if (t.recipientRandHash !== session.randHash) throw new StaleRecipientRandError({ expected: session.randHash, actual: t.recipientRandHash });
    }
    checkFunds(session.sender, f, t.expiry);

    // Reserve: from here until the commit settles, the next ticket is checked against this one.
    const winning = isWinningTicket(payment.signature, session.rand, t.winProb);
    const q = queuedSession.get(session.id);
    const servedBefore = q !== undefined && q.servedBytes > session.servedBytes ? q.servedBytes : session.servedBytes;
    // A relay ticket ahead of the meter pays for bytes still on their way (prepaid); it does not
    // move the meter, or those bytes would be counted twice when they arrive.
    const servedBytes = session.service === "cdn" && t.cumulativeBytes > servedBefore ? t.cumulativeBytes : servedBefore;
    const reservation = { paidBytes: t.cumulativeBytes, servedBytes };
    queuedNonce.set(session.sender, t.senderNonce);
    queuedSession.set(session.id, reservation);
    if (winning) outstanding.set(session.sender, (outstanding.get(session.sender) ?? 0) + 1);
    const release = () => {
      if (queuedNonce.get(session.sender) === t.senderNonce) queuedNonce.delete(session.sender);
      if (queuedSession.get(session.id) === reservation) queuedSession.delete(session.id);
    };
    const committed = committer.commit({
      hash: digest,
      sessionId: session.id,
      ticket: t,
      signature: payment.signature,
      recipientRand: session.rand,
      winning,
      servedBytes,
      now: clock.now(),
    });
    const done = committed.then(
      () => {
        // Only after the commit: the bytes count as paid. Batches commit in queue order, so this
        // ticket's counters are at least the session's committed ones.
        release();
        if (servedBytes > session.servedBytes) session.servedBytes = servedBytes;
        session.paidBytes = t.cumulativeBytes;
        session.lastActive = clock.now();
        p.onPaid?.(session);
        return { hash: digest, winning, paidBytes: t.cumulativeBytes };
      },
      (error: unknown) => {
        // The committer rejects the failed batch and everything queued behind it, so every
        // reservation is released here and the next ticket is checked against the disk again.
        release();
        if (winning) {
          const n = (outstanding.get(session.sender) ?? 1) - 1;
          if (n <= 0) outstanding.delete(session.sender);
          else outstanding.set(session.sender, n);
        }
        throw error;
      },
    );
    // Marked handled: acceptAll may attach its handler only after later tickets' checks.
    done.catch(() => {});
    return { committed: done };
  }

  return {
    /** Value of bytes one ticket with the offered terms pays for, at most. */
    maxBytesPerTicket,
    /**
     * Checks one ticket for `session` and stores it durably; resolves once it is on disk and the
     * session's paidBytes has moved. Throws the typed error of the first failed check.
     */
    async accept(session: SessionState, payment: TicketPayment, signal?: AbortSignal): Promise<AcceptedTicket> {
      return await (await checkAndQueue(session, payment, signal)).committed;
    },
    /**
     * Checks and queues `payments` in order without waiting for each commit (so a request's
     * tickets share one), stopping at the first bad ticket; resolves when the queued ones are
     * durable with those accepted and the first error (a check's or the commit's), if any.
     */
    async acceptAll(session: SessionState, payments: readonly TicketPayment[], signal?: AbortSignal): Promise<AcceptedTickets> {
      const commits: Promise<AcceptedTicket>[] = [];
      let error: unknown;
      // The first ticket's signature is recovered alone, once its cheap checks passed; after it,
      // the rest are recovered together, up to 16 ahead (one message to the signer threads, in
      // parallel), while their state checks run one after the other as below. A batch whose first
      // ticket is bad (a replay, a forgery, another recipient...) thus costs at most one recovery,
      // not sixteen: refused batches would otherwise queue the threads' work ahead of honest tickets.
      let ahead: Promise<RecoveredSigner | undefined>[] = [];
      let aheadFrom = 1;
      for (const [i, payment] of payments.entries()) {
        if (signers !== undefined && i > 0 && i === aheadFrom) {
          ahead = payments.slice(i, i + 16).map((p) => signers.recover(p.ticket, p.signature));
          aheadFrom = i + ahead.length;
        }
        try {
          commits.push((await checkAndQueue(session, payment, signal, i === 0 ? undefined : ahead[(i - 1) % 16])).committed);
        } catch (e) {
          error = e;
          break;
        }
      }
      const accepted: AcceptedTicket[] = [];
      for (const r of await Promise.allSettled(commits)) {
        if (r.status === "fulfilled") accepted.push(r.value);
        else {
          error = r.reason;
          break;
        }
      }
      return { accepted, error };
    },
    /** Refuses new tickets and resolves once every queued one is committed (before the store closes). */
    close(): Promise<void> {
      return committer.close();
    },
  };
}
