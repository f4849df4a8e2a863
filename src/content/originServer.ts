import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isContentId, parseManifest, RESERVED_PATH, type Manifest, type ManifestFile } from "../protocol/manifest.ts";
import { MANIFEST_DIR } from "./scanDir.ts";
import { requestedRange } from "../http/parseRange.ts";
import { closeServer, listen } from "../http/serverLifecycle.ts";

/** Options of an origin: the published directory (manifests in `<dir>/.bandmint/`). */
export type OriginServerOptions = { dir: string; onRequest?: (req: IncomingMessage) => void };

/**
 * The publisher's origin: serves `GET/HEAD /<contentId>/manifest.json` and `/<contentId>/<path>`
 * (with Range) from a published directory. Deliberately plain: edges verify every byte, so the
 * origin trusts its disk and any static HTTP server with the same layout works as well.
 */
export class OriginServer {
  readonly dir: string;
  #server: Server | undefined;
  #manifests = new Map<string, { json: Buffer; files: Map<string, ManifestFile> }>();
  #onRequest: ((req: IncomingMessage) => void) | undefined;

  constructor(options: OriginServerOptions) {
    this.dir = options.dir;
    this.#onRequest = options.onRequest;
  }

  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:4321`). */
  async start({ host = "127.0.0.1", port = 0 }: { host?: string; port?: number } = {}): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: "InternalError", message: (error as Error).message });
        else res.destroy();
      });
    });
    this.#server = server;
    return listen(server, host, port);
  }

  /** Stops listening and closes every connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await closeServer(server);
  }

  async #manifest(contentId: string): Promise<{ json: Buffer; files: Map<string, ManifestFile> } | undefined> {
    let entry = this.#manifests.get(contentId);
    if (entry !== undefined) return entry;
    let json: Buffer;
    try {
      json = await readFile(join(this.dir, MANIFEST_DIR, `${contentId}.json`));
    } catch {
      return undefined;
    }
    const manifest: Manifest = parseManifest(JSON.parse(json.toString("utf8")));
    entry = { json, files: new Map(manifest.files.map((f) => [f.path, f])) };
    this.#manifests.set(contentId, entry);
    return entry;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#onRequest?.(req);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, { error: "MethodNotAllowed", message: `${req.method} is not supported` });
    }
    const pathname = new URL(req.url ?? "/", "http://origin").pathname;
    const slash = pathname.indexOf("/", 1);
    const contentId = pathname.slice(1, slash < 0 ? undefined : slash);
    let path: string;
    try {
      path = slash < 0 ? "" : decodeURIComponent(pathname.slice(slash + 1));
    } catch {
      return send(res, 400, { error: "BadPath", message: "path is not valid percent-encoding" });
    }
    const entry = isContentId(contentId) ? await this.#manifest(contentId) : undefined;
    if (entry === undefined) return send(res, 404, { error: "ContentNotFound", message: `no content ${contentId}` });
    if (path === RESERVED_PATH) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": entry.json.length });
      res.end(req.method === "HEAD" ? undefined : entry.json);
      return;
    }
    const file = entry.files.get(path);
    if (file === undefined) return send(res, 404, { error: "FileNotFound", message: `no file ${path} in ${contentId}` });
    const fullPath = join(this.dir, ...path.split("/"));
    const size = BigInt((await stat(fullPath)).size);
    const range = requestedRange(req.headers, size);
    res.setHeader("Accept-Ranges", "bytes");
    res.setHeader("Content-Type", file.mediaType);
    if (range.kind === "unsatisfiable") {
      res.setHeader("Content-Range", `bytes */${size}`);
      return send(res, 416, { error: "RangeNotSatisfiable", message: `file has ${size} bytes` });
    }
    const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0n, size];
    if (range.kind === "partial") res.setHeader("Content-Range", `bytes ${start}-${end - 1n}/${size}`);
    res.writeHead(range.kind === "partial" ? 206 : 200, { "Content-Length": String(end - start) });
    if (req.method === "HEAD" || end === start) return void res.end();
    // pipeline destroys the file stream when the client hangs up, so no descriptor is left open.
    await pipeline(createReadStream(fullPath, { start: Number(start), end: Number(end - 1n), highWaterMark: 1 << 20 }), res).catch(() => {});
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  const json = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": json.length });
  res.end(json);
}
