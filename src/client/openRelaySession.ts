import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as netConnect, Socket } from "node:net";
import { Writable, type Readable } from "node:stream";
import type { Hex } from "viem";
import { parseWireError, type Offer } from "../protocol/wire.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { DepositTooLowError, ProviderRequestError, RelayOverReportError, RelayRefusedError } from "./errors.ts";
import { createChangeSignal } from "./changeSignal.ts";
import { pumpMetered, type TunnelMeter } from "../http/pumpMetered.ts";
import { createReadBufferPool, reusedReads, type ReusedReads } from "../http/reusedReads.ts";
import { openPaidSession, type OpenProviderSessionParameters, type SessionPayments } from "./openPaidSession.ts";

/** A relay session with one provider: tunnels through its node, paid for the bytes they move. */
export type RelaySession = {
  readonly listing: ProviderListing;
  readonly offer: Offer;
  readonly sessionId: Hex;
  /**
   * Opens a tunnel to `host:port` through the node (`CONNECT`); resolves with the socket once the
   * node answered 200. Move bytes through it with `pipe` (which counts them), not by hand.
   */
  connect(host: string, port: number, signal?: AbortSignal): Promise<Socket>;
  /**
   * Forwards a plain-HTTP request (absolute-form `url`) through the node and resolves with the
   * response head; bodies go through `pipe` as well (the node meters bodies, not heads).
   */
  request(method: string, url: string, headers: OutgoingHttpHeaders, signal?: AbortSignal): Promise<{ upstream: Writable; response: Promise<IncomingMessage> }>;
  /**
   * Copies `from` into `to` and counts every byte for payment (docs/protocol/relay.md §4: the
   * consumer pays for what it saw move, both ways). Resolves when `from` ended and `to` was ended
   * (and finished); rejects when either side fails or closes first.
   *
   * `to` may also be a function that takes each chunk: the chunk is valid only during the call
   * (copy what you keep). From a tunnel of `connect` into a socket or such a function, bytes move
   * without a copy or an allocation per read (a tunnel reads into pooled buffers).
   */
  pipe(from: Readable, to: Writable | ((chunk: Buffer) => void)): Promise<void>;
  /** Pays every counted byte not yet paid (a last, possibly partial ticket). */
  settle(signal?: AbortSignal): Promise<void>;
  payments(): SessionPayments & { movedBytes: bigint; nodeServedBytes: bigint };
  /** Why this session stopped being usable (the node over-reported, refused our tickets...), if it did. */
  readonly failure: unknown;
};

/**
 * Opens a relay session (`service: "relay"`) with a provider whose offer lists "relay".
 *
 * Payment: the session counts the bytes that moved through its tunnels in both directions (`own`)
 * and acknowledges `min(own, nodeServed + creditWindow)` in tickets of bytesPerTicket: never a byte
 * more than it saw, and never more than the node may accept (it meters uploads only when it reads
 * them, so our count can run ahead of its meter by what is still on the wire). Every ticket POST
 * returns what the node counted; an honest node never counts more than `own + creditWindow`
 * (it serves at most a window beyond what we paid, and we paid at most `own`), so a node that does
 * is over-reporting: the session fails with RelayOverReportError and pays nothing more.
 */
