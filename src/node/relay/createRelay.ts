import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { connect as netConnect, Socket } from "node:net";
import type { Duplex, Readable, Writable } from "node:stream";
import type { Address } from "viem";
import { parseAbsoluteProxyUrl, parseConnectTarget, parseProxyAuthorization, PROXY_AUTH_REALM } from "../../protocol/relayWire.ts";
import type { Offer } from "../../protocol/wire.ts";
import { SessionServiceMismatchError } from "../payments/errors.ts";
import { paymentErrorResponse } from "../payments/paymentErrorStatus.ts";
import type { Clock, SessionBook, SessionState } from "../payments/sessionBook.ts";
import type { EgressTarget } from "./egressPolicy.ts";
import {
  DestinationUnresolvableError,
  ProxyAuthError,
  RelayBusyError,
  TunnelLimitError,
  UnpaidTunnelError,
  UpstreamConnectError,
  UpstreamTimeoutError,
  refusalReason,
  type RelayRefusalReason,
  type TunnelCloseReason,
} from "./errors.ts";
import { pumpMetered, type TunnelMeter } from "../../http/pumpMetered.ts";
import { createReadBufferPool, reusedReads, type ReusedReads } from "../../http/reusedReads.ts";
import type { Pacer } from "../limits/createLimits.ts";
import { createKeyedBuckets } from "../limits/keyedBuckets.ts";

/** Operator settings of the relay (node config `relay`; defaults in `defaultRelayOptions`). */
export type RelayOptions = {
  /** How long a tunnel may wait at the credit window for a ticket before it is closed. */
  unpaidGraceMs: number;
  /** Open tunnels one sender may hold. */
  maxTunnelsPerSender: number;
  /** New tunnels one sender may open per minute (token bucket: that many at once, refilled evenly). */
  connectsPerMinutePerSender: number;
  /** Open tunnels the node carries in all (each holds two sockets: mind the file-descriptor limit). */
  maxTunnels: number;
  /** How long the destination has to accept the connection. */
  connectTimeoutMs: number;
  /** A tunnel with no bytes in either direction for this long is closed. */
  idleTimeoutMs: number;
};

/** Defaults of `RelayOptions` (documented in docs/protocol/relay.md §6). */
export const defaultRelayOptions: RelayOptions = {
  unpaidGraceMs: 30_000,
  maxTunnelsPerSender: 64,
  connectsPerMinutePerSender: 600,
  maxTunnels: 1024,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
};

/** Where a relay may connect: `check` resolves once and returns the address to connect to. */
export type EgressCheck = { check(host: string, port: number, signal?: AbortSignal): Promise<EgressTarget> };

/** Dependencies of the relay. */
export type RelayParameters = {
  sessions: SessionBook;
  offer: Pick<Offer, "creditWindowBytes">;
  egress: EgressCheck;
  clock: Clock;
  options?: Partial<RelayOptions>;
  log?: (line: string) => void;
  /** Called with every relayed byte count as it is metered (the node's traffic meter). */
  onServed?: (bytes: number) => void;
  /** The operator's admission check for a new tunnel (src/node/limits): throws LimitReachedError to refuse. */
  admit?: () => void;
  /** The operator's per-byte limits (rate, quota, schedule), shared with delivery; absent when none is set. */
  pacer?: Pacer | undefined;
  /** Called with every refusal (the node's refusal metrics). */
  onRefusal?: (error: unknown) => void;
};

/** Counters of the relay for /status and metrics (bytes live in the sessions). */
export type RelayStats = {
  tunnels: { open: number; opened: number };
  closed: Record<TunnelCloseReason, number>;
  refusals: Partial<Record<RelayRefusalReason, number>>;
  /**
   * Times a tunnel stopped at its sender's credit window until a ticket freed it, and the time
   * tunnels spent stopped (summed over tunnels, ms): how much relaying waits on payments.
   */
  creditWaits: { count: number; ms: number };
};

/** The relay component: mount `handleConnect` on the server's 'connect' event and `handleRequest` before other routes. */
export type Relay = ReturnType<typeof createRelay>;

/** What a tunnel destroys when it closes: its sockets, or the upstream request of a forwarded one. */
type Closable = { destroy(): unknown; on(event: "error", listener: () => void): unknown; setTimeout?(ms: number, listener: () => void): unknown };

