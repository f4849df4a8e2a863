import { toHex, type Address, type Hex } from "viem";
import type { SessionRequestMessage } from "../protocol/sessionRequest.ts";
import type { Ticket } from "../protocol/ticket.ts";
import {
  NEXT_NONCE_HEADER,
  parseOffer,
  parseOpenedSession,
  parsePaymentRequiredDetails,
  parseSession,
  parseTicketBatchResult,
  parseWireError,
  RECIPIENT_RAND_HASH_HEADER,
  SESSION_HEADER,
  serializeSessionRequest,
  serializeTicketPayment,
  WIRE_VERSION,
  type Offer,
  type Session,
} from "../protocol/wire.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { CreditExhaustedError, DepositTooLowError, OfferMismatchError, ProviderRequestError, ProviderTimeoutError } from "./errors.ts";
import { createTicketPayer } from "./ticketPayer.ts";

const GIB = 1n << 30n;

/** Signs a ticket for the client's account under the deployment's ticket domain. */
export type SignTicketFn = (ticket: Ticket) => Promise<Hex>;
/** Signs a session request (the proof of owning `sender`) under the deployment's ticket domain. */
export type SignSessionRequestFn = (message: SessionRequestMessage) => Promise<Hex>;

/** Options of `openProviderSession`. */
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

/** A request for bytes [start, end) of a content file. */
export type RangeRequest = {
  contentId: string;
  path: string;
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** Abort the request when no complete body arrived within this many ms of sending it. */
  timeoutMs: number;
  /**
   * Checks the body against the manifest and throws if it is bad. Only bytes that pass are ever
   * acknowledged in a ticket: this is how the client pays for verified bytes and nothing else.
   */
  verify(data: Buffer): void;
  signal?: AbortSignal | undefined;
};

/** A payment session with one provider: fetches ranges within the credit window and pays for verified bytes. */
export type ProviderSession = {
  readonly listing: ProviderListing;
  readonly offer: Offer;
  readonly sessionId: Hex;
  /** Bytes one request may ask for (the credit window). */
  readonly maxRequestBytes: bigint;
  /** Fetches a range (waiting for credit first), verifies it with `request.verify`, and makes it payable. */
  fetchRange(request: RangeRequest): Promise<{ data: Buffer; elapsedMs: number }>;
  /** Fetches the content's manifest JSON through this provider (manifests are free). */
  fetchManifest(contentId: string, signal?: AbortSignal): Promise<unknown>;
  /** Pays for every verified byte not yet paid (a final, possibly partial ticket) with one POST. */
  settle(signal?: AbortSignal): Promise<void>;
  payments(): SessionPayments;
};

/**
 * Opens a payment session with a provider (docs/protocol/payments.md): reads `GET /offer`, refuses
 * it unless recipient, price, chain and broker equal the on-chain listing and the client's
 * deployment, then `POST /sessions`.
 *
 * Data requests never carry tickets: a chunk that verifies is acknowledged at once to the
 * session's payer (ticketPayer.ts), which POSTs tickets in order, one batch in flight. A data
 * request goes out whenever the bytes requested and not yet accepted as paid stay within the
 * credit window, so the window, not the commit latency of a ticket, bounds what is in flight.
 */
