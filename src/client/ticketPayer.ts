import type { Address, Hex } from "viem";
import type { Ticket } from "../protocol/ticket.ts";
import { MAX_TICKETS_PER_BATCH, type TicketPayment } from "../protocol/wire.ts";
import { ProviderClaimError, TicketRedrawError } from "./errors.ts";

// Payment off the data path. A chunk that verifies is acknowledged at once: the payer signs the
// tickets covering it (full ones; a partial tail only when asked) and queues them. One loop per
// session POSTs the queue in order, one POST at a time, each carrying everything queued while the
// previous one was in flight, so with the node's group commit a POST costs one fsync whatever the
// number of chunks behind it. Data requests never wait for a POST unless the credit window is
// full, so the commit latency is hidden behind the window instead of serialising every chunk.
//
// Tickets are signed when queued, with the nonce and recipientRandHash known then. When a POST
// fails (a rotated rand, a lost response, a restarted node) the payer asks the node where the
// session stands (GET /sessions/<id>: paidBytes, nextNonce, recipientRandHash) and drops what the
// node already holds: the node refuses cumulativeBytes at or below paidBytes, so no byte is ever
// paid twice. The rest is sent again as signed while the node still takes it (same rand, nonces
// above its own); only a rotated rand or a nonce another session took needs new signatures.
//
// Every signature the node saw is a lottery draw it could redeem, whatever it answered, so a
// new signature for bytes an earlier one covered is a second draw for them (a "redraw"). An honest
// node causes one round of redraws per winning ticket of ours (it rotates the rand then) and
// rarely one for a nonce clash; a node that asks for more is skimming: after 2 + 3 x (expected
// winners) rounds the payer stops (TicketRedrawError). A node that claims paidBytes beyond what
// our tickets cover is lying (ProviderClaimError): nothing more is signed for it.

/** Where the node says the session stands (from a POST result or GET /sessions/<id>). */
export type PayerSessionState = {
  paidBytes: bigint;
  nextNonce: bigint;
  recipientRandHash: Hex;
  /** What the node counts as served (a relay consumer checks it against its own count). */
  servedBytes?: bigint;
};

/** Dependencies and terms of a payer. */
export type TicketPayerParameters = {
  terms: {
    recipient: Address;
    sender: Address;
    faceValue: bigint;
    winProb: bigint;
    sessionId: Hex;
    bytesPerTicket: bigint;
    ticketExpirySeconds: number;
  };
  /** The session as opened. */
  start: PayerSessionState;
  sign(ticket: Ticket): Promise<Hex>;
  /** POST /sessions/<id>/tickets; resolves with the session after the batch, throws on any refusal. */
  post(payments: TicketPayment[]): Promise<PayerSessionState>;
  /** GET /sessions/<id>. */
  read(): Promise<PayerSessionState>;
  /** Whether an error of `post` or `read` means stop for good (e.g. insufficient funds). */
  isFatal(error: unknown): boolean;
  /** Whether an error of `post` means stop once the node said what it holds (a malformed answer). */
  isFinal?(error: unknown): boolean;
  /**
   * Whether an error of `post` is the node saying "not now" (503 chain unreachable, 507 disk
   * full): such refusals are retried with backoff for `transientGiveUpMs` rather than counted
   * towards `maxAttempts`, so that bytes we verified are still paid when the node recovers
   * (otherwise they hold our credit window on that node for good). `stalled` is true meanwhile.
   */
  isTransient?(error: unknown): boolean;
  /** How long transient refusals in a row are retried before the payer gives up (default 120 s). */
  transientGiveUpMs?: number;
  /** Called whenever confirmed bytes, the queue or the failure state change. */
  onChange(): void;
  now(): number;
  /** Failed POSTs in a row before the payer gives up (default 4). */
  maxAttempts?: number;
  /** Pause before retrying after a failed POST, times the attempt number (default 50 ms). */
  retryDelayMs?: number;
};

/** The in-order ticket payer of one provider session. */
export type TicketPayer = ReturnType<typeof createTicketPayer>;

/** A signed ticket waiting for the node; `posted` once a POST carried it (the node has seen its signature). */
type Queued = { ticket: Ticket; signature: Promise<Hex>; posted: boolean };

