import type { IncomingMessage } from "node:http";
import { decodeTicketHeader, parseSessionToken, SESSION_HEADER, TICKET_HEADER, type Offer } from "../../protocol/wire.ts";
import type { Grant, PaymentGate } from "../edge/paymentGate.ts";
import { InvalidSessionTokenError, PaymentRequiredError, SessionRequiredError, SessionServiceMismatchError } from "./errors.ts";
import { PaymentHttpError } from "./paymentErrorStatus.ts";
import type { RefusalBudget } from "./refusalBudget.ts";
import type { SessionBook, SessionState } from "./sessionBook.ts";
import type { QueuedTickets, TicketIntake } from "./ticketIntake.ts";

/** Dependencies of the payment gate. */
export type PaymentGateParameters = {
  sessions: SessionBook; intake: TicketIntake; offer: Offer; clock: { now(): number };
  /** Called with every refusal (refusal metrics); not on the admitted path. */
  onRefusal?: (error: unknown) => void;
  /** Per-sender allowance of refused tickets (shared with the payment API); none: unlimited. */
  refusalBudget?: RefusalBudget;
};

/**
 * The edge's PaymentGate (src/node/edge/paymentGate.ts): takes the request's tickets (header),
 * then admits the body only if unpaid bytes stay within the credit window
 * (docs/protocol/payments.md §3). The request waits for its tickets' durable commit only when the
 * window needs them; otherwise it is served while they commit. Bytes in flight count against the window, so concurrent requests
 * cannot overdraw it together. `X-Bandmint-Session` carries the session's secret token, not its
 * id: the id is in every ticket and public once one is redeemed, and whoever presents the session
 * spends its sender's credit window.
 */
export function createPaymentGate({ sessions, intake, offer, clock, onRefusal, refusalBudget }: PaymentGateParameters): PaymentGate {
  // A keep-alive connection sends the same token with every request: the session found for the
  // last one is kept per connection, so the token is parsed and hashed once per connection rather
  // than once per request. Only the same header value on the same connection hits, and only while
  // the book still holds that session (a forgotten one is looked up, and refused, again).
  const lastOnConnection = new WeakMap<object, { value: string; session: SessionState }>();
  return {
    async admit(req: IncomingMessage, request: { start: bigint; end: bigint }): Promise<Grant> {
      try {
        const value = req.headers[SESSION_HEADER];
        if (value === undefined || value === "") throw new SessionRequiredError();
        const last = lastOnConnection.get(req.socket);
        let session: SessionState | undefined;
        if (last !== undefined && last.value === value && sessions.get(last.session.id) === last.session) session = last.session;
        else {
          session = sessions.byToken(parseSessionToken(value));
          if (session === undefined) throw new InvalidSessionTokenError({ reason: "unknown" });
          if (typeof value === "string") lastOnConnection.set(req.socket, { value, session });
        }
        if (session.service !== "cdn") throw new SessionServiceMismatchError({ sessionId: session.id, service: session.service, used: "cdn" });
        const header = req.headers[TICKET_HEADER];
        const requested = request.end - request.start;
        if (header !== undefined) {
          refusalBudget?.assertAllowed(session.sender);
          // All of a request's tickets are checked, then committed together (one fsync).
          let queued: QueuedTickets;
          try {
            queued = await intake.queueAll(session, decodeTicketHeader(header));
          } catch (e) {
            queued = { commits: [], error: e }; // a malformed header
          }
          if (queued.error === undefined && sessions.unpaidBytesOf(session.sender) + requested <= offer.creditWindowBytes) {
            // Every ticket passed its checks and the sender's credit covers this request without
            // them (a client that pays ahead): serve it now and let them commit behind it. paidBytes
            // still moves only when they are durable; a failed commit is a refusal like any other,
            // counted against the sender, only too late to refuse this request (which did not need it).
            void intake.settle(queued).then(({ error }) => {
              if (error === undefined) return;
              refusalBudget?.charge(session.sender, error);
              onRefusal?.(error);
            });
          } else {
            const { error } = await intake.settle(queued);
            if (error !== undefined) {
              refusalBudget?.charge(session.sender, error);
              throw error;
            }
          }
        }
        // Per sender, over all its sessions: a consumer that stops paying gets one window in total.
        let unpaid = sessions.unpaidBytesOf(session.sender);
        if (unpaid + requested > offer.creditWindowBytes) {
          // Tickets of this sender still committing (sent with an earlier request, or by POST) may
          // pay for this one: wait for them rather than answer 402 to a client that has paid.
          const settled = intake.settledFor(session.sender);
          if (settled !== undefined) {
            await settled;
            unpaid = sessions.unpaidBytesOf(session.sender);
          }
        }
        if (unpaid + requested > offer.creditWindowBytes) {
          throw new PaymentRequiredError({
            sessionId: session.id,
            servedBytes: session.servedBytes,
            inFlightBytes: session.inFlightBytes,
            paidBytes: session.paidBytes,
            requestedBytes: requested,
            creditWindowBytes: offer.creditWindowBytes,
            minCumulativeBytes: session.paidBytes + unpaid + requested - offer.creditWindowBytes,
            nextNonce: intake.nextNonce(session.sender),
            recipientRandHash: session.randHash,
          });
        }
        const servedBefore = session.servedBytes;
        session.inFlightBytes += requested;
        let done = false;
        return {
          served(bytes: bigint) {
            if (done) return;
            done = true;
            session.inFlightBytes -= requested;
            // Never count more than was admitted, whatever the caller reports.
            session.servedBytes += bytes < requested ? bytes : requested;
            session.lastActive = clock.now();
            session.dirty = true;
            sessions.creditFreed(session.sender);
          },
          headers: {
            "X-Bandmint-Served-Bytes": servedBefore.toString(),
            "X-Bandmint-Paid-Bytes": session.paidBytes.toString(),
            "X-Bandmint-Credit-Bytes": (offer.creditWindowBytes - unpaid - requested).toString(),
            "X-Bandmint-Next-Nonce": intake.nextNonce(session.sender).toString(),
            "X-Bandmint-Recipient-Rand-Hash": session.randHash,
          },
        };
      } catch (error) {
        onRefusal?.(error);
        throw new PaymentHttpError(error);
      }
    },
  };
}
