import { toHex, type Address, type Hex } from "viem";
import type { SessionRequestMessage } from "../protocol/sessionRequest.ts";
import type { Ticket } from "../protocol/ticket.ts";
import {
  encodeTicketHeader,
  MAX_TICKETS_PER_BATCH,
  NEXT_NONCE_HEADER,
  PAID_BYTES_HEADER,
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
  TICKET_HEADER,
  WIRE_VERSION,
  type Offer,
  type Session,
  type TicketPayment,
} from "../protocol/wire.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { CreditExhaustedError, DepositTooLowError, OfferMismatchError, ProviderRequestError, ProviderTimeoutError } from "./errors.ts";

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
  /** Bytes covered by signed tickets. */
  acknowledgedBytes: bigint;
  /** Bytes verified but not yet covered by a ticket (paid on the next request or at settle). */
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
 * Tickets are signed lazily, when a request is about to carry them, so that they always use the
 * session's current nonce and recipientRandHash. Requests that carry tickets pass through a lane
 * one at a time until their response headers arrive: the node processes header tickets in arrival
 * order and refuses a nonce below one it has seen, so two requests racing with nonces 5 and 6 could
 * otherwise refuse each other. Requests without tickets do not wait.
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
  const bytesPerTicket = session.bytesPerTicket;
  const window = session.creditWindowBytes;
  const ticketEv = (session.faceValue * session.winProb) >> 256n;
  let nonce = session.nextNonce;
  let randHash = session.recipientRandHash;
  /** Bytes the node has sent or is sending us in this session, as far as we know (conservative). */
  let requested = session.servedBytes;
  /** Bytes verified and so payable. */
  let verified = session.paidBytes;
  /** cumulativeBytes of the last ticket the node confirmed (paidBytes). */
  let confirmed = session.paidBytes;
  let ticketsSigned = 0;
  let expectedValue = 0n;
  let needsResync = false;
  let lane: Promise<void> = Promise.resolve();
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
  let inFlight = 0;

  const signTickets = async (upTo: bigint, max: number): Promise<{ payments: TicketPayment[]; covered: bigint }> => {
    const payments: TicketPayment[] = [];
    let covered = confirmed;
    const expiry = BigInt(Math.floor(now() / 1000)) + BigInt(offer.ticketExpirySeconds);
    while (covered < upTo && payments.length < max) {
      const step = upTo - covered < bytesPerTicket ? upTo - covered : bytesPerTicket;
      covered += step;
      const ticket: Ticket = {
        recipient: session.recipient,
        sender: p.sender,
        faceValue: session.faceValue,
        winProb: session.winProb,
        senderNonce: nonce + BigInt(payments.length),
        recipientRandHash: randHash,
        expiry,
        sessionId,
        cumulativeBytes: covered,
      };
      payments.push({ ticket, signature: await p.sign(ticket) });
    }
    return { payments, covered };
  };
  const accept = (payments: TicketPayment[], covered: bigint) => {
    if (payments.length === 0) return;
    nonce += BigInt(payments.length);
    ticketsSigned += payments.length;
    expectedValue += ticketEv * BigInt(payments.length);
    if (covered > confirmed) confirmed = covered;
  };
  const resync = async (signal?: AbortSignal) => {
    const res = await call(`/sessions/${sessionId}`, { headers: { [SESSION_HEADER]: token }, signal });
    if (!res.ok) await fail(res, `/sessions/${sessionId}`);
    session = parseSession(await res.json());
    nonce = session.nextNonce;
    randHash = session.recipientRandHash;
    confirmed = session.paidBytes;
    // The node's servedBytes includes responses that broke off mid-body; trust it over our count.
    requested = session.servedBytes;
    needsResync = false;
  };
  const withLane = async <T>(f: () => Promise<T>): Promise<T> => {
    const previous = lane;
    let release!: () => void;
    lane = new Promise((r) => (release = r));
    await previous;
    try {
      return await f();
    } finally {
      release();
    }
  };
  const readHeaders = (res: Response) => {
    const paid = res.headers.get(PAID_BYTES_HEADER);
    if (paid !== null && /^\d+$/.test(paid) && BigInt(paid) > confirmed) confirmed = BigInt(paid);
    const next = res.headers.get(NEXT_NONCE_HEADER);
    if (next !== null && /^\d+$/.test(next) && BigInt(next) > nonce) nonce = BigInt(next);
    const rand = res.headers.get(RECIPIENT_RAND_HASH_HEADER);
    if (rand !== null && /^0x[0-9a-fA-F]{64}$/.test(rand)) randHash = rand.toLowerCase() as Hex;
  };

  const fetchRange = async (r: RangeRequest): Promise<{ data: Buffer; elapsedMs: number }> => {
    const n = r.end - r.start;
    if (n > window) throw new RangeError(`a request of ${n} bytes exceeds the credit window ${window}`);
    const path = `/c/${r.contentId}/${r.path.split("/").map(encodeURIComponent).join("/")}`;
    const url = `${base}${path}`;
    inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 4) throw new CreditExhaustedError({ provider: listing.provider, reason: "the node kept refusing our payments" });
        const payUpTo = await awaitCredit(n, r.signal);
        // The timer starts once we may send: waiting for our own credit is not the provider's fault.
        const started = now();
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new ProviderTimeoutError({ provider: listing.provider, url, timeoutMs: r.timeoutMs })), r.timeoutMs);
        const signal = r.signal ? AbortSignal.any([r.signal, controller.signal]) : controller.signal;
        try {
          const carry = payUpTo > confirmed;
          let payments: TicketPayment[] = [];
          let covered = confirmed;
          const send = async (): Promise<Response> => {
            const headers: Record<string, string> = { range: `bytes=${r.start}-${r.end - 1n}`, [SESSION_HEADER]: token };
            if (carry) {
              ({ payments, covered } = await signTickets(payUpTo, 8));
              if (payments.length > 0) headers[TICKET_HEADER] = encodeTicketHeader(payments);
            }
            requested += n;
            let res: Response;
            try {
              res = await call(path, { headers, signal });
            } catch (error) {
              // A carrier that broke off leaves its tickets' fate unknown: ask the node before the next one.
              if (carry) needsResync = true;
              throw error;
            }
            if (res.ok) {
              accept(payments, covered);
              readHeaders(res);
              changed();
            } else {
              requested -= n;
            }
            return res;
          };
          const res = carry ? await withLane(send) : await send();
          if (res.status === 206 || res.status === 200) {
            const data = Buffer.from(await res.arrayBuffer());
            if (BigInt(data.length) !== n) {
              throw new ProviderRequestError({ provider: listing.provider, url, status: res.status, reason: `expected ${n} bytes, got ${data.length}` });
            }
            const elapsedMs = now() - started;
            r.verify(data);
            verified += n;
            return { data, elapsedMs };
          }
          const body = await readError(res);
          if (res.status === 402 && body.errorName === "PaymentRequiredError" && body.details !== undefined) {
            const d = parsePaymentRequiredDetails(body.details);
            if (d.paidBytes > confirmed) confirmed = d.paidBytes;
            requested = d.servedBytes + d.inFlightBytes;
            randHash = d.recipientRandHash;
            if (d.nextNonce > nonce) nonce = d.nextNonce;
            continue;
          }
          if (res.status === 402 && body.errorName === "InsufficientFundsError") throw new DepositTooLowError({ provider: listing.provider, message: body.message });
          if (res.status === 409 && body.errorName !== undefined && /Nonce|Acknowledges|StaleRecipientRand|SessionMismatch/.test(body.errorName)) {
            await withLane(() => resync(r.signal));
            continue;
          }
          throw new ProviderRequestError({ provider: listing.provider, url, status: res.status, ...(body.errorName ? { errorName: body.errorName } : {}), reason: body.message });
        } catch (error) {
          if (controller.signal.aborted && !(r.signal?.aborted ?? false)) throw controller.signal.reason;
          throw error;
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      inFlight--;
      changed();
    }
  };

  /**
   * Waits until the credit window admits `n` more bytes; resolves with the cumulative bytes the
   * request should pay up to. Full tickets ride along whenever there are some; a partial tail
   * ticket (which overpays a little) only when credit is what blocks the request.
   */
  const awaitCredit = async (n: bigint, signal: AbortSignal | undefined): Promise<bigint> => {
    let resynced = false;
    for (;;) {
      signal?.throwIfAborted();
      if (needsResync) {
        await withLane(() => resync(signal));
        resynced = true;
      }
      const full = confirmed + ((verified - confirmed) / bytesPerTicket) * bytesPerTicket;
      if (requested - full + n <= window) return full;
      if (requested - verified + n <= window) return verified;
      // Responses in flight will be verified and so become payable: wait for them.
      if (inFlight > 1) {
        await nextChange(signal);
        continue;
      }
      // Nothing else is coming; our count may be stale (a response that broke off counts only its
      // written bytes at the node). Ask once, then give up: unverified bytes we will never pay for
      // hold the rest of the window.
      if (!resynced) {
        needsResync = true;
        continue;
      }
      throw new CreditExhaustedError({ provider: listing.provider, reason: `${requested - verified} bytes served in this session failed or were never verified` });
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
      await withLane(async () => {
        if (needsResync) await resync(signal);
        while (verified > confirmed) {
          const { payments, covered } = await signTickets(verified, MAX_TICKETS_PER_BATCH);
          const path = `/sessions/${sessionId}/tickets`;
          const res = await call(path, {
            method: "POST",
            headers: { "content-type": "application/json", [SESSION_HEADER]: token },
            body: JSON.stringify({ tickets: payments.map(serializeTicketPayment) }),
            signal,
          });
          if (!res.ok) await fail(res, path);
          const result = parseTicketBatchResult(await res.json());
          accept(payments, covered);
          if (result.session.paidBytes > confirmed) confirmed = result.session.paidBytes;
        }
      });
    },
    payments: () => ({ tickets: ticketsSigned, expectedValue, acknowledgedBytes: confirmed, unacknowledgedBytes: verified - confirmed }),
  };
}

/** A short reason for a failed connection (undici hides it in `cause`). */
function connectionReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? "connection failed";
}
