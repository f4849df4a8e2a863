import type { IncomingMessage, ServerResponse } from "node:http";
import type { Address } from "viem";
import {
  MAX_REQUEST_BODY_BYTES,
  REQUEST_BODY_TIMEOUT_SECONDS,
  parseSessionId,
  parseSessionRequest,
  parseSessionToken,
  parseTicketBatch,
  serializeOffer,
  serializeOfferAvailability,
  serializeOpenedSession,
  serializeSession,
  SESSION_HEADER,
  WireFormatError,
  type OfferAvailability,
  type OpenedSession,
  type Offer,
  type Session,
} from "../../protocol/wire.ts";
import { domainSeparatorBytes } from "../../protocol/hashTicket.ts";
import { ReplayedSessionRequestError, SESSION_REQUEST_MAX_AGE_SECONDS, verifySessionRequest } from "../../protocol/sessionRequest.ts";
import { ticketDomain } from "../../protocol/ticket.ts";
import type { KeyedBuckets } from "../limits/keyedBuckets.ts";
import { InsufficientFundsError, RequestBodyTooLargeError, RequestTimeoutError, ServiceNotOfferedError, TicketBatchError, TooManySessionRequestsError } from "./errors.ts";
import type { FundsCache } from "./fundsCache.ts";
import type { RefusalBudget } from "./refusalBudget.ts";
import { paymentErrorResponse } from "./paymentErrorStatus.ts";
import type { SessionBook, SessionState } from "./sessionBook.ts";
import { expiryBounds, WITHDRAW_MARGIN_SECONDS, type TicketIntake } from "./ticketIntake.ts";
import type { TicketStore } from "./ticketStore.ts";

/** Dependencies of the session API. */
export type PaymentApiParameters = {
  offer: Offer;
  sessions: SessionBook;
  intake: TicketIntake;
  store: TicketStore;
  funds: FundsCache;
  /** broker.lastNonce(sender, recipient): the on-chain replay watermark. */
  chainLastNonce(sender: Address): Promise<bigint>;
  clock: { now(): number };
  /** The operator status document for GET /status. */
  status(): unknown;
  /** Whether the node takes new sessions now (the operator's limits); default: always. */
  availability?: () => OfferAvailability;
  /** Admission of a new session (the operator's limits): throws LimitReachedError to refuse. */
  admitSession?: () => void;
  /** Called with every error the API answers with (refusal metrics). */
  onRefusal?: (error: unknown) => void;
  /** Per-sender allowance of refused ticket batches (shared with the payment gate); none: unlimited. */
  refusalBudget?: RefusalBudget;
  /** Sessions a sender may open (SESSION_OPEN_BURST, then SESSION_OPENS_PER_MINUTE); none: unlimited. */
  sessionOpens?: KeyedBuckets<Address>;
};

/** Headers a browser page may send and read cross-origin (HLS players, web clients). */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
  "Access-Control-Allow-Headers": "Content-Type, Range, If-None-Match, X-Bandmint-Session, X-Bandmint-Ticket",
  "Access-Control-Expose-Headers":
    "Content-Range, Content-Length, ETag, Retry-After, X-Bandmint-Served-Bytes, X-Bandmint-Paid-Bytes, X-Bandmint-Credit-Bytes, X-Bandmint-Next-Nonce, X-Bandmint-Recipient-Rand-Hash",
};

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const bytes = Buffer.from(JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  const all: Record<string, string | number> = { ...CORS_HEADERS, ...headers, "Content-Type": "application/json", "Content-Length": bytes.length, "Cache-Control": "no-store" };
  // The rest of an oversized or overdue body is not worth reading: close the connection after the answer.
  if (status === 413 || status === 408) all.Connection = "close";
  res.writeHead(status, all);
  res.end(bytes);
}