/** An open tunnel; `lastActive` is when it last carried a byte (or opened). */
type Tunnel = { session: SessionState; lastActive: number; close(reason: TunnelCloseReason): void };

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * The relay (docs/protocol/relay.md): an HTTP forward proxy for consumers with a paid relay
 * session. `CONNECT host:port` opens an opaque tunnel (TLS stays end to end); an absolute-form
 * request (`GET http://host/path`) is forwarded as plain HTTP. The session token rides in
 * Proxy-Authorization. Every byte either way is metered through the sender's credit window, the
 * same one content requests draw on: a tunnel stops reading when the sender's unpaid bytes reach
 * the window, resumes when a ticket moves paidBytes, and is closed after `unpaidGraceMs` without
 * one. Destinations pass the egress policy first (never the operator's own network).
 */
export function createRelay(p: RelayParameters) {
  const options: RelayOptions = { ...defaultRelayOptions, ...p.options };
  const { sessions, clock } = p;
  const window = p.offer.creditWindowBytes;
  const log = p.log ?? (() => {});
  const bySender = new Map<Address, Set<Tunnel>>();
  /** New tunnels per sender: `connectsPerMinutePerSender` at once, refilled evenly over a minute. */
  const connects = createKeyedBuckets<Address>({ burst: options.connectsPerMinutePerSender, perSecond: options.connectsPerMinutePerSender / 60, clock });
  const all = new Set<Tunnel>();
  const readBuffers = createReadBufferPool();
  let opened = 0;
  const closed: Record<TunnelCloseReason, number> = { done: 0, unpaid: 0, idle: 0, displaced: 0, error: 0, stopped: 0 };
  const refusals: Partial<Record<RelayRefusalReason, number>> = {};
  const creditWaits = { count: 0, ms: 0 };
  let stopped = false;

  /** The relay session named by Proxy-Authorization. */
  function authenticate(headers: IncomingHttpHeaders): SessionState {
    let token;
    try {
      token = parseProxyAuthorization(headers["proxy-authorization"]);
    } catch (cause) {
      throw new ProxyAuthError({ reason: headers["proxy-authorization"] === undefined ? "auth-required" : "auth-invalid", cause });
    }
    const session = sessions.byToken(token);
    if (session === undefined) throw new ProxyAuthError({ reason: "auth-invalid" });
    if (session.service !== "relay") throw new SessionServiceMismatchError({ sessionId: session.id, service: session.service, used: "relay" });
    return session;
  }

  /** Tunnels admitted but not open yet (resolving, connecting), per sender and in all. */
  const pending = new Map<Address, number>();
  let pendingTotal = 0;

  /** Tunnels `sender` holds: open, and admitted but not open yet. */
  const holding = (sender: Address): number => (bySender.get(sender)?.size ?? 0) + (pending.get(sender) ?? 0);

  /**
   * At the node-wide cap, the tunnel a new one of `sender` replaces: the least recently active
   * tunnel of the sender holding the most open tunnels, if that sender holds at least two more
   * than `sender` (so two senders never take tunnels back and forth). Otherwise undefined, and the
   * request is refused. Without this, a few funded senders holding idle tunnels up to their
   * per-sender cap would keep every other consumer out of the relay.
   */
  function displaceable(sender: Address): Tunnel | undefined {
    let heaviest: Set<Tunnel> | undefined;
    for (const set of bySender.values()) if (heaviest === undefined || set.size > heaviest.size) heaviest = set;
    if (heaviest === undefined || heaviest.size < holding(sender) + 2) return undefined;
    let oldest: Tunnel | undefined;
    for (const t of heaviest) if (oldest === undefined || t.lastActive < oldest.lastActive) oldest = t;
    return oldest;
  }

  /**
   * Per-sender and node-wide tunnel limits; takes one connection token from the sender's bucket
   * and holds a slot until the returned release is called (once the tunnel is open, or refused).
   * Tunnels still resolving or connecting count: otherwise a burst of CONNECTs would all pass
   * before the first one opened. At the node-wide cap a sender holding fewer tunnels than the
   * heaviest holder displaces one of its tunnels (`displaceable`).
   */
  function admitTunnel(sender: Address): () => void {
    if (holding(sender) >= options.maxTunnelsPerSender) {
      throw new TunnelLimitError({ reason: "too-many-tunnels", limit: options.maxTunnelsPerSender, retryAfterSeconds: 1 });
    }
    const wait = connects.retryAfterSeconds(sender);
    if (wait > 0) throw new TunnelLimitError({ reason: "rate-limited", limit: options.connectsPerMinutePerSender, retryAfterSeconds: wait });
    if (all.size + pendingTotal >= options.maxTunnels) {
      const victim = displaceable(sender);
      if (victim === undefined) throw new RelayBusyError({ limit: options.maxTunnels });
      victim.close("displaced");
    }
    connects.take(sender);
    pending.set(sender, (pending.get(sender) ?? 0) + 1);
    pendingTotal++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      pendingTotal--;
      const left = (pending.get(sender) ?? 1) - 1;
      if (left === 0) pending.delete(sender);
      else pending.set(sender, left);
    };
  }

  /** Where to connect: the egress policy's checked address (the name is never resolved again). */
  async function checkTarget(host: string, port: number, signal?: AbortSignal): Promise<EgressTarget> {
    try {
      return await p.egress.check(host, port, signal);
    } catch (error) {
      if ((error as { reason?: string }).reason === "unresolvable") throw new DestinationUnresolvableError({ host, cause: error });
      throw error;
    }
  }

  function connectUpstream(target: EgressTarget): Promise<{ socket: Socket; reads: ReusedReads }> {
    return new Promise((resolve, reject) => {
      // Half-open like the consumer's side (node:http servers allow it): each direction ends on its own.
      // Its reads go into the relay's pooled buffers (reusedReads.ts: why).
      const reads = reusedReads(readBuffers);
      const socket = netConnect({ host: target.address, port: target.port, family: target.family, allowHalfOpen: true, onread: reads.onread });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new UpstreamTimeoutError({ host: target.host, port: target.port, timeoutMs: options.connectTimeoutMs }));
      }, options.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve({ socket, reads });
      });
      const onError = (cause: Error) => {
        clearTimeout(timer);
        reject(new UpstreamConnectError({ host: target.host, port: target.port, cause }));
      };
      socket.once("error", onError);
    });
  }

  /** A meter of `tunnel` over its session's sender's credit window; its waits end with the tunnel's signal. */
  function meterFor(tunnel: Tunnel, signal: AbortSignal): TunnelMeter {
    const { session } = tunnel;
    let stalledSince: number | undefined;
    return {
      admit(n) {
        // A session the node let go (idle, or replaced at the sender's session cap) no longer
        // counts in its sender's window: its tunnels end rather than move unmetered bytes.
        if (sessions.get(session.id) !== session) throw new Error(`session ${session.id} was closed`);
        const credit = window - sessions.unpaidBytesOf(session.sender);
        if (credit <= 0n) {
          stalledSince ??= clock.now();
          return 0;
        }
        stalledSince = undefined;
        const k = BigInt(n) < credit ? n : Number(credit);
        session.inFlightBytes += BigInt(k);
        return k;
      },
      settle(admitted, written) {
        session.inFlightBytes -= BigInt(admitted);
        if (written > 0) {
          session.servedBytes += BigInt(written);
          session.lastActive = tunnel.lastActive = clock.now();
          session.dirty = true;
          p.onServed?.(written);
        }
        if (written < admitted) sessions.creditFreed(session.sender);
      },
      async waitCredit() {
        const left = options.unpaidGraceMs - (clock.now() - (stalledSince ?? clock.now()));
        if (left <= 0) throw new UnpaidTunnelError({ graceMs: options.unpaidGraceMs });
        const since = clock.now();
        const woken = await sessions.waitForCredit(session.sender, signal, left);
        creditWaits.count++;
        creditWaits.ms += clock.now() - since;
        if (signal.aborted) throw new Error("tunnel closed");
        if (!woken) throw new UnpaidTunnelError({ graceMs: options.unpaidGraceMs });
      },
    };
  }

  /** Registers a tunnel of `session` over `sockets` (all destroyed when it closes). */
  function openTunnel(session: SessionState, sockets: Closable[]): { tunnel: Tunnel; signal: AbortSignal } {
    const controller = new AbortController();
    const tunnel: Tunnel = {
      session,
      lastActive: clock.now(),
      close(reason) {
        if (controller.signal.aborted) return;
        controller.abort();
        closed[reason]++;
        all.delete(tunnel);
        const set = bySender.get(session.sender);
        set?.delete(tunnel);
        if (set?.size === 0) bySender.delete(session.sender);
        // Cut for want of payment: reset the connections, so that both ends see an error; a plain
        // close would look like the end of the stream and the consumer would take a truncated
        // response for a whole one.
        const cut = reason === "unpaid";
        // Rare and the operator's (or a consumer's support request's) first question: say so.
        if (cut) log(`relay: cut a tunnel of ${session.sender} (session ${session.id}): no ticket for ${options.unpaidGraceMs / 1000} s at the credit window`);
        for (const s of sockets) {
          if (cut && s instanceof Socket && !s.destroyed && !s.connecting) s.resetAndDestroy();
          else s.destroy();
        }
        sessions.creditFreed(session.sender); // wakes this tunnel's own waits, which then end
      },
    };
    opened++;
    all.add(tunnel);
    let set = bySender.get(session.sender);
    if (set === undefined) bySender.set(session.sender, (set = new Set()));
    set.add(tunnel);
    for (const s of sockets) {
      s.setTimeout?.(options.idleTimeoutMs, () => tunnel.close("idle"));
      s.on("error", () => tunnel.close("error"));
    }
    return { tunnel, signal: controller.signal };
  }

  /** Meters `from` into `to`; resolves when done, closes the tunnel if it fails. */
  function pump(tunnel: Tunnel, signal: AbortSignal, from: Readable, to: Writable, reads?: ReusedReads): Promise<boolean> {
    return pumpMetered(from, to, meterFor(tunnel, signal), p.pacer, reads).then(
      () => true,
      (error: unknown) => {
        tunnel.close(error instanceof UnpaidTunnelError ? "unpaid" : signal.aborted ? "stopped" : "error");
        return false;
      },
    );
  }

  function countRefusal(error: unknown): void {
    p.onRefusal?.(error);
    const reason = refusalReason(error);
    if (reason !== undefined) refusals[reason] = (refusals[reason] ?? 0) + 1;
    else if (paymentErrorResponse(error).status === 500) log(`relay: unexpected error ${(error as Error)?.stack ?? String(error)}`);
  }

  /** Answers a CONNECT on the raw socket with an error response and closes it. */
  function refuseSocket(socket: Duplex, error: unknown): void {
    countRefusal(error);
    if (!socket.destroyed) socket.end(socketErrorResponse(error));
  }

  return {
    options,
    /** Handles `CONNECT host:port` (the server's 'connect' event): checks, connects, then meters the tunnel. */
    handleConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on("error", () => socket.destroy());
      void (async () => {
        if (stopped) throw new RelayBusyError({ limit: 0 });
        const session = authenticate(req.headers);
        const { host, port } = parseConnectTarget(req.url ?? "");
        p.admit?.();
        const release = admitTunnel(session.sender);
        let upstream: Socket;
        let reads: ReusedReads;
        let opened: ReturnType<typeof openTunnel>;
        try {
          const target = await checkTarget(host, port);
          if (socket.destroyed) return;
          ({ socket: upstream, reads } = await connectUpstream(target));
          if (socket.destroyed) return void upstream.destroy();
          opened = openTunnel(session, [socket as Socket, upstream]);
        } finally {
          release(); // counted as open from here, or refused
        }
        const { tunnel, signal } = opened;
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        // Bytes the consumer sent right behind its CONNECT (e.g. a TLS ClientHello) go first.
        if (head.length > 0) socket.unshift(head);
        const both = await Promise.all([pump(tunnel, signal, socket, upstream), pump(tunnel, signal, upstream, socket, reads)]);
        if (both[0] && both[1]) tunnel.close("done");
      })().catch((error: unknown) => refuseSocket(socket, error));
    },

    /**
     * Handles an absolute-form request (`GET http://host/path`: plain HTTP through the relay) and
     * returns true; returns false for anything else (the node's own routes).
     */
    handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
      const url = req.url ?? "";
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return false;
      let release = () => {};
      void (async () => {
        if (stopped) throw new RelayBusyError({ limit: 0 });
        const session = authenticate(req.headers);
        const { host, port, path } = parseAbsoluteProxyUrl(url);
        p.admit?.();
        release = admitTunnel(session.sender);
        const target = await checkTarget(host, port);
        const headers: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
        headers.host = port === 80 ? host : `${host}:${port}`;
        headers.connection = "close";
        const upstream = httpRequest({ host: target.address, port: target.port, family: target.family, method: req.method, path, headers, setHost: false, agent: false });
        const response = new Promise<IncomingMessage>((resolve, reject) => {
          const timer = setTimeout(() => {
            upstream.destroy();
            reject(new UpstreamTimeoutError({ host, port, timeoutMs: options.connectTimeoutMs }));
          }, options.connectTimeoutMs);
          upstream.once("socket", (s) => s.once("connect", () => clearTimeout(timer)));
          upstream.once("response", (r) => {
            clearTimeout(timer);
            resolve(r);
          });
          upstream.once("error", (cause) => {
            clearTimeout(timer);
            reject(new UpstreamConnectError({ host, port, cause }));
          });
        });
        response.catch(() => {});
        // The consumer's connection may carry its next request: the tunnel owns only the upstream.
        const { tunnel, signal } = openTunnel(session, [upstream]);
        release(); // counted as open from here (a refusal releases in the catch below)
        res.once("close", () => {
          if (!res.writableFinished) tunnel.close(signal.aborted ? "stopped" : "error");
        });
        // The request body goes up metered while we wait for the response head.
        const up = pump(tunnel, signal, req, upstream);
        let upRes: IncomingMessage;
        try {
          upRes = await response;
        } catch (error) {
          tunnel.close("error");
          throw error;
        }
        const out: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
        const down = await pump(tunnel, signal, upRes, res);
        if (down && (await up)) tunnel.close("done");
      })().catch((error: unknown) => {
        release();
        countRefusal(error);
        if (res.headersSent) return void res.destroy();
        const r = relayErrorResponse(error);
        res.writeHead(r.status, { ...r.headers, "Content-Length": r.body.length });
        res.end(r.body);
      });
      return true;
    },

    /** Counters for /status (open and total tunnels, closes and refusals by reason). */
    stats(): RelayStats {
      return { tunnels: { open: all.size, opened }, closed: { ...closed }, refusals: { ...refusals }, creditWaits: { ...creditWaits } };
    },

    /** Open tunnels of `sender` (tests, limits). */
    tunnelsOf(sender: Address): number {
      return bySender.get(sender)?.size ?? 0;
    },

    /** Refuses new tunnels and closes every open one. */
    stop(): void {
      stopped = true;
      for (const t of [...all]) t.close("stopped");
      log(`relay: stopped (${opened} tunnels carried)`);
    },
  };
}