export async function openRelaySession(p: OpenProviderSessionParameters): Promise<RelaySession> {
  const change = createChangeSignal();
  let own = 0n;
  let nodeServed = 0n;
  let failure: unknown;
  const paid = await openPaidSession({
    ...p,
    service: "relay",
    onChange: change.notify,
    onSession: (s) => {
      if (s.servedBytes !== undefined) observeServed(s.servedBytes);
    },
  });
  const { listing, offer, session, sessionId, token, payer } = paid;
  const window = session.creditWindowBytes;
  nodeServed = session.servedBytes;
  own = session.paidBytes;
  const ticketEv = (session.faceValue * session.winProb) >> 256n;
  const endpoint = new URL(listing.endpoint);
  /** The node's address for sockets and requests (a URL's IPv6 host comes bracketed). */
  const nodeHost = endpoint.hostname.replace(/^\[|\]$/g, "");
  const nodePort = Number(endpoint.port || (endpoint.protocol === "https:" ? 443 : 80));
  const send = endpoint.protocol === "https:" ? httpsRequest : httpRequest;
  const proxyAuthorization = `Bearer ${token}`;

  /** Takes the node's count; one more than a window beyond ours is over-reporting (see above). */
  const observeServed = (served: bigint) => {
    if (served <= nodeServed) return;
    nodeServed = served;
    if (nodeServed > own + window && failure === undefined) {
      failure = new RelayOverReportError({ provider: listing.provider, nodeServedBytes: nodeServed, movedBytes: own, creditWindowBytes: window });
    }
    acknowledge();
  };
  let refreshing = false;
  const acknowledge = () => {
    if (failure !== undefined) return;
    const cap = nodeServed + window;
    payer.acknowledge(own < cap ? own : cap);
    if (own > cap && !refreshing) void refresh();
  };
  /**
   * Our count is more than a window ahead of the last servedBytes the node reported: those bytes
   * are on their way to its meter (uploads), and it may be stalled at the window waiting for a
   * ticket we may not sign yet. Ask where it stands (GET /sessions/<id>) until the cap lifts.
   */
  const refresh = async () => {
    refreshing = true;
    try {
      while (failure === undefined && payer.failure === undefined && own > nodeServed + window) {
        const before = nodeServed;
        // A ticket POST in flight brings the node's count with its answer: wait for it instead.
        const s = payer.busy ? undefined : await paid.readSession().catch(() => undefined);
        if (s !== undefined && s.servedBytes > before) observeServed(s.servedBytes);
        else await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      refreshing = false;
    }
  };
  const payerFailure = () => {
    const f = payer.failure;
    if (f instanceof ProviderRequestError && f.errorName === "InsufficientFundsError") return new DepositTooLowError({ provider: listing.provider, message: f.shortMessage });
    return f;
  };

  /** The node's refusal of a CONNECT or a forwarded request, as a typed error. */
  const refusal = async (res: IncomingMessage, body: Promise<Buffer>, target: string): Promise<RelayRefusedError> => {
    let errorName: string | undefined;
    let message = `HTTP ${res.statusCode}`;
    try {
      const e = parseWireError(JSON.parse((await body).toString("utf8")));
      errorName = e.error;
      message = e.message;
    } catch {
      // Not our JSON error shape: the status is all there is.
    }
    const reason = res.headers["x-bandmint-refusal"];
    return new RelayRefusedError({
      provider: listing.provider, target, status: res.statusCode ?? 0, message,
      ...(errorName ? { errorName } : {}), ...(typeof reason === "string" ? { reason } : {}),
    });
  };
  const readAll = (s: Readable, first?: Buffer): Promise<Buffer> =>
    new Promise((resolve) => {
      const parts: Buffer[] = first && first.length > 0 ? [first] : [];
      let size = parts[0]?.length ?? 0;
      s.on("data", (c: Buffer) => {
        if ((size += c.length) <= 65_536) parts.push(c);
      });
      s.once("end", () => resolve(Buffer.concat(parts)));
      s.once("close", () => resolve(Buffer.concat(parts)));
      s.once("error", () => resolve(Buffer.concat(parts)));
    });
  // Tunnels read into pooled buffers (src/http/reusedReads.ts: a Buffer per read made V8 collect
  // its whole heap every few dozen MiB). Until `pipe` attaches, reads are copied into the
  // socket's own stream, so the socket works as an ordinary Readable (and node:http parses the
  // CONNECT answer from it).
  const readBuffers = createReadBufferPool();
  const tunnelReads = new WeakMap<Readable, ReusedReads>();
  /**
   * The socket of a CONNECT to a plain-HTTP node: half-open (each direction of a tunnel ends on
   * its own, as on the node), reading into `readBuffers`. (TLS sockets read as usual.)
   */
  const tunnelSocket =
    endpoint.protocol === "https:"
      ? undefined
      : (): Socket => {
          let socket: Socket | undefined;
          const reads = reusedReads(readBuffers, (copy) => socket!.push(copy));
          socket = netConnect({ host: nodeHost, port: nodePort, allowHalfOpen: true, onread: reads.onread });
          tunnelReads.set(socket, reads);
          return socket;
        };
  /** Counts what moves (both ways) and admits all of it: the consumer is not the one metering. */
  const counter: TunnelMeter = {
    admit(n) {
      own += BigInt(n);
      acknowledge();
      return n;
    },
    settle() {},
    waitCredit: () => Promise.reject(new Error("a consumer's count admits every byte")),
  };
  const connectionFailed = (cause: unknown, target: string) =>
    new ProviderRequestError({ provider: listing.provider, url: `${listing.endpoint} CONNECT ${target}`, reason: (cause as { code?: string }).code ?? (cause as Error).message, cause });

  return {
    listing,
    offer,
    sessionId,
    connect(host, port, signal) {
      const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      if (failure !== undefined) return Promise.reject(failure);
      if (payer.failure !== undefined) return Promise.reject(payerFailure());
      return new Promise<Socket>((resolve, reject) => {
        const req = send({
          host: nodeHost, port: nodePort,
          method: "CONNECT", path: target, headers: { host: target, "proxy-authorization": proxyAuthorization },
          ...(tunnelSocket ? { createConnection: tunnelSocket } : { agent: false }),
          ...(signal ? { signal } : {}),
        });
        req.once("connect", (res, socket, head) => {
          if (res.statusCode === 200) {
            if (head.length > 0) socket.unshift(head);
            return resolve(socket);
          }
          // The refusal's body, then the socket goes (it is half-open: the node's end does not close it).
          const body = readAll(socket, head);
          void body.finally(() => socket.destroy());
          refusal(res, body, target).then(reject, reject);
        });
        // A node that answers a CONNECT with a plain response (no upgrade) lands here.
        req.once("response", (res) => refusal(res, readAll(res), target).then(reject, reject));
        req.once("error", (cause) => reject(signal?.aborted ? signal.reason : connectionFailed(cause, target)));
        req.end();
      });
    },
    async request(method, url, headers, signal) {
      if (failure !== undefined) throw failure;
      if (payer.failure !== undefined) throw payerFailure();
      const req = send({
        host: nodeHost, port: nodePort,
        method, path: url, headers: { ...headers, "proxy-authorization": proxyAuthorization }, agent: false, ...(signal ? { signal } : {}),
      });
      const response = new Promise<IncomingMessage>((resolve, reject) => {
        req.once("response", (res) => {
          if (res.headers["x-bandmint-refusal"] !== undefined || res.statusCode === 407) return void refusal(res, readAll(res), url).then(reject, reject);
          resolve(res);
        });
        req.once("error", (cause) => reject(signal?.aborted ? signal.reason : connectionFailed(cause, url)));
      });
      response.catch(() => {});
      return { upstream: req, response };
    },
    pipe(from, to) {
      const sink = typeof to === "function" ? new Writable({ write: (chunk: Buffer, _e, done) => (to(chunk), done()) }) : to;
      // Pooled reads only into what is done with a chunk when its write completes: a socket, or
      // the function's contract. Any other Writable may keep the chunk (it then gets a copy).
      const reads = typeof to === "function" || to instanceof Socket ? tunnelReads.get(from) : undefined;
      return pumpMetered(from, sink, counter, undefined, reads && withBuffered(from, reads));
    },
    async settle(signal) {
      if (failure !== undefined) return;
      payer.acknowledgeAll(own < nodeServed + window ? own : nodeServed + window);
      await payer.drain(() => change.next(signal));
    },
    payments: () => ({
      tickets: payer.accepted,
      expectedValue: ticketEv * BigInt(payer.accepted),
      acknowledgedBytes: payer.confirmed,
      unacknowledgedBytes: own > payer.confirmed ? own - payer.confirmed : 0n,
      movedBytes: own,
      nodeServedBytes: nodeServed,
    }),
    get failure() {
      return failure ?? payer.failure;
    },
  };
}

/**
 * `reads` of a tunnel that was read as a stream before (the CONNECT answer's parser, a caller):
 * what its stream buffered is handed over first, ahead of the pooled reads.
 */
function withBuffered(from: Readable, reads: ReusedReads): ReusedReads {
  return {
    onread: reads.onread,
    attach(sink) {
      const parts: Buffer[] = [];
      for (let chunk: Buffer | null; from.readableLength > 0 && (chunk = from.read() as Buffer | null) !== null; ) parts.push(chunk);
      const { early } = reads.attach(sink);
      if (early !== undefined) parts.push(early);
      return { early: parts.length === 0 ? undefined : Buffer.concat(parts) };
    },
  };
}