/**
 * Reads a JSON request body of at most MAX_REQUEST_BODY_BYTES, arriving within
 * REQUEST_BODY_TIMEOUT_SECONDS. Over the limit it rejects at once with RequestBodyTooLargeError,
 * past the time with RequestTimeoutError, and lets the rest of the body drain unread (the 413 or
 * 408 answer closes the connection); leaving a `for await` loop would destroy the socket before
 * the answer.
 */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // A declared length over the limit is refused before a byte of the body is read.
    if (Number(req.headers["content-length"] ?? 0) > MAX_REQUEST_BODY_BYTES) {
      req.resume();
      return reject(new RequestBodyTooLargeError({ limit: MAX_REQUEST_BODY_BYTES }));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const timer = setTimeout(() => {
      refused = true;
      chunks.length = 0;
      reject(new RequestTimeoutError({ limitSeconds: REQUEST_BODY_TIMEOUT_SECONDS }));
    }, REQUEST_BODY_TIMEOUT_SECONDS * 1000);
    req.once("close", () => clearTimeout(timer));
    req.once("end", () => clearTimeout(timer));
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        refused = true;
        chunks.length = 0;
        return reject(new RequestBodyTooLargeError({ limit: MAX_REQUEST_BODY_BYTES }));
      }
      chunks.push(chunk);
    });
    req.on("error", reject);
    req.on("close", () => reject(new WireFormatError({ field: "body", reason: "ended before it was complete" })));
    req.on("end", () => {
      if (refused) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (cause) {
        reject(new WireFormatError({ field: "body", reason: "is not valid JSON", cause }));
      }
    });
  });
}