/**
 * Status, headers and JSON body of a relay refusal: the node's error table, plus the refusal
 * reason in `X-Bandmint-Refusal`, `Proxy-Authenticate` on 407 and `Retry-After` where a retry helps.
 */
export function relayErrorResponse(error: unknown): { status: number; headers: Record<string, string>; body: Buffer } {
  const { status, body } = paymentErrorResponse(error);
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  const reason = refusalReason(error);
  if (reason !== undefined) headers["X-Bandmint-Refusal"] = reason;
  if (status === 407) headers["Proxy-Authenticate"] = `Basic realm="${PROXY_AUTH_REALM}"`;
  const retry = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (retry !== undefined) headers["Retry-After"] = String(retry);
  return { status, headers, body: Buffer.from(JSON.stringify(body)) };
}

/** A whole HTTP/1.1 error response for a raw socket (a refused CONNECT), ending the connection. */
export function socketErrorResponse(error: unknown): Buffer {
  const r = relayErrorResponse(error);
  const head = [`HTTP/1.1 ${r.status} ${statusText(r.status)}`, ...Object.entries({ ...r.headers, "Content-Length": String(r.body.length), Connection: "close" }).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`), r.body]);
}

function statusText(status: number): string {
  return (
    { 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found", 407: "Proxy Authentication Required", 409: "Conflict", 429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" } as Record<number, string>
  )[status] ?? "Error";
}
