import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { isContentId, RESERVED_PATH, type ManifestFile } from "../../protocol/manifest.ts";
import { ChunkCache } from "./chunkCache.ts";
import { ChunkStore } from "./chunkStore.ts";
import { silentLogger, type EdgeLogger } from "./edgeLogger.ts";
import { FileNotFoundError, MethodNotAllowedError, RouteNotFoundError } from "./errors.ts";
import { sendHttpError } from "./httpErrors.ts";
import { OriginFetcher } from "./originFetcher.ts";
import { ManifestResolver, type ResolvedContent } from "./manifestResolver.ts";
import { freeGate, type Grant, type PaymentGate } from "./paymentGate.ts";
import { matchesIfNoneMatch, requestedRange } from "../../http/parseRange.ts";
import { closeServer, listen } from "../../http/serverLifecycle.ts";
import { drained } from "../../http/drained.ts";
import type { Pacer } from "../limits/createLimits.ts";

/** Options of an edge. Sizes in bytes. */
export type EdgeOptions = {
  cacheDir: string;
  /** Disk budget for chunks (manifests are not counted). */
  maxCacheBytes: number;
  /** Hot in-memory chunk budget; default min(256 MiB, maxCacheBytes). */
  maxMemoryBytes?: number;
  /** Origin base URLs, tried in order. */
  origins: string[];
  gate?: PaymentGate;
  logger?: EdgeLogger;
  /** Origin request idle timeout; default 30 s. */
  originTimeoutMs?: number;
  /**
   * The operator's per-byte limits (rate, quota, schedule): taken before every chunk is written.
   * Undefined when none is set, and then the write path has no await and no allocation for it.
   */
  pacer?: Pacer | undefined;
  /** Counts body bytes that went out, once per response (the node's traffic meter, service "cdn"). */
  meter?: { record(service: "cdn", bytes: bigint): void } | undefined;
};

/** Counters for status pages and tests. */
export type EdgeStats = {
  requests: number;
  bytesServed: bigint;
  memoryHits: number;
  diskHits: number;
  originFetches: number;
  originRequests: number;
  cacheBytes: number;
  cacheChunks: number;
};

/** A running CDN edge: `handle` can be mounted in another server; `start`/`stop` run its own. */
export type Edge = {
  /** Serves one request (routes under /c/); never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Opens the cache (idempotent; `start` calls it). Needed before `handle` when mounted elsewhere. */
  open(): Promise<void>;
  /** Opens the cache and listens; resolves with the base URL. */
  start(options?: { host?: string; port?: number }): Promise<string>;
  /** Stops listening, drops connections (own server and origins), writes the cache index. */
  stop(): Promise<void>;
  stats(): EdgeStats;
};

const CORS_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges, ETag, Content-Type, *",
};
const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * The provider's CDN edge (docs/protocol/content.md §4): `GET/HEAD /c/<contentId>/manifest.json`
 * and `/c/<contentId>/<path>` with Range, served from verified chunks (memory, disk, origin).
 */
