import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { chunkRange, fileDigest, isContentId, manifestToJson, type Manifest, type ManifestFile } from "../protocol/manifest.ts";
import { BaseError } from "../protocol/errors.ts";
import { createChunkLru } from "./chunkLru.ts";
import type { ClientLogger, ProviderPool } from "./providerPool.ts";
import { matchesIfNoneMatch, requestedRange } from "../http/parseRange.ts";
import { listen } from "../http/serverLifecycle.ts";

/** Options of `createGateway`. */
export type GatewayParameters = {
  pool: ProviderPool;
  /** Bytes of verified chunks kept in memory (default 64 MiB). */
  cacheBytes?: number;
  /** Chunks fetched ahead of the one being sent, so the next is ready when the socket drains. */
  readAhead?: number;
  logger?: ClientLogger | undefined;
};

/** A local HTTP gateway: `GET/HEAD /<contentId>/<path>` served from verified, paid-for chunks. */
export type Gateway = {
  start(options?: { host?: string; port?: number }): Promise<{ url: string }>;
  stop(): Promise<void>;
  /** The request handler, for embedding in another server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
};

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, OPTIONS",
  "access-control-allow-headers": "Range, If-None-Match, If-Range",
  "access-control-expose-headers": "Content-Range, Content-Length, Accept-Ranges, ETag",
};

const STATUS: Record<string, number> = {
  FileNotInContentError: 404,
  ManifestUnavailableError: 502,
  NoProviderAvailableError: 502,
  DepositTooLowError: 402,
};

/**
 * Creates the gateway. It lets an unmodified browser, video player (HLS) or curl use bandmint:
 * every byte it sends was verified against the manifest and paid for through the pool. Range
 * requests (206, suffix and open ranges) are served by fetching only the chunks they cover; a
 * small LRU keeps recent chunks so that a player re-reading a segment does not pay twice.
 * Multi-range requests get the whole file (200), which RFC 9110 allows.
 */
export function createGateway(p: GatewayParameters): Gateway {
  const lru = createChunkLru(p.cacheBytes ?? 64 * 1024 * 1024);
  const readAhead = p.readAhead ?? 2;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const chunk = (contentId: string, manifest: Manifest, file: ManifestFile, index: number, signal: AbortSignal) =>
    lru.get(`${contentId}/${file.path}#${index}`, () => p.pool.fetchChunk({ contentId, chunkSize: manifest.chunkSize, file, index, signal }));

  const fail = (res: ServerResponse, status: number, error: string, message: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { ...CORS, "content-type": "application/json" });
    res.end(JSON.stringify({ error, message }));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...CORS, "access-control-max-age": "86400" });
      res.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return fail(res, 405, "MethodNotAllowedError", "only GET, HEAD and OPTIONS");
    const url = new URL(req.url ?? "/", "http://gateway");
    const [contentId, ...rest] = url.pathname.slice(1).split("/");
    let path: string;
    try {
      path = rest.map(decodeURIComponent).join("/");
    } catch {
      return fail(res, 400, "BadPathError", "the path is not valid percent-encoding");
    }
    if (contentId === undefined || !isContentId(contentId)) return fail(res, 404, "NotFoundError", "use /<contentId>/<path>");
    const manifest = await p.pool.fetchManifest(contentId, signal);
    if (path === "manifest.json" || path === "") {
      const body = JSON.stringify(manifestToJson(manifest));
      res.writeHead(200, { ...CORS, "content-type": "application/json", "content-length": Buffer.byteLength(body), "cache-control": "public, max-age=31536000, immutable" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    const file = manifest.files.find((f) => f.path === path);
    if (file === undefined) return fail(res, 404, "FileNotInContentError", `${contentId} has no file "${path}"`);

    const etag = `"${fileDigest(file)}"`;
    const headers: Record<string, string | number> = {
      ...CORS,
      "content-type": file.mediaType,
      "accept-ranges": "bytes",
      etag,
      // Content-addressed: the bytes under this URL can never change.
      "cache-control": "public, max-age=31536000, immutable",
    };
    if (matchesIfNoneMatch(req.headers["if-none-match"], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const range = requestedRange(req.headers, file.size, etag);
    if (range.kind === "unsatisfiable") {
      res.writeHead(416, { ...headers, "content-range": `bytes */${file.size}`, "content-length": 0 });
      res.end();
      return;
    }
    const partial = range.kind === "partial";
    const [start, end] = partial ? [range.start, range.end] : [0n, file.size]; // end exclusive
    headers["content-length"] = (end - start).toString();
    if (partial) headers["content-range"] = `bytes ${start}-${end - 1n}/${file.size}`;
    if (req.method === "HEAD" || end === start) {
      res.writeHead(partial ? 206 : 200, headers);
      res.end();
      return;
    }
    const cs = BigInt(manifest.chunkSize);
    const first = Number(start / cs);
    const last = Number((end - 1n) / cs);
    // The first chunk is fetched before the status line so that a failure is still a clean error.
    const pending = new Map<number, Promise<Buffer>>();
    const want = (i: number) => {
      if (i > last || pending.has(i)) return;
      const promise = chunk(contentId, manifest, file, i, signal);
      promise.catch(() => undefined); // awaited below; do not crash on an unobserved rejection
      pending.set(i, promise);
    };
    for (let i = first; i <= Math.min(last, first + readAhead); i++) want(i);
    let data = await pending.get(first)!;
    res.writeHead(partial ? 206 : 200, headers);
    for (let i = first; i <= last; i++) {
      if (i > first) data = await pending.get(i)!;
      pending.delete(i);
      want(i + readAhead + 1);
      const { start: cStart } = chunkRange(file.size, manifest.chunkSize, i);
      const from = i === first ? Number(start - cStart) : 0;
      const to = i === last ? Number(end - cStart) : data.length;
      if (!res.write(data.subarray(from, to))) {
        await new Promise<void>((resolve, reject) => {
          res.once("drain", resolve);
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      }
    }
    res.end();
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    // A player that seeks closes the connection: stop fetching (and paying for) what it no longer wants.
    res.on("close", () => {
      if (!res.writableFinished) controller.abort(new Error("client went away"));
    });
    serve(req, res, controller.signal).catch((error: unknown) => {
      if (controller.signal.aborted) return res.destroy();
      if (error instanceof BaseError) {
        p.logger?.warn(`bandmint gateway: ${req.url}: ${error.shortMessage}`);
        return fail(res, STATUS[error.name] ?? 502, error.name, error.shortMessage);
      }
      p.logger?.warn(`bandmint gateway: ${req.url}: ${(error as Error).stack ?? String(error)}`);
      fail(res, 500, "InternalError", "internal error");
    });
  };

  return {
    handle,
    async start(options = {}) {
      server = createServer(handle);
      server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      return { url: await listen(server, options.host ?? "127.0.0.1", options.port ?? 0) };
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
      await p.pool.settle(AbortSignal.timeout(5_000));
    },
  };
}
