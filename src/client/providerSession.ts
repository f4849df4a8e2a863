import type { Hex } from "viem";
import {
  NEXT_NONCE_HEADER,
  parsePaymentRequiredDetails,
  parseWireError,
  RECIPIENT_RAND_HASH_HEADER,
  SESSION_HEADER,
  type Offer,
  type Session,
} from "../protocol/wire.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { CreditExhaustedError, DepositTooLowError, ProviderClaimError, ProviderRequestError, ProviderTimeoutError, TicketRedrawError } from "./errors.ts";
import { createChangeSignal } from "./changeSignal.ts";
import { connectionReason, openPaidSession, type OpenProviderSessionParameters, type SessionPayments } from "./openPaidSession.ts";

export type { OpenProviderSessionParameters, SessionPayments, SignSessionRequestFn, SignTicketFn } from "./openPaidSession.ts";

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
 * Opens a content session with a provider (`openPaidSession`, then content ranges).
 *
 * Data requests never carry tickets: a chunk that verifies is acknowledged at once to the
 * session's payer (ticketPayer.ts), which POSTs tickets in order, one batch in flight. A data
 * request goes out whenever the bytes requested and not yet accepted as paid stay within the
 * credit window, so the window, not the commit latency of a ticket, bounds what is in flight.
 */
export async function openProviderSession(p: OpenProviderSessionParameters): Promise<ProviderSession> {
  const now = p.now ?? Date.now;
  const change = createChangeSignal();
  const changed = change.notify;
  const nextChange = change.next;
  /** Bytes of every range we asked this session for: the most the node can have served us. */
  let asked = 0n;
  /** Set when the node claimed to have served more than that (in any answer): the session is done. */
  let lie: ProviderClaimError | undefined;
  /** The node's servedBytes, unless it is more than we ever asked for (then the node lies). */
  const servedClaim = (servedBytes: bigint): bigint => {
    if (servedBytes > asked) throw (lie ??= new ProviderClaimError({ provider: p.listing.provider, field: "servedBytes", claimed: servedBytes, actual: asked }));
    return servedBytes;
  };
  const { listing, offer, session, sessionId, token, payer, call, exchange, fail, readSession } = await openPaidSession({
    ...p,
    onChange: changed,
    // Every ticket POST answers with the session: a claim checked there is caught at the first payment.
    onSession: (s) => {
      if (s.servedBytes !== undefined && s.servedBytes > asked) {
        lie ??= new ProviderClaimError({ provider: p.listing.provider, field: "servedBytes", claimed: s.servedBytes, actual: asked });
      }
    },
  });
  const base = listing.endpoint.replace(/\/+$/, "");
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
  /** Recounts what the node has served us (responses that broke off count only their written bytes). */
  const resync = async (signal?: AbortSignal) => {
    needsResync = false;
    const s = await readSession(signal);
    requested = servedClaim(s.servedBytes) + inFlightBytes;
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
    // The node lied about what it was paid, or skimmed redraws: the pool must know which.
    if (f instanceof ProviderClaimError || f instanceof TicketRedrawError) throw f;
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
      if (lie !== undefined) throw lie;
      if (payer.failure !== undefined) payerFailed();
      // The node refuses tickets for now (disk full, chain unreachable): its window will not open
      // soon, so another provider gets the chunk; this session's payer keeps trying meanwhile.
      if (payer.stalled && requested - payer.confirmed + n > window) {
        throw new CreditExhaustedError({ provider: listing.provider, reason: "the node is not taking tickets right now (it answers 503 or 507); the bytes we verified are paid when it does" });
      }
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
        asked += n;
        try {
          res = await call(path, { headers: { range: `bytes=${r.start}-${r.end - 1n}`, [SESSION_HEADER]: token }, signal });
        } catch (error) {
          // Admitted or not, half sent or not: only the node knows what it counted.
          needsResync = true;
          throw error;
        }
        if (res.status === 206 || res.status === 200) {
          readHeaders(res);
          // The body must be the range we asked for: refuse any other length before reading a
          // byte of it (a hostile node could announce, or stream, any amount).
          const length = res.headers.get("content-length");
          if (length !== String(n)) {
            needsResync = true;
            controller.abort(
              new ProviderRequestError({ provider: listing.provider, url, status: res.status, reason: length === null ? `expected ${n} bytes, got no Content-Length` : `expected ${n} bytes, got ${length} (Content-Length)` }),
            );
            throw controller.signal.reason;
          }
          let data: Buffer;
          try {
            data = Buffer.from(await res.arrayBuffer());
          } catch (error) {
            needsResync = true;
            if (controller.signal.aborted) throw error; // our timeout: reported below
            throw new ProviderRequestError({ provider: listing.provider, url, status: res.status, reason: `the body broke off after the headers (${connectionReason(error)})`, cause: error });
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
          let d: ReturnType<typeof parsePaymentRequiredDetails>;
          try {
            d = parsePaymentRequiredDetails(body.details);
          } catch (error) {
            throw new ProviderRequestError({ provider: listing.provider, url, status: 402, errorName: "PaymentRequiredError", reason: `malformed 402 details (${(error as Error).message})`, cause: error });
          }
          servedClaim(d.servedBytes);
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
      const text = await exchange(path, { headers: { [SESSION_HEADER]: token }, signal }, async (res) => {
        if (!res.ok) await fail(res, path);
        return res.text();
      });
      // Parsed here, not in the exchange: a manifest that is not JSON is bad data (the pool marks
      // the provider bad), not a failed request.
      return JSON.parse(text) as unknown;
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