/** Rounds of redraws an honest node may cause: 2, plus 3 per expected winner among the accepted tickets (see the note above). */
export function allowedRedraws(accepted: number, winProb: bigint): number {
  const winRate = Number((winProb * 1_000_000n) >> 256n) / 1_000_000;
  return 2 + Math.ceil(3 * accepted * winRate);
}

/** Creates the payer of one session; see the note above. */
export function createTicketPayer(p: TicketPayerParameters) {
  const { terms } = p;
  const maxAttempts = p.maxAttempts ?? 4;
  const retryDelayMs = p.retryDelayMs ?? 50;
  let nonce = p.start.nextNonce;
  let randHash = p.start.recipientRandHash;
  /** cumulativeBytes the node has accepted (its paidBytes). */
  let confirmed = p.start.paidBytes;
  /** cumulativeBytes of the last ticket signed (queued or accepted). */
  let signed = p.start.paidBytes;
  let queue: Queued[] = [];
  let posting = false;
  let accepted = 0;
  let failure: unknown;
  /** Failed POSTs since the last one the node took (a refusal that needed new signatures does not count: those are redraws). */
  let failures = 0;
  /** Rounds in which tickets the node had seen were signed again. */
  let redraws = 0;
  /** When the transient refusals in a row began (undefined: the last POST was not one). */
  let stalledSince: number | undefined;
  let transientRetries = 0;
  const transientGiveUpMs = p.transientGiveUpMs ?? 120_000;

  const signNew = (cumulativeBytes: bigint): Queued => {
    const ticket: Ticket = {
      recipient: terms.recipient,
      sender: terms.sender,
      faceValue: terms.faceValue,
      winProb: terms.winProb,
      senderNonce: nonce,
      recipientRandHash: randHash,
      expiry: BigInt(Math.floor(p.now() / 1000)) + BigInt(terms.ticketExpirySeconds),
      sessionId: terms.sessionId,
      cumulativeBytes,
    };
    nonce += 1n;
    const signature = p.sign(ticket);
    signature.catch(() => undefined); // awaited by the loop; a failure there fails the payer
    return { ticket, signature, posted: false };
  };

  /** Signs tickets up to `upTo` in steps of bytesPerTicket; a last partial step only if `tail`. */
  const signUpTo = (upTo: bigint, tail: boolean): void => {
    if (failure !== undefined) return;
    let added = false;
    while (upTo - signed >= terms.bytesPerTicket || (tail && upTo > signed)) {
      const step = upTo - signed < terms.bytesPerTicket ? upTo - signed : terms.bytesPerTicket;
      signed += step;
      queue.push(signNew(signed));
      added = true;
    }
    if (added) void pump();
  };

  const fail = (error: unknown): void => {
    failure = error;
    queue = [];
  };

  /** Takes the node's paidBytes, unless it claims more than our tickets cover (then fails). */
  const confirm = (paidBytes: bigint): boolean => {
    if (paidBytes > signed) {
      fail(new ProviderClaimError({ provider: terms.recipient, field: "paidBytes", claimed: paidBytes, actual: signed }));
      return false;
    }
    if (paidBytes > confirmed) confirmed = paidBytes;
    return true;
  };

  /**
   * Takes the node's word for the session: drops what it holds, and re-signs the rest (from its
   * nonce, with its rand) only if it no longer takes them as signed. Returns whether it re-signed.
   */
  const rebase = (s: PayerSessionState): boolean => {
    if (!confirm(s.paidBytes)) return false;
    const rest = queue.filter((q) => q.ticket.cumulativeBytes > confirmed);
    // Those the node holds went in with an earlier POST whose answer we lost.
    accepted += queue.length - rest.length;
    const first = rest[0];
    if (first === undefined || (s.recipientRandHash === randHash && first.ticket.senderNonce >= s.nextNonce)) {
      // Still good as signed: send the same signatures again, no new draw.
      queue = rest;
      if (first === undefined) {
        randHash = s.recipientRandHash;
        nonce = s.nextNonce;
      }
      return false;
    }
    if (rest.some((q) => q.posted)) {
      redraws += 1;
      const allowed = allowedRedraws(accepted, terms.winProb);
      if (redraws > allowed) {
        fail(new TicketRedrawError({ provider: terms.recipient, redraws, allowed, accepted }));
        return false;
      }
    }
    randHash = s.recipientRandHash;
    nonce = s.nextNonce;
    queue = rest.map((q) => signNew(q.ticket.cumulativeBytes));
    return true;
  };

  const pump = async (): Promise<void> => {
    if (posting) return;
    posting = true;
    try {
      while (queue.length > 0 && failure === undefined) {
        const batch = queue.slice(0, MAX_TICKETS_PER_BATCH);
        try {
          const payments = await Promise.all(batch.map(async (q) => ({ ticket: q.ticket, signature: await q.signature })));
          for (const q of batch) q.posted = true;
          const s = await p.post(payments);
          failures = 0;
          stalledSince = undefined;
          transientRetries = 0;
          accepted += batch.length;
          const last = batch.at(-1)!.ticket;
          queue = queue.slice(batch.length); // only this loop removes from the queue
          if (last.cumulativeBytes > confirmed) confirmed = last.cumulativeBytes;
          if (!confirm(s.paidBytes)) break;
          // The rand rotated (a winner was submitted): what is queued now carries the old hash.
          if (s.recipientRandHash !== randHash) rebase(s);
        } catch (error) {
          if (p.isFatal(error)) {
            fail(error);
            break;
          }
          if (p.isTransient?.(error) === true) {
            stalledSince ??= p.now();
            if (p.now() - stalledSince >= transientGiveUpMs) {
              fail(error);
              break;
            }
            p.onChange();
            // 50 ms doubling to 2 s: the node said when it recovers only as "later".
            await new Promise((r) => setTimeout(r, Math.min(2000, retryDelayMs * 2 ** Math.min(transientRetries++, 16))));
            continue;
          }
          await new Promise((r) => setTimeout(r, retryDelayMs * (failures + 1)));
          let resigned = false;
          try {
            resigned = rebase(await p.read());
          } catch (readError) {
            if (p.isFatal(readError)) {
              fail(readError);
              break;
            }
          }
          if (failure !== undefined) break;
          // A refusal explained by a rotated rand or a taken nonce was answered with new
          // signatures (bounded as redraws); anything else counts towards giving up.
          if (p.isFinal?.(error) === true || (!resigned && ++failures >= maxAttempts)) {
            fail(error);
            break;
          }
        }
        p.onChange();
      }
    } finally {
      posting = false;
      p.onChange();
    }
  };

  return {
    /** Bytes `verified` (cumulative) are acknowledged: queues the full tickets they complete. */
    acknowledge(verified: bigint): void {
      signUpTo(verified, false);
    },
    /** Queues tickets up to `verified`, the last one partial if need be (it overpays a little). */
    acknowledgeAll(verified: bigint): void {
      signUpTo(verified, true);
    },
    /** Adopts a newer recipientRandHash or nonce the node announced (response headers, a 402). */
    observe(s: { recipientRandHash?: Hex | undefined; nextNonce?: bigint | undefined }): void {
      if (s.recipientRandHash !== undefined && s.recipientRandHash !== randHash && !posting && queue.length === 0) randHash = s.recipientRandHash;
      if (s.nextNonce !== undefined && s.nextNonce > nonce && !posting && queue.length === 0) nonce = s.nextNonce;
    },
    /** Resolves once nothing is queued or being posted; throws the failure if the payer gave up. */
    async drain(wait: () => Promise<void>): Promise<void> {
      while ((posting || queue.length > 0) && failure === undefined) await wait();
      if (failure !== undefined) throw failure;
    },
    /** cumulativeBytes the node has accepted. */
    get confirmed(): bigint {
      return confirmed;
    },
    /** cumulativeBytes covered by signed tickets (queued or accepted). */
    get signed(): bigint {
      return signed;
    },
    /** Whether a POST is in flight or tickets are queued. */
    get busy(): boolean {
      return posting || queue.length > 0;
    },
    /** Tickets the node accepted. */
    get accepted(): number {
      return accepted;
    },
    /** Why the payer gave up, if it did. */
    get failure(): unknown {
      return failure;
    },
    /** Whether the node is refusing our tickets for now (transient refusals in a row; see isTransient). */
    get stalled(): boolean {
      return stalledSince !== undefined && failure === undefined;
    },
  };
}
