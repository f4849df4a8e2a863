import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listen } from "../../http/serverLifecycle.ts";
import { BaseError } from "../../protocol/errors.ts";
import type { DashboardAsset } from "../../dashboard/assets.ts";
import { isLoopbackHost, tokenMatches } from "./adminToken.ts";

/** A request to the admin API without the token it needs. */
export class AdminAuthError extends BaseError {
  override name = "AdminAuthError";
  static override readonly stackless = true;
  constructor(reason: string) {
    super(`Admin API: ${reason}.`);
  }
}

/** What the admin listener serves: the node's figures and actions (all from src/node/operator). */
export type AdminRoutes = {
  /** GET /api/report: the operator report (JSON, bigints as decimal strings). */
  report(): Promise<unknown>;
  /** GET /api/earnings?from=&to= (unix seconds): earning rows, days and totals. */
  earnings(range: { from?: number | undefined; to?: number | undefined }): Promise<unknown>;
  /** POST /api/rewards/claim: claims every claimable epoch (what `bandmint rewards claim` does). */
  claim(): Promise<unknown>;
  /** POST /api/rewards/withdraw: withdraws the vested rewards (`bandmint rewards withdraw`). */
  withdraw(): Promise<unknown>;
  /** GET /metrics: Prometheus exposition. */
  metrics(): Promise<{ body: string; contentType: string }>;
};

/** Options of the admin listener. */
export type AdminServerOptions = {
  host: string;
  port: number;
  /** Required on every API, metrics and action request when set (Authorization: Bearer <token>). */
  token: string | undefined;
  /** The page and its assets by path (only `get` is used: the node builds them on the first request). */
  assets: Pick<ReadonlyMap<string, DashboardAsset>, "get">;
  routes: AdminRoutes;
  log?: (line: string) => void;
};

// Status of the errors the admin API answers with; anything else is a 500 without internals.
const STATUS: Record<string, number> = {
  AdminAuthError: 401,
  AdminOriginError: 403,
  NothingToClaimError: 409,
  NothingToWithdrawError: 409,
  OperatorTransactionError: 502,
  ChainUnavailableError: 503,
};

const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string | number>): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Cache-Control": "no-store", ...headers, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, error: unknown): void {
  const e = error as { name?: string; shortMessage?: string };
  const status = typeof e?.name === "string" ? STATUS[e.name] : undefined;
  const body = status === undefined ? { error: "InternalError", message: "Internal error." } : { error: e.name, message: e.shortMessage ?? String(error) };
  send(res, status ?? 500, json(body), { "Content-Type": "application/json" });
}

/**
 * The node's admin listener: the dashboard page and its assets, the JSON API the page reads, the
 * reward actions and /metrics, on their own port (127.0.0.1 by default), never on the consumers'.
 *
 * Access: with a token, every API and metrics request must carry it (Authorization: Bearer,
 * compared in constant time); the page and its assets hold no data and load without it (the page
 * takes the token from its URL fragment, which browsers never send). Without a token (loopback
 * only), the Host header must name a loopback address, so a web page cannot reach the API through
 * DNS rebinding. Actions (POST) also need `Content-Type: application/json` and, when the request
 * carries an Origin (every browser sends one on POST), the listener's own origin: another site
 * open in the operator's browser cannot trigger a claim (CSRF).
 */
export function createAdminServer(o: AdminServerOptions) {
  let server: Server | undefined;
  let url = "";

  function authorize(req: IncomingMessage): void {
    if (o.token !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      if (!tokenMatches(o.token, m?.[1])) throw new AdminAuthError("send the admin token as 'Authorization: Bearer <token>'");
      return;
    }
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (!isLoopbackHost(host)) throw new AdminAuthError(`Host ${host || "(none)"} is not a loopback name and no admin token is set`);
  }

  function checkAction(req: IncomingMessage): void {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new AdminOriginError("actions need Content-Type: application/json");
    const origin = req.headers.origin;
    if (origin === undefined) return; // not a browser (the CLI, curl)
    if (origin !== `http://${req.headers.host ?? ""}`) throw new AdminOriginError(`Origin ${origin} is not this listener's`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://admin");
    const path = u.pathname;
    if (req.method === "GET" || req.method === "HEAD") {
      const asset = o.assets.get(path === "/index.html" ? "/" : path);
      if (asset !== undefined) return serveAsset(req, res, asset);
    }
    authorize(req);
    if (req.method === "GET" && path === "/api/report") return send(res, 200, json(await o.routes.report()), { "Content-Type": "application/json" });
    if (req.method === "GET" && path === "/api/earnings") {
      const n = (k: string) => (u.searchParams.has(k) ? Number(u.searchParams.get(k)) : undefined);
      return send(res, 200, json(await o.routes.earnings({ from: n("from"), to: n("to") })), { "Content-Type": "application/json" });
    }
    if (req.method === "GET" && path === "/metrics") {
      const m = await o.routes.metrics();
      return send(res, 200, m.body, { "Content-Type": m.contentType });
    }
    if (req.method === "POST" && (path === "/api/rewards/claim" || path === "/api/rewards/withdraw")) {
      checkAction(req);
      req.resume(); // the body carries nothing
      const result = path.endsWith("claim") ? await o.routes.claim() : await o.routes.withdraw();
      return send(res, 200, json(result), { "Content-Type": "application/json" });
    }
    send(res, 404, json({ error: "RouteNotFoundError", message: `No route ${req.method} ${path}.` }), { "Content-Type": "application/json" });
  }

  function serveAsset(req: IncomingMessage, res: ServerResponse, a: DashboardAsset): void {
    const base = { ...SECURITY_HEADERS, "Content-Type": a.contentType, ETag: a.etag, "Cache-Control": "no-cache", Vary: "Accept-Encoding" };
    if (req.headers["if-none-match"] === a.etag) {
      res.writeHead(304, base);
      return void res.end();
    }
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const body = gzip ? a.gzip : a.body;
    res.writeHead(200, { ...base, ...(gzip ? { "Content-Encoding": "gzip" } : {}), "Content-Length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  return {
    /** Listens (on `port`, default the configured one); resolves with the base URL. */
    async start(port: number = o.port): Promise<string> {
      const s = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
          if (!(error instanceof AdminAuthError) && !(error instanceof AdminOriginError)) o.log?.(`admin: ${req.method} ${req.url?.split("?")[0]}: ${(error as Error).message}`);
          if (res.headersSent) res.destroy();
          else sendError(res, error);
        });
      });
      server = s;
      url = await listen(s, o.host, port);
      return url;
    },
    /** Stops listening and closes connections. */
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      if (s !== undefined) await closeServer(s);
    },
    /** The base URL (after start). */
    get url(): string {
      return url;
    },
  };
}

/** An admin action from another origin, or without a JSON content type (CSRF protection). */
export class AdminOriginError extends BaseError {
  override name = "AdminOriginError";
  constructor(reason: string) {
    super(`Admin action refused: ${reason}.`);
  }
}