export function createEdge(options: EdgeOptions): Edge {
  const logger = options.logger ?? silentLogger;
  const gate = options.gate ?? freeGate;
  const { pacer, meter } = options;
  const fetcher = new OriginFetcher({ ...(options.originTimeoutMs !== undefined ? { timeoutMs: options.originTimeoutMs } : {}) });
  const store = new ChunkStore({ dir: options.cacheDir, maxBytes: options.maxCacheBytes, logger });
  const chunks = new ChunkCache({
    maxMemoryBytes: options.maxMemoryBytes ?? Math.min(256 << 20, options.maxCacheBytes),
    store,
    fetcher,
    origins: options.origins,
    logger,
  });
  const manifests = new ManifestResolver({ dir: join(options.cacheDir, "manifests"), origins: options.origins, fetcher, logger });
  let server: Server | undefined;
  let opened: Promise<void> | undefined;
  let requests = 0;
  let bytesServed = 0n;

  function open(): Promise<void> {
    opened ??= store.open();
    return opened;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    requests++;
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) logger.info("request failed", { url: req.url, error: String(error) });
      else logger.warn("response aborted mid-body", { url: req.url, error: String(error) });
      sendHttpError(res, error, CORS_HEADERS);
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS_HEADERS,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "Range, If-None-Match, If-Range",
        "Access-Control-Max-Age": "86400",
      });
      return void res.end();
    }
    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD, OPTIONS");
      throw new MethodNotAllowedError({ method });
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    // /c/<64 hex>/<path>
    if (!pathname.startsWith("/c/") || pathname.charCodeAt(67) !== 47 /* / */) throw new RouteNotFoundError({ url });
    const contentId = pathname.slice(3, 67);
    if (!isContentId(contentId)) throw new RouteNotFoundError({ url, reason: "bad content id" });
    let path = pathname.slice(68);
    if (path.includes("%")) {
      try {
        path = decodeURIComponent(path);
      } catch {
        throw new RouteNotFoundError({ url, reason: "bad percent-encoding" });
      }
    }
    const content = manifests.peek(contentId) ?? (await manifests.get(contentId));
    if (path === RESERVED_PATH) return serveManifest(req, res, content);
    const entry = content.files.get(path);
    if (entry === undefined) throw new FileNotFoundError({ contentId, path });
    return serveFile(req, res, content, entry.file, entry.etag, path);
  }

  function serveManifest(req: IncomingMessage, res: ServerResponse, content: ResolvedContent): void {
    const etag = `"${content.manifest.contentId}"`;
    const headers = { ...CORS_HEADERS, ETag: etag, "Cache-Control": IMMUTABLE, "Content-Type": "application/json" };
    if (matchesIfNoneMatch(req.headers["if-none-match"], etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    res.writeHead(200, { ...headers, "Content-Length": content.json.length });
    res.end(req.method === "HEAD" ? undefined : content.json);
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, content: ResolvedContent, file: ManifestFile, etag: string, path: string): Promise<void> {
    const base = { ...CORS_HEADERS, ETag: etag, "Accept-Ranges": "bytes", "Cache-Control": IMMUTABLE, "Content-Type": file.mediaType };
    if (matchesIfNoneMatch(req.headers["if-none-match"], etag)) {
      res.writeHead(304, base);
      return void res.end();
    }
    const size = file.size;
    const range = requestedRange(req.headers, size, etag);
    if (range.kind === "unsatisfiable") {
      res.writeHead(416, { ...base, "Content-Range": `bytes */${size}`, "Content-Length": 0 });
      return void res.end();
    }
    const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0n, size];
    const status = range.kind === "partial" ? 206 : 200;
    const headers: Record<string, string | number> = { ...base, "Content-Length": String(end - start) };
    if (status === 206) headers["Content-Range"] = `bytes ${start}-${end - 1n}/${size}`;
    if (req.method === "HEAD" || end === start) {
      res.writeHead(status, headers);
      return void res.end();
    }
    const grant = await gate.admit(req, { contentId: content.manifest.contentId, path, start, end });
    // The client may have hung up while the gate waited (a ticket commit): its 'close' is gone, so
    // settle now, or the admitted bytes would stay in flight and hold its credit window forever.
    if (res.closed || res.destroyed) return void grant.served(0n);
    if (grant.headers) Object.assign(headers, grant.headers);
    const chunkSize = content.manifest.chunkSize;
    const cs = BigInt(chunkSize);
    const first = Number(start / cs);
    const last = Number((end - 1n) / cs);
    // Fetch the first chunk before any header goes out: an origin failure is then a clean 502.
    let firstBuf: Buffer;
    try {
      firstBuf = chunks.peek(file.chunks[first]!) ?? (await chunks.get(content.manifest.contentId, chunkSize, file, first));
    } catch (error) {
      // Nothing was sent: release what the gate admitted, or the sender's credit shrinks for good.
      grant.served(0n);
      throw error;
    }
    if (res.closed || res.destroyed) return void grant.served(0n); // hung up during an origin fetch
    const slice = (buf: Buffer, i: number): Buffer => {
      const chunkStart = BigInt(i) * cs;
      const from = start > chunkStart ? Number(start - chunkStart) : 0;
      const to = end < chunkStart + cs ? Number(end - chunkStart) : buf.length;
      return from === 0 && to === buf.length ? buf : buf.subarray(from, to);
    };
    const firstBody = slice(firstBuf, first);
    if (pacer !== undefined) {
      // The first chunk waits for the limits before any header goes out: a refusal is a clean 503.
      try {
        await pacer.take(firstBody.length);
      } catch (error) {
        grant.served(0n);
        throw error;
      }
      if (res.closed || res.destroyed) {
        pacer.refund(firstBody.length);
        return void grant.served(0n);
      }
    }
    if (first === last) {
      // The hot path: one chunk from memory, one write.
      res.writeHead(status, headers);
      account(res, grant, firstBody.length);
      res.end(firstBody);
      return;
    }
    res.writeHead(status, headers);
    await streamChunks(res, grant, content, file, first, last, firstBuf, slice);
  }

  // Counts what a single-write response actually delivered: all of it once 'finish' fired.
  function account(res: ServerResponse, grant: Grant, length: number): void {
    res.once("close", () => {
      const sent = res.writableFinished ? BigInt(length) : 0n;
      bytesServed += sent;
      if (sent === 0n) pacer?.refund(length);
      else meter?.record("cdn", sent);
      grant.served(sent);
    });
  }

  async function streamChunks(
    res: ServerResponse,
    grant: Grant,
    content: ResolvedContent,
    file: ManifestFile,
    first: number,
    last: number,
    firstBuf: Buffer,
    slice: (buf: Buffer, i: number) => Buffer,
  ): Promise<void> {
    let written = 0n;
    // Bytes the pacer counted (the first chunk's before the headers), for the refund of unsent ones.
    let taken = pacer === undefined ? 0 : slice(firstBuf, first).length;
    let closed = res.closed || res.destroyed;
    const onClose = () => {
      closed = true;
    };
    res.once("close", onClose);
    const id = content.manifest.contentId;
    const load = (i: number): Promise<Buffer> => {
      const hot = chunks.peek(file.chunks[i]!);
      return hot !== undefined ? Promise.resolve(hot) : chunks.get(id, content.manifest.chunkSize, file, i);
    };
    try {
      let next: Promise<Buffer> | undefined;
      for (let i = first; i <= last && !closed; i++) {
        const buf = i === first ? firstBuf : await next!;
        // Read ahead one chunk so an origin or disk miss overlaps with sending the current one.
        next = i < last ? load(i + 1) : undefined;
        next?.catch(() => {});
        if (closed) break;
        const body = slice(buf, i);
        if (pacer !== undefined && i !== first) {
          try {
            await pacer.take(body.length);
          } catch {
            // A limit cut the response (quota used up, schedule closed): a truncated body is the
            // only signal left once headers are out; the client resumes elsewhere.
            res.destroy();
            closed = true;
            break;
          }
          taken += body.length;
          if (closed) break;
        }
        const ok = res.write(body, (err) => {
          if (!err) written += BigInt(body.length);
        });
        if (!ok && !closed) await drained(res);
      }
      if (!closed) await new Promise<void>((resolve) => res.end(resolve));
    } finally {
      res.off("close", onClose);
      // Settle after the socket is done so write callbacks have all fired.
      if (res.closed) settle();
      else res.once("close", settle);
    }
    function settle() {
      bytesServed += written;
      if (pacer !== undefined && BigInt(taken) > written) pacer.refund(taken - Number(written));
      meter?.record("cdn", written);
      grant.served(written);
    }
  }

  return {
    handle,
    open,
    async start({ host = "127.0.0.1", port = 0 } = {}) {
      await open();
      const s = createServer(handle);
      server = s;
      return listen(s, host, port);
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s !== undefined) await closeServer(s);
      fetcher.close();
      if (opened !== undefined) await opened.catch(() => {});
      await store.close();
    },
    stats() {
      return {
        requests,
        bytesServed,
        ...chunks.stats,
        originRequests: fetcher.requests,
        cacheBytes: store.bytes,
        cacheChunks: store.count,
      };
    },
  };
}
