import type { Address, Hex } from "viem";
import { checkTicket } from "../../protocol/checkTicket.ts";
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
import type { TicketStore } from "./ticketStore.ts";

/** Seconds of clock skew tolerated above `now + ticketExpirySeconds`. */
export const EXPIRY_SKEW_SECONDS = 600n;
/** A sender whose withdrawal unlocks less than this long after a ticket's expiry is refused. */
export const WITHDRAW_MARGIN_SECONDS = 3600n;

/** Unredeemed winning tickets per sender (shared with the redeemer, which settles them). */
export type OutstandingWinners = Map<Address, number>;

/** What intake reports for an accepted ticket. */
export type AcceptedTicket = { hash: Hex; winning: boolean; paidBytes: bigint };

/** Dependencies and terms of ticket intake. */
export type TicketIntakeParameters = {
  store: TicketStore;
  funds: FundsCache;
  offer: Offer;
  /** Precomputed EIP-712 domain separator (32 bytes) of the broker. */
  domainSeparator: Uint8Array;
  clock: Clock;
  outstanding: OutstandingWinners;
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

/** Creates the ticket intake over a store, a funds cache and the node's offered terms. */
export function createTicketIntake(p: TicketIntakeParameters) {
  const { store, funds, offer, domainSeparator, clock, outstanding } = p;
  const ticketValue = ticketWorth(offer.faceValue, offer.winProb);
  // The most bytes one ticket can pay for at the price: the largest b with priceOfBytes(b) <= value.
  const maxBytesPerTicket = (ticketValue * 2n ** 30n) / offer.pricePerGiB;

  /** Stateful checks that must hold at the moment of the write (re-run after any await). */
  function checkState(session: SessionState, payment: TicketPayment): void {
    const t = payment.ticket;
    const lastNonce = store.lastNonce(session.sender);
    if (t.senderNonce <= lastNonce) {
      throw new TicketNonceError({ nonce: t.senderNonce, lastNonce, duplicate: false });
    }
    if (t.cumulativeBytes <= session.paidBytes) {
      throw new TicketAcknowledgesNothingError({ cumulativeBytes: t.cumulativeBytes, paidBytes: session.paidBytes });
    }
    if (t.cumulativeBytes > session.servedBytes + session.slackBytes) {
      throw new TicketOverAcknowledgesError({ cumulativeBytes: t.cumulativeBytes, servedBytes: session.servedBytes });
    }
    const bytes = t.cumulativeBytes - session.paidBytes;
    const price = priceOfBytes(offer.pricePerGiB, bytes);
    const value = ticketWorth(t.faceValue, t.winProb);
    if (value < price) {
      throw new TicketUnderpricedError({ bytes, price, value, maxBytes: maxBytesPerTicket });
    }
  }

  function checkFunds(sender: Address, f: SenderFunds, expiry: bigint): void {
    const pending = BigInt(outstanding.get(sender) ?? 0);
    const required = offer.faceValue * (pending + 1n);
    const base = { sender, deposit: f.deposit, reserve: f.reserve, required, withdrawTime: f.withdrawTime };
    if (f.deposit + f.reserve < required) {
      throw new InsufficientFundsError({ ...base, reason: `deposit + reserve ${f.deposit + f.reserve} < ${required} (face value x (1 + ${pending} unredeemed winners))` });
    }
    if (f.withdrawTime !== 0n && f.withdrawTime < expiry + WITHDRAW_MARGIN_SECONDS) {
      throw new InsufficientFundsError({ ...base, reason: `funds unlock at ${f.withdrawTime}, before the ticket can safely be redeemed` });
    }
  }

  return {
    /** Value of bytes one ticket with the offered terms pays for, at most. */
    maxBytesPerTicket,
    /**
     * Checks one ticket for `session` and stores it durably; resolves once it is on disk and the
     * session's paidBytes has moved. Throws the typed error of the first failed check.
     */
    async accept(session: SessionState, payment: TicketPayment, signal?: AbortSignal): Promise<AcceptedTicket> {
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
      const { digest } = checkTicket(t, payment.signature, {
        domain: domainSeparator,
        now: nowSeconds,
        expectedRecipient: offer.recipient,
        minExpiry,
        faceValue: offer.faceValue,
        winProb: offer.winProb,
      });
      let f = funds.peek(session.sender);
      if (f === undefined) {
        f = await funds.get(session.sender, signal);
        // Another ticket of this sender may have been accepted while we waited.
        checkState(session, payment);
      }
      checkFunds(session.sender, f, t.expiry);
      const winning = isWinningTicket(payment.signature, session.rand, t.winProb);
      const servedBytes = t.cumulativeBytes > session.servedBytes ? t.cumulativeBytes : session.servedBytes;
      try {
        store.acceptTicket({
          hash: digest,
          sessionId: session.id,
          ticket: t,
          signature: payment.signature,
          recipientRand: session.rand,
          winning,
          servedBytes,
          now: clock.now(),
        });
      } catch (error) {
        if (store.getTicket(digest) !== undefined) {
          throw new TicketNonceError({ nonce: t.senderNonce, lastNonce: store.lastNonce(session.sender), duplicate: true });
        }
        throw error;
      }
      // Only after the commit: the bytes count as paid.
      session.servedBytes = servedBytes;
      session.paidBytes = t.cumulativeBytes;
      session.lastActive = clock.now();
      if (winning) outstanding.set(session.sender, (outstanding.get(session.sender) ?? 0) + 1);
      return { hash: digest, winning, paidBytes: session.paidBytes };
    },
  };
}