export async function openProviderSession(p: OpenProviderSessionParameters): Promise<ProviderSession> {
  const fetchFn = p.fetch ?? globalThis.fetch;
  const now = p.now ?? Date.now;
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

  const offerRes = await call("/offer", { signal: p.signal });
  if (!offerRes.ok) await fail(offerRes, "/offer");
  const offer = parseOffer(await offerRes.json());
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
  const body = serializeSessionRequest({ sender: p.sender, timestamp: message.timestamp, clientNonce: message.clientNonce, signature });
  const sessionRes = await call("/sessions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: p.signal,
  });
  if (sessionRes.status === 402) {
    const body = parseWireError(await sessionRes.json());
    throw new DepositTooLowError({ provider: listing.provider, message: body.message });
  }
  if (sessionRes.status !== 201 && sessionRes.status !== 200) await fail(sessionRes, "/sessions");
  const opened = parseOpenedSession(await sessionRes.json());
  // The secret that authenticates our requests (X-Bandmint-Session). Kept in this closure only:
  // not on the returned object, not in tickets, never logged; the sessionId is public.
  const { sessionToken: token, ...first } = opened;
  let session: Session = first;
  // The session's terms must be the offer's (and so the listing's): the tickets we sign carry them.
  if (session.pricePerGiB !== offer.pricePerGiB) throw mismatch("session pricePerGiB", session.pricePerGiB, offer.pricePerGiB);
  if (session.faceValue !== offer.faceValue || session.winProb !== offer.winProb) throw mismatch("session faceValue/winProb", `${session.faceValue}/${session.winProb}`, `${offer.faceValue}/${offer.winProb}`);
  if (session.recipient.toLowerCase() !== listing.provider.toLowerCase()) throw mismatch("session recipient", session.recipient, listing.provider);
  if (session.sender.toLowerCase() !== p.sender.toLowerCase()) throw mismatch("session sender", session.sender, p.sender);

  const sessionId = session.sessionId;
  const window = session.creditWindowBytes;
  const ticketEv = (session.faceValue * session.winProb) >> 256n;
  /** Bytes the node has sent or is sending us in this session, as far as we know (conservative). */
  let requested = session.servedBytes;
  /** Bytes verified and so payable. */
  let verified = session.paidBytes;
  /** Data requests between their credit check and their end. */
  let inFlight = 0;
  let inFlightBytes = 0n;
  let needsResync = false;
  let waiters: (() => void)[] = [];
  const changed = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const nextChange = (signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });

  const ticketsPath = `/sessions/${sessionId}/tickets`;
  const payer = createTicketPayer({
    terms: { recipient: session.recipient, sender: p.sender, faceValue: session.faceValue, winProb: session.winProb, sessionId, bytesPerTicket: session.bytesPerTicket, ticketExpirySeconds: offer.ticketExpirySeconds },
    start: { paidBytes: session.paidBytes, nextNonce: session.nextNonce, recipientRandHash: session.recipientRandHash },
    sign: p.sign,
    async post(payments) {
      const res = await call(ticketsPath, {
        method: "POST",
        headers: { "content-type": "application/json", [SESSION_HEADER]: token },
        body: JSON.stringify({ tickets: payments.map(serializeTicketPayment) }),
      });
      if (!res.ok) await fail(res, ticketsPath);
      const s = parseTicketBatchResult(await res.json()).session;
      return { paidBytes: s.paidBytes, nextNonce: s.nextNonce, recipientRandHash: s.recipientRandHash };
    },
    async read() {
      const s = await readSession();
      return { paidBytes: s.paidBytes, nextNonce: s.nextNonce, recipientRandHash: s.recipientRandHash };
    },
    // No retry helps: the deposit is short, or the node no longer knows this session or its token.
    isFatal: (e) => e instanceof ProviderRequestError && (e.errorName === "InsufficientFundsError" || e.status === 401 || e.status === 404),
    onChange: changed,
    now,
  });

  const readSession = async (signal?: AbortSignal): Promise<Session> => {
    const path = `/sessions/${sessionId}`;
    const res = await call(path, { headers: { [SESSION_HEADER]: token }, signal });
    if (!res.ok) await fail(res, path);
    return parseSession(await res.json());
  };
  /** Recounts what the node has served us (responses that broke off count only their written bytes). */
  const resync = async (signal?: AbortSignal) => {
    needsResync = false;
    const s = await readSession(signal);
    requested = s.servedBytes + inFlightBytes;
  };
  const readHeaders = (res: Response) => {
    const next = res.headers.get(NEXT_NONCE_HEADER);
    const rand = res.headers.get(RECIPIENT_RAND_HASH_HEADER);
    payer.observe({
      nextNonce: next !== null && /^\d+$/.test(next) ? BigInt(next) : undefined,
      recipientRandHash: rand !== null && /^0x[0-9a-fA-F]{64}$/.test(rand) ? (rand.toLowerCase() as Hex) : undefined,
    });
  };
  const payerFailed = (): never => {
    const f = payer.failure;
    if (f instanceof ProviderRequestError && f.errorName === "InsufficientFundsError") throw new DepositTooLowError({ provider: listing.provider, message: f.shortMessage });
    throw new CreditExhaustedError({ provider: listing.provider, reason: `the node refused our tickets (${(f as Error).message})` });
  };

  /**
   * Waits until the credit window admits `n` more bytes (unpaid = requested - accepted by the
   * node), then counts them as requested and in flight before returning: several requests woken by
   * one change must not all pass on the same figures. While the window is full, the payer's POST
   * or verifications to come will free it; a partial tail ticket (which overpays a little) is
   * signed only when nothing else would.
   */
  const awaitCredit = async (n: bigint, signal: AbortSignal | undefined): Promise<void> => {
    let resynced = false;
    for (;;) {
      signal?.throwIfAborted();
      if (payer.failure !== undefined) payerFailed();
      if (needsResync && inFlight === 0) {
        await resync(signal);
        resynced = true;
      }
      if (requested - payer.confirmed + n <= window) {
        requested += n;
        inFlight++;
        inFlightBytes += n;
        return;
      }
      if (payer.busy || inFlight > 0) {
        await nextChange(signal);
        continue;
      }
      if (verified > payer.signed) {
        payer.acknowledgeAll(verified);
        continue;
      }
      // Nothing is coming; our count may be stale. Ask once, then give up: unverified bytes we
      // will never pay for hold the rest of the window.
      if (!resynced) {
        needsResync = true;
        continue;
      }
      throw new CreditExhaustedError({ provider: listing.provider, reason: `${requested - verified} bytes served in this session failed or were never verified` });
    }
  };

  const fetchRange = async (r: RangeRequest): Promise<{ data: Buffer; elapsedMs: number }> => {
    const n = r.end - r.start;
    if (n > window) throw new RangeError(`a request of ${n} bytes exceeds the credit window ${window}`);
    const path = `/c/${r.contentId}/${r.path.split("/").map(encodeURIComponent).join("/")}`;
    const url = `${base}${path}`;
    let disagreement = "";
    for (let attempt = 0; ; attempt++) {
      if (attempt > 8) throw new CreditExhaustedError({ provider: listing.provider, reason: `the node kept answering 402 within our credit window (${disagreement})` });
      await awaitCredit(n, r.signal);
      // The timer starts once we may send: waiting for our own credit is not the provider's fault.
      const started = now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new ProviderTimeoutError({ provider: listing.provider, url, timeoutMs: r.timeoutMs })), r.timeoutMs);
      const signal = r.signal ? AbortSignal.any([r.signal, controller.signal]) : controller.signal;
      try {
        let res: Response;
        try {
          res = await call(path, { headers: { range: `bytes=${r.start}-${r.end - 1n}`, [SESSION_HEADER]: token }, signal });
        } catch (error) {
          // Admitted or not, half sent or not: only the node knows what it counted.
          needsResync = true;
          throw error;
        }
        if (res.status === 206 || res.status === 200) {
          readHeaders(res);
          let data: Buffer;
          try {
            data = Buffer.from(await res.arrayBuffer());
          } catch (error) {
            needsResync = true;
            throw error;
          }
          if (BigInt(data.length) !== n) {
            throw new ProviderRequestError({ provider: listing.provider, url, status: res.status, reason: `expected ${n} bytes, got ${data.length}` });
          }
          const elapsedMs = now() - started;
          r.verify(data);
          verified += n;
          payer.acknowledge(verified);
          return { data, elapsedMs };
        }
        requested -= n;
        const body = await readError(res);
        if (res.status === 402 && body.errorName === "PaymentRequiredError" && body.details !== undefined) {
          // Our count and the node's disagree (e.g. another session of ours holds unpaid bytes
          // there): wait for the payer, or pay the tail, and ask again.
          const d = parsePaymentRequiredDetails(body.details);
          disagreement = `node: served ${d.servedBytes} + in flight ${d.inFlightBytes} - paid ${d.paidBytes}, at least ${d.minCumulativeBytes} to be paid; we: requested ${requested}, paid ${payer.confirmed}`;
          payer.observe({ recipientRandHash: d.recipientRandHash, nextNonce: d.nextNonce });
          if (payer.busy) await nextChange(r.signal);
          else if (verified > payer.signed) payer.acknowledgeAll(verified);
          else await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
          continue;
        }
        if (res.status === 402 && body.errorName === "InsufficientFundsError") throw new DepositTooLowError({ provider: listing.provider, message: body.message });
        throw new ProviderRequestError({ provider: listing.provider, url, status: res.status, ...(body.errorName ? { errorName: body.errorName } : {}), reason: body.message });
      } catch (error) {
        if (controller.signal.aborted && !(r.signal?.aborted ?? false)) throw controller.signal.reason;
        throw error;
      } finally {
        clearTimeout(timer);
        inFlight--;
        inFlightBytes -= n;
        changed();
      }
    }
  };

  const readError = async (res: Response): Promise<{ errorName?: string; message: string; details?: Record<string, unknown> }> => {
    try {
      const body = parseWireError(await res.json());
      return { errorName: body.error, message: `${body.error}: ${body.message}`, ...(body.details ? { details: body.details } : {}) };
    } catch {
      return { message: `HTTP ${res.status}` };
    }
  };

  return {
    listing,
    offer,
    sessionId,
    maxRequestBytes: window,
    fetchRange,
    async fetchManifest(contentId, signal) {
      const path = `/c/${contentId}/manifest.json`;
      const res = await call(path, { headers: { [SESSION_HEADER]: token }, signal });
      if (!res.ok) await fail(res, path);
      return res.json();
    },
    async settle(signal) {
      // Responses still arriving will be verified (or not) first: pay for what they bring too.
      while (inFlight > 0) await nextChange(signal);
      payer.acknowledgeAll(verified);
      await payer.drain(() => nextChange(signal));
    },
    payments: () => ({
      tickets: payer.accepted,
      expectedValue: ticketEv * BigInt(payer.accepted),
      acknowledgedBytes: payer.confirmed,
      unacknowledgedBytes: verified - payer.confirmed,
    }),
  };
}


/** A short reason for a failed connection (undici hides it in `cause`). */
function connectionReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? "connection failed";
}
