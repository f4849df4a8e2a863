import type { IncomingMessage } from "node:http";
import { decodeTicketHeader, parseSessionToken, SESSION_HEADER, TICKET_HEADER, type Offer } from "../../protocol/wire.ts";
import type { Grant, PaymentGate } from "../edge/paymentGate.ts";
import { InvalidSessionTokenError, PaymentRequiredError, SessionRequiredError, SessionServiceMismatchError } from "./errors.ts";
import { PaymentHttpError } from "./paymentErrorStatus.ts";
import type { RefusalBudget } from "./refusalBudget.ts";
import type { SessionBook, SessionState } from "./sessionBook.ts";
import type { TicketIntake } from "./ticketIntake.ts";
import type { TicketStore } from "./ticketStore.ts";

/** Dependencies of the payment gate. */
export type PaymentGateParameters = {
  sessions: SessionBook; intake: TicketIntake; store: TicketStore; offer: Offer; clock: { now(): number };
  /** Called with every refusal (refusal metrics); not on the admitted path. */
  onRefusal?: (error: unknown) => void;
  /** Per-sender allowance of refused tickets (shared with the payment API); none: unlimited. */
  refusalBudget?: RefusalBudget;
};

/**
 * The edge's PaymentGate (src/node/edge/paymentGate.ts): takes the request's tickets (header),
 * then admits the body only if unpaid bytes stay within the credit window
 * (docs/protocol/payments.md §3). Bytes in flight count against the window, so concurrent requests
 * cannot overdraw it together. `X-Bandmint-Session` carries the session's secret token, not its
 * id: the id is in every ticket and public once one is redeemed, and whoever presents the session
 * spends its sender's credit window.
 */
export function createPaymentGate({ sessions, intake, store, offer, clock, onRefusal, refusalBudget }: PaymentGateParameters): PaymentGate {
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
        if (header !== undefined) {
          refusalBudget?.assertAllowed(session.sender);
          // All of a request's tickets are checked, then committed together (one fsync).
          let error: unknown;
          try {
            ({ error } = await intake.acceptAll(session, decodeTicketHeader(header)));
          } catch (e) {
            error = e; // a malformed header
          }
          if (error !== undefined) {
            refusalBudget?.charge(session.sender, error);
            throw error;
          }
        }
        const requested = request.end - request.start;
        // Per sender, over all its sessions: a consumer that stops paying gets one window in total.
        const unpaid = sessions.unpaidBytesOf(session.sender);
        if (unpaid + requested > offer.creditWindowBytes) {
          throw new PaymentRequiredError({
            sessionId: session.id,
            servedBytes: session.servedBytes,
            inFlightBytes: session.inFlightBytes,
            paidBytes: session.paidBytes,
            requestedBytes: requested,
            creditWindowBytes: offer.creditWindowBytes,
            minCumulativeBytes: session.paidBytes + unpaid + requested - offer.creditWindowBytes,
            nextNonce: store.lastNonce(session.sender) + 1n,
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
            "X-Bandmint-Next-Nonce": (store.lastNonce(session.sender) + 1n).toString(),
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
