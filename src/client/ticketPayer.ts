import type { Address, Hex } from "viem";
import type { Ticket } from "../protocol/ticket.ts";
import { MAX_TICKETS_PER_BATCH, type TicketPayment } from "../protocol/wire.ts";

// Payment off the data path. A chunk that verifies is acknowledged at once: the payer signs the
// tickets covering it (full ones; a partial tail only when asked) and queues them. One loop per
// session POSTs the queue in order, one POST at a time, each carrying everything queued while the
// previous one was in flight, so with the node's group commit a POST costs one fsync whatever the
// number of chunks behind it. Data requests never wait for a POST unless the credit window is
// full, so the commit latency is hidden behind the window instead of serialising every chunk.
//
// Tickets are signed when queued, with the nonce and recipientRandHash known then. When a POST
// fails (a rotated rand, a lost response, a restarted node) the payer asks the node where the
// session stands (GET /sessions/<id>: paidBytes, nextNonce, recipientRandHash), drops what the
// node already holds and re-signs the rest from the node's next nonce: the node refuses
// cumulativeBytes at or below paidBytes, so no byte is ever paid twice.

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

type Queued = { ticket: Ticket; signature: Promise<Hex> };

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
    return { ticket, signature };
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

  /** Takes the node's word for the session: drops what it holds, re-signs the rest from its nonce. */
  const rebase = (s: PayerSessionState): void => {
    if (s.paidBytes > confirmed) confirmed = s.paidBytes;
    randHash = s.recipientRandHash;
    nonce = s.nextNonce;
    const rest = queue.filter((q) => q.ticket.cumulativeBytes > confirmed);
    // Those the node holds went in with an earlier POST whose answer we lost.
    accepted += queue.length - rest.length;
    queue = rest.map((q) => signNew(q.ticket.cumulativeBytes));
    if (signed < confirmed) signed = confirmed;
  };

  const fail = (error: unknown): void => {
    failure = error;
    queue = [];
  };

  const pump = async (): Promise<void> => {
    if (posting) return;
    posting = true;
    let attempts = 0;
    try {
      while (queue.length > 0 && failure === undefined) {
        const batch = queue.slice(0, MAX_TICKETS_PER_BATCH);
        try {
          const payments = await Promise.all(batch.map(async (q) => ({ ticket: q.ticket, signature: await q.signature })));
          const s = await p.post(payments);
          attempts = 0;
          accepted += batch.length;
          const last = batch.at(-1)!.ticket;
          queue = queue.slice(batch.length); // only this loop removes from the queue
          if (s.paidBytes > confirmed) confirmed = s.paidBytes;
          if (last.cumulativeBytes > confirmed) confirmed = last.cumulativeBytes;
          // The rand rotated (a winner was submitted): what is queued now carries the old hash.
          if (s.recipientRandHash !== randHash) rebase(s);
        } catch (error) {
          if (p.isFatal(error) || ++attempts >= maxAttempts) {
            fail(error);
            break;
          }
          await new Promise((r) => setTimeout(r, retryDelayMs * attempts));
          try {
            rebase(await p.read());
          } catch (readError) {
            if (p.isFatal(readError)) {
              fail(readError);
              break;
            }
            // The next POST (and read) counts as another attempt.
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
  };
}
