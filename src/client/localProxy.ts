import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { parseConnectTarget } from "../protocol/relayWire.ts";
import { closeServer, listen } from "../http/serverLifecycle.ts";
import { acceptSocks5, SOCKS5_REPLY, type Socks5Reply } from "./acceptSocks5.ts";
import { RelayRefusedError } from "./errors.ts";
import type { RelaySession } from "./openRelaySession.ts";
import type { ClientLogger } from "./providerPool.ts";
import type { RelayPool } from "./relayPool.ts";

/** Options of `createLocalProxy`. */
export type LocalProxyParameters = { pool: RelayPool; logger?: ClientLogger | undefined };

/** Where a started local proxy listens. */
export type LocalProxyAddresses = { httpUrl: string; socksAddress: string | undefined };

/** The consumer's local proxy (`bandmint proxy`): HTTP and SOCKS5 on 127.0.0.1, through paid relays. */
export type LocalProxy = {
  start(o: { port: number; socksPort?: number | undefined }): Promise<LocalProxyAddresses>;
  stop(): Promise<void>;
  /** Connections handled so far, and those refused. */
  stats(): { connections: number; refused: number };
};

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer", "upgrade"]);

/**
 * A forward proxy for the consumer's own applications, bound to 127.0.0.1 (no authentication: only
 * this machine reaches it). `CONNECT` (HTTPS) and SOCKS5 CONNECT open a tunnel through the relay
 * pool; an absolute-form request (plain HTTP) is forwarded through a relay node. Every byte is
 * copied by the relay session's `pipe`, which counts it for payment.
 */
export function createLocalProxy(p: LocalProxyParameters): LocalProxy {
  const { pool } = p;
  let http: Server | undefined;
  let socks: NetServer | undefined;
  const open = new Set<Duplex>();
  let connections = 0;
  let refused = 0;

  const track = (s: Duplex) => {
    open.add(s);
    s.once("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };

  /**
   * Moves bytes both ways through a tunnel (counted), then closes both sides: once both directions
   * are done, so that one failing (the node closed the tunnel after its last bytes) does not cut
   * the other's last bytes still on their way to the app.
   */
  const splice = (session: RelaySession, app: Duplex, tunnel: Socket) => {
    track(tunnel);
    void Promise.allSettled([session.pipe(app, tunnel), session.pipe(tunnel, app)])
      .finally(() => {
        app.destroy();
        tunnel.destroy();
      });
  };

  const failure = (error: unknown): { status: number; body: string; reason: string | undefined } => {
    refused++;
    const message = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
    if (error instanceof RelayRefusedError) return { status: error.status, body: JSON.stringify({ error: error.errorName ?? error.name, message, reason: error.reason }), reason: error.reason };
    const name = (error as Error).name;
    return { status: name === "DepositTooLowError" ? 402 : 502, body: JSON.stringify({ error: name, message }), reason: undefined };
  };

  function onConnect(req: IncomingMessage, app: Duplex, head: Buffer): void {
    connections++;
    track(app);
    void (async () => {
      const { host, port } = parseConnectTarget(req.url ?? "");
      const { socket, session } = await pool.connect(host, port);
      if (app.destroyed) return void socket.destroy();
      app.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) app.unshift(head);
      splice(session, app, socket);
    })().catch((error: unknown) => {
      const f = failure(error);
      if (app.destroyed) return;
      const headers = [`HTTP/1.1 ${f.status} Bandmint Relay`, "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(f.body)}`, "Connection: close"];
      if (f.reason) headers.push(`X-Bandmint-Refusal: ${f.reason}`);
      app.end(`${headers.join("\r\n")}\r\n\r\n${f.body}`);
    });
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "";
    if (!/^http:\/\//i.test(url)) {
      const body = JSON.stringify({ error: "NotAProxyRequestError", message: "This is bandmint's local proxy: set it as your HTTP/HTTPS proxy (e.g. curl -x), do not browse it." });
      res.writeHead(400, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      return void res.end(body);
    }
    connections++;
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    const hasBody = req.headers["content-length"] !== undefined ? req.headers["content-length"] !== "0" : req.headers["transfer-encoding"] !== undefined;
    if (!hasBody) req.resume();
    const controller = new AbortController();
    res.once("close", () => controller.abort());
    void (async () => {
      const { response, session } = await pool.request(req.method ?? "GET", url, headers, hasBody ? req : undefined, controller.signal);
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(response.headers)) if (!HOP_BY_HOP.has(k) && k !== "transfer-encoding" && v !== undefined) out[k] = v;
      res.writeHead(response.statusCode ?? 502, response.statusMessage, out);
      await session.pipe(response, res).catch(() => res.destroy());
    })().catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const f = failure(error);
      res.writeHead(f.status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(f.body), ...(f.reason ? { "X-Bandmint-Refusal": f.reason } : {}) });
      res.end(f.body);
    });
  }

  function onSocks(app: Socket): void {
    track(app);
    void (async () => {
      const request = await acceptSocks5(app);
      connections++;
      try {
        const { socket, session } = await pool.connect(request.host, request.port);
        request.reply(SOCKS5_REPLY.succeeded);
        if (request.head.length > 0) app.unshift(request.head);
        splice(session, app, socket);
      } catch (error) {
        failure(error);
        request.reply(socksReplyFor(error));
        app.end();
      }
    })().catch(() => app.destroy());
  }

  return {
    async start(o) {
      const h = createServer(onRequest);
      h.on("connect", onConnect);
      http = h;
      const httpUrl = await listen(h, "127.0.0.1", o.port);
      let socksAddress: string | undefined;
      if (o.socksPort !== undefined) {
        const s = createNetServer(onSocks);
        socks = s;
        await new Promise<void>((resolve, reject) => {
          s.once("error", reject);
          s.listen(o.socksPort, "127.0.0.1", () => resolve());
        });
        const a = s.address() as { address: string; port: number };
        socksAddress = `${a.address}:${a.port}`;
      }
      return { httpUrl, socksAddress };
    },
    async stop() {
      for (const s of open) s.destroy();
      if (socks !== undefined) await new Promise<void>((resolve) => socks!.close(() => resolve()));
      if (http !== undefined) await closeServer(http);
      http = undefined;
      socks = undefined;
    },
    stats: () => ({ connections, refused }),
  };
}

/** The SOCKS5 reply code (RFC 1928 §6) closest to why the relay could not connect. */
function socksReplyFor(error: unknown): Socks5Reply {
  const reason = error instanceof RelayRefusedError ? error.reason : undefined;
  switch (reason) {
    case "forbidden-address":
    case "port-denied":
    case "destination-denied":
      return SOCKS5_REPLY.notAllowed;
    case "unresolvable":
      return SOCKS5_REPLY.hostUnreachable;
    case "connect-failed":
      return SOCKS5_REPLY.connectionRefused;
    case "connect-timeout":
      return SOCKS5_REPLY.ttlExpired;
    case "bad-target":
    case "bad-host":
      return SOCKS5_REPLY.addressTypeNotSupported;
    default:
      return SOCKS5_REPLY.generalFailure;
  }
}
