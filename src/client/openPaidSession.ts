import { toHex, type Address, type Hex } from "viem";
import type { SessionRequestMessage } from "../protocol/sessionRequest.ts";
import type { Ticket } from "../protocol/ticket.ts";
import {
  parseOffer,
  parseOpenedSession,
  parseSession,
  parseTicketBatchResult,
  parseWireError,
  SESSION_HEADER,
  serializeSessionRequest,
  serializeTicketPayment,
  WIRE_VERSION,
  WireFormatError,
  type Offer,
  type Service,
  type Session,
} from "../protocol/wire.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { DepositTooLowError, OfferMismatchError, ProviderRequestError } from "./errors.ts";
import { createTicketPayer, type PayerSessionState, type TicketPayer } from "./ticketPayer.ts";

const GIB = 1n << 30n;

/** Signs a ticket for the client's account under the deployment's ticket domain. */
export type SignTicketFn = (ticket: Ticket) => Promise<Hex>;
/** Signs a session request (the proof of owning `sender`) under the deployment's ticket domain. */
export type SignSessionRequestFn = (message: SessionRequestMessage) => Promise<Hex>;

/** Options of `openProviderSession` / `openRelaySession`: where, as whom, how to sign. */
export type OpenProviderSessionParameters = {
  listing: ProviderListing;
  /** Chain and broker the client trusts (its deployment); the provider's offer must name them. */
  chainId: number;
  broker: Address;
  sender: Address;
  sign: SignTicketFn;
  /**
   * Signs the `POST /sessions` request (e.g. `signSessionRequest` from src/protocol/sessionRequest.ts);
   * nodes refuse unsigned requests (401 UnsignedSessionRequestError).
   */
  signSession: SignSessionRequestFn;
  fetch?: typeof globalThis.fetch;
  /**
   * Longest wait for the whole answer to a control request (GET /offer, POST /sessions, GET
   * /sessions/<id>, ticket POSTs, manifests), in ms; default 10 s. Content ranges have their own,
   * throughput-based timeout (the pool's).
   */
  requestTimeoutMs?: number;
  /** Clock in ms (ticket expiry); injectable for tests. */
  now?: () => number;
  signal?: AbortSignal | undefined;
};

/** What the client has paid one provider so far (expected value: the tickets are lottery tickets). */
export type SessionPayments = {
  tickets: number;
  /** Sum of the tickets' expected values, in wei: what the bytes cost on average. */
  expectedValue: bigint;
  /** Bytes covered by tickets the node accepted. */
  acknowledgedBytes: bigint;
  /** Bytes verified but not yet covered by an accepted ticket (being paid, or paid at settle). */
  unacknowledgedBytes: bigint;
};

/** A session opened with a provider, before any service-specific use (content ranges or relay tunnels). */
export type PaidSession = {
  listing: ProviderListing;
  offer: Offer;
  /** The session as opened (terms checked against the offer and the listing). */
  session: Session;
  sessionId: Hex;
  /**
   * The secret session token (X-Bandmint-Session, or the relay's Proxy-Authorization). Only the
   * service code of this package reads it; it is never logged, put in a ticket or returned to users.
   */
  token: Hex;
  /** The session's in-order ticket payer (ticketPayer.ts). */
  payer: TicketPayer;
  /** A request to the provider's endpoint; network failures become ProviderRequestError. */
  call(path: string, init: RequestInit & { signal?: AbortSignal | undefined }): Promise<Response>;
  /**
   * A control request and the reading of its answer, within `requestTimeoutMs`: a provider that
   * does not answer, cuts the answer short or answers something unreadable (`read` throws a
   * SyntaxError or a WireFormatError) fails with ProviderRequestError.
   */
  exchange<T>(path: string, init: RequestInit & { signal?: AbortSignal | undefined }, read: (res: Response) => Promise<T>): Promise<T>;
  /** Throws the provider's error response as a ProviderRequestError (its name, status and message). */
  fail(res: Response, path: string): Promise<never>;
  /** GET /sessions/<id>: where the node says the session stands. */
  readSession(signal?: AbortSignal): Promise<Session>;
};

/**
 * Opens a payment session with a provider (docs/protocol/payments.md): reads `GET /offer`,
 * refuses it unless recipient, price, chain and broker equal the on-chain listing and the
 * client's deployment, then sends a signed `POST /sessions` for `service` and creates the
 * session's ticket payer (which calls `onChange` whenever what it has paid changes, and
 * `onSession` with every session state the node reports).
 */