/** The HTTP side of sessions and tickets: /offer, /sessions, /sessions/<id>[/tickets], /status. */
export function createPaymentApi(p: PaymentApiParameters) {
  const { offer, sessions, intake, store, funds, clock } = p;
  const separator = domainSeparatorBytes(ticketDomain(offer.chainId, offer.broker));

  function sessionBody(s: SessionState): Session {
    const { minExpiry, maxExpiry } = expiryBounds(offer, BigInt(Math.floor(clock.now() / 1000)));
    return {
      sessionId: s.id,
      sender: s.sender,
      recipient: offer.recipient,
      chainId: offer.chainId,
      broker: offer.broker,
      recipientRandHash: s.randHash,
      nextNonce: store.lastNonce(s.sender) + 1n,
      faceValue: offer.faceValue,
      winProb: offer.winProb,
      pricePerGiB: offer.pricePerGiB,
      bytesPerTicket: offer.bytesPerTicket,
      creditWindowBytes: offer.creditWindowBytes,
      minExpiry,
      maxExpiry,
      servedBytes: s.servedBytes,
      paidBytes: s.paidBytes,
      service: s.service,
    };
  }

  /**
   * The session `id` if the request carries its token: counters and tickets of a session are its
   * consumer's business, and the id alone is public (it is in every ticket).
   */
  function getSession(req: IncomingMessage, id: string): SessionState {
    const sessionId = parseSessionId(id);
    const value = req.headers[SESSION_HEADER];
    return sessions.authorize(sessionId, value === undefined || value === "" ? undefined : parseSessionToken(value));
  }

  async function openSession(req: IncomingMessage): Promise<OpenedSession> {
    // First: a node at its limits refuses before it reads the body or the chain.
    p.admitSession?.();
    const request = parseSessionRequest(await readJson(req));
    const { sender } = request;
    const service = request.service ?? "cdn";
    if (!offer.services.includes(service)) throw new ServiceNotOfferedError({ service, offered: offer.services });
    // Proof that the caller holds the sender's key (payments.md §1.2): without it anyone could
    // open sessions in a funded sender's name and fill its per-sender credit window.
    const digest = verifySessionRequest(request, { domain: separator, recipient: offer.recipient, nowSeconds: BigInt(Math.floor(clock.now() / 1000)) });
    if (store.hasSessionRequest(digest)) throw new ReplayedSessionRequestError({ digest });
    // Counted once the request is the sender's own and fresh (a replay spends nothing of its
    // allowance), before the chain reads and the durable write a new session costs.
    const opens = p.sessionOpens;
    if (opens !== undefined && !opens.take(sender)) throw new TooManySessionRequestsError({ sender, limit: opens.burst, retryAfterSeconds: opens.retryAfterSeconds(sender) });
    // Before any chain read: a sender at its session cap costs the node no RPC.
    sessions.assertRoom(sender);
    funds.invalidate(sender);
    const f = await funds.get(sender);
    const nowSeconds = BigInt(Math.floor(clock.now() / 1000));
    const base = { sender, deposit: f.deposit, reserve: f.reserve, required: offer.minDeposit, withdrawTime: f.withdrawTime };
    if (f.deposit + f.reserve < offer.minDeposit) {
      throw new InsufficientFundsError({ ...base, reason: `deposit + drawable reserve ${f.deposit + f.reserve} is below the minimum ${offer.minDeposit}` });
    }
    if (f.withdrawTime !== 0n && f.withdrawTime < nowSeconds + BigInt(offer.ticketExpirySeconds) + WITHDRAW_MARGIN_SECONDS) {
      throw new InsufficientFundsError({ ...base, reason: `funds unlock at ${f.withdrawTime}, before tickets could be redeemed` });
    }
    // The chain's watermark may be ahead of ours (tickets redeemed by an earlier installation).
    store.raiseNonce(sender, await p.chainLastNonce(sender));
    // No await from here to the insert (queued at once, its replay key visible to this check):
    // two replays racing through the reads meet here, in order.
    if (store.hasSessionRequest(digest)) throw new ReplayedSessionRequestError({ digest });
    const expiresAt = Number(request.timestamp + SESSION_REQUEST_MAX_AGE_SECONDS) + 1;
    const { session, token, durable } = sessions.openWithToken(sender, { digest, expiresAt }, service);
    // The token goes out only once the session is on disk (the writer thread's commit, if any).
    await durable;
    return { ...sessionBody(session), sessionToken: token };
  }

  async function postTickets(req: IncomingMessage, id: string): Promise<{ accepted: number; session: Session }> {
    const session = getSession(req, id);
    // Before the body is read: a sender whose batches keep being refused costs no parse.
    p.refusalBudget?.assertAllowed(session.sender);
    try {
      const { tickets } = parseTicketBatch(await readJson(req));
      // Checked in order, committed together; tickets before a bad one stay accepted.
      const { accepted, error } = await intake.acceptAll(session, tickets);
      if (error !== undefined) throw accepted.length === 0 ? error : new TicketBatchError({ cause: error as Error, accepted: accepted.length });
      return { accepted: accepted.length, session: sessionBody(session) };
    } catch (error) {
      p.refusalBudget?.charge(session.sender, error);
      throw error;
    }
  }

  return {
    /** Handles the request if it is one of ours; resolves false otherwise (e.g. /c/ content). */
    async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      const url = new URL(req.url ?? "/", "http://node");
      const parts = url.pathname.split("/").filter((x) => x.length > 0);
      const [root, id, sub] = parts;
      if (root !== "offer" && root !== "sessions" && root !== "status") return false;
      try {
        if (req.method === "OPTIONS") {
          res.writeHead(204, CORS_HEADERS);
          res.end();
        } else if (root === "offer" && parts.length === 1 && req.method === "GET") {
          send(res, 200, { ...serializeOffer(offer), ...serializeOfferAvailability(p.availability?.() ?? { available: true }) });
        } else if (root === "status" && parts.length === 1 && req.method === "GET") {
          send(res, 200, p.status());
        } else if (root === "sessions" && parts.length === 1 && req.method === "POST") {
          send(res, 201, serializeOpenedSession(await openSession(req)));
        } else if (root === "sessions" && id !== undefined && parts.length === 2 && req.method === "GET") {
          send(res, 200, serializeSession(sessionBody(getSession(req, id))));
        } else if (root === "sessions" && id !== undefined && sub === "tickets" && parts.length === 3 && req.method === "POST") {
          const result = await postTickets(req, id);
          send(res, 200, { accepted: result.accepted, session: serializeSession(result.session) });
        } else {
          send(res, 404, { error: "RouteNotFoundError", message: `No route ${req.method} ${url.pathname}.` });
        }
      } catch (error) {
        p.onRefusal?.(error);
        const { status, body, headers } = paymentErrorResponse(error);
        // A body left unread (refused before it was read) is not worth draining: close after the answer.
        send(res, status, body, req.method === "POST" && !req.complete ? { ...headers, Connection: "close" } : headers);
      }
      return true;
    },
  };
}