export async function openPaidSession(
  p: OpenProviderSessionParameters & { service?: Service; onChange: () => void; onSession?: (s: PayerSessionState) => void },
): Promise<PaidSession> {
  const fetchFn = p.fetch ?? globalThis.fetch;
  const now = p.now ?? Date.now;
  const requestTimeoutMs = p.requestTimeoutMs ?? 10_000;
  const { listing } = p;
  const base = listing.endpoint.replace(/\/+$/, "");

  const call = async (path: string, init: RequestInit & { signal?: AbortSignal | undefined }): Promise<Response> => {
    try {
      return await fetchFn(`${base}${path}`, init);
    } catch (cause) {
      // Our own abort (the caller's signal or a timeout) is not a provider failure: keep its reason.
      if (init.signal?.aborted) throw init.signal.reason ?? cause;
      throw new ProviderRequestError({ provider: listing.provider, url: `${base}${path}`, reason: connectionReason(cause), cause });
    }
  };
  const exchange = async <T>(path: string, init: RequestInit & { signal?: AbortSignal | undefined }, read: (res: Response) => Promise<T>): Promise<T> => {
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const failed = (reason: string, cause?: unknown, malformed = false) => new ProviderRequestError({ provider: listing.provider, url: `${base}${path}`, reason, cause, malformed });
    try {
      return await read(await call(path, { ...init, signal }));
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      if (timeout.aborted) throw failed(`no answer within ${requestTimeoutMs} ms`, error);
      if (error instanceof SyntaxError || error instanceof WireFormatError) throw failed(`malformed answer (${error instanceof WireFormatError ? error.shortMessage : error.message})`, error, true);
      // A body cut short (undici and createHttpFetch say TypeError "terminated").
      if (error instanceof TypeError && error.message === "terminated") throw failed(`the answer broke off (${connectionReason(error)})`, error);
      throw error;
    }
  };
  const fail = async (res: Response, path: string): Promise<never> => {
    let name: string | undefined;
    let message = `HTTP ${res.status}`;
    try {
      const body = parseWireError(await res.json());
      name = body.error;
      message = `${body.error}: ${body.message}`;
    } catch {
      // Not our JSON error shape: the status is all there is.
    }
    throw new ProviderRequestError({ provider: listing.provider, url: `${base}${path}`, status: res.status, ...(name ? { errorName: name } : {}), reason: message });
  };

  const offer = await exchange("/offer", { signal: p.signal }, async (res) => {
    if (!res.ok) await fail(res, "/offer");
    return parseOffer(await res.json());
  });
  const mismatch = (field: string, offered: unknown, expected: unknown) =>
    new OfferMismatchError({ provider: listing.provider, endpoint: base, field, offered: String(offered), expected: String(expected) });
  if (offer.recipient.toLowerCase() !== listing.provider.toLowerCase()) throw mismatch("recipient", offer.recipient, listing.provider);
  if (offer.pricePerGiB !== listing.pricePerGiB) throw mismatch("pricePerGiB", offer.pricePerGiB, listing.pricePerGiB);
  if (offer.chainId !== p.chainId) throw mismatch("chainId", offer.chainId, p.chainId);
  if (offer.broker.toLowerCase() !== p.broker.toLowerCase()) throw mismatch("broker", offer.broker, p.broker);
  // Version 1 nodes authenticate requests by the sessionId, which is public once a ticket of the
  // session is redeemed: anyone could spend our credit window there. We speak only version 2+.
  if (offer.version < WIRE_VERSION) throw mismatch("version", offer.version, `>= ${WIRE_VERSION}`);
  // A ticket's expected value must be the listed price of bytesPerTicket bytes (rounded up, in the
  // provider's favour, by at most a wei): otherwise every ticket would overpay, whatever the listing.
  const fairEv = (offer.pricePerGiB * offer.bytesPerTicket + GIB - 1n) / GIB;
  if (offer.bytesPerTicket <= 0n || offer.creditWindowBytes <= 0n) throw mismatch("bytesPerTicket/creditWindowBytes", `${offer.bytesPerTicket}/${offer.creditWindowBytes}`, "> 0");
  if ((offer.faceValue * offer.winProb) >> 256n > fairEv + 1n) {
    throw mismatch("ticket expected value", (offer.faceValue * offer.winProb) >> 256n, `${fairEv} (price of ${offer.bytesPerTicket} bytes)`);
  }

  // The node opens a session only for a request the sender signed, bound to this provider and
  // fresh (payments.md §1.2): nobody else can open sessions that eat our credit window.
  const message: SessionRequestMessage = {
    sender: p.sender,
    recipient: offer.recipient,
    timestamp: BigInt(Math.floor(now() / 1000)),
    clientNonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = await p.signSession(message);
  const body = serializeSessionRequest({ sender: p.sender, timestamp: message.timestamp, clientNonce: message.clientNonce, signature, ...(p.service ? { service: p.service } : {}) });
  const opened = await exchange("/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: p.signal }, async (res) => {
    if (res.status === 402) {
      const body = parseWireError(await res.json());
      throw new DepositTooLowError({ provider: listing.provider, message: body.message });
    }
    if (res.status !== 201 && res.status !== 200) await fail(res, "/sessions");
    return parseOpenedSession(await res.json());
  });
  // The secret that authenticates our requests (X-Bandmint-Session). Kept in this closure only:
  // not on the returned object, not in tickets, never logged; the sessionId is public.
  const { sessionToken: token, ...first } = opened;
  const session: Session = first;
  // The session's terms must be the offer's (and so the listing's): the tickets we sign carry them.
  if (session.pricePerGiB !== offer.pricePerGiB) throw mismatch("session pricePerGiB", session.pricePerGiB, offer.pricePerGiB);
  if (session.faceValue !== offer.faceValue || session.winProb !== offer.winProb) throw mismatch("session faceValue/winProb", `${session.faceValue}/${session.winProb}`, `${offer.faceValue}/${offer.winProb}`);
  if (session.recipient.toLowerCase() !== listing.provider.toLowerCase()) throw mismatch("session recipient", session.recipient, listing.provider);
  if (session.sender.toLowerCase() !== p.sender.toLowerCase()) throw mismatch("session sender", session.sender, p.sender);
  if (session.service !== (p.service ?? "cdn")) throw mismatch("session service", session.service, p.service ?? "cdn");
  // A new session has served and been paid nothing: counters the node made up would have our
  // tickets acknowledge bytes that never came.
  if (session.servedBytes !== 0n || session.paidBytes !== 0n) throw mismatch("new session servedBytes/paidBytes", `${session.servedBytes}/${session.paidBytes}`, "0/0");

  const sessionId = session.sessionId;
  const readSession = async (signal?: AbortSignal): Promise<Session> => {
    const path = `/sessions/${sessionId}`;
    return exchange(path, { headers: { [SESSION_HEADER]: token }, signal }, async (res) => {
      if (!res.ok) await fail(res, path);
      return parseSession(await res.json());
    });
  };
  const stateOf = (s: Session): PayerSessionState => ({ paidBytes: s.paidBytes, nextNonce: s.nextNonce, recipientRandHash: s.recipientRandHash, servedBytes: s.servedBytes });
  const ticketsPath = `/sessions/${sessionId}/tickets`;
  const payer = createTicketPayer({
    terms: { recipient: session.recipient, sender: p.sender, faceValue: session.faceValue, winProb: session.winProb, sessionId, bytesPerTicket: session.bytesPerTicket, ticketExpirySeconds: offer.ticketExpirySeconds },
    start: { paidBytes: session.paidBytes, nextNonce: session.nextNonce, recipientRandHash: session.recipientRandHash },
    sign: p.sign,
    async post(payments) {
      // Idempotent whatever the method (payments.md §2): the node never takes the same tickets
      // twice, so a batch whose kept-alive socket was dropped as it was reused is sent again
      // (`idempotent`, see HttpFetchInit in createHttpFetch.ts).
      const init = { method: "POST", headers: { "content-type": "application/json", [SESSION_HEADER]: token }, body: JSON.stringify({ tickets: payments.map(serializeTicketPayment) }), idempotent: true };
      const state = await exchange(ticketsPath, init, async (res) => {
        if (!res.ok) await fail(res, ticketsPath);
        return stateOf(parseTicketBatchResult(await res.json()).session);
      });
      p.onSession?.(state);
      return state;
    },
    async read() {
      const state = stateOf(await readSession());
      p.onSession?.(state);
      return state;
    },
    // No retry helps: the deposit is short, or the node no longer knows this session or its token.
    isFatal: (e) => e instanceof ProviderRequestError && (e.errorName === "InsufficientFundsError" || e.status === 401 || e.status === 404),
    // A node that answers a ticket POST outside the protocol is broken or hostile: learn what it
    // holds, then stop (the session is dropped and the client says why).
    isFinal: (e) => e instanceof ProviderRequestError && e.malformed,
    // "Not now": the chain is unreachable (503) or the node's disk is full (507). Paid when it recovers.
    isTransient: (e) => e instanceof ProviderRequestError && (e.status === 503 || e.status === 507),
    onChange: p.onChange,
    now,
  });

  return { listing, offer, session, sessionId, token, payer, call, exchange, fail, readSession };
}

/** A short reason for a failed connection or a body that broke off (undici hides it in `cause`). */
export function connectionReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? "connection failed";
}
