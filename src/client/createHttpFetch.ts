import { Agent, request, type ClientRequestArgs, type IncomingMessage } from "node:http";
import { createConnection, type NetConnectOpts, type Socket } from "node:net";
import { lazyHttpsAgent } from "../http/lazyHttpsAgent.ts";

/** A `fetch` for the client's provider traffic, with `close()` to drop its idle keep-alive sockets. */
export type HttpFetch = typeof globalThis.fetch & {
  close(): void;
  /** Bytes its plain-http sockets read: in all (heads too), body bytes read into their body's buffer, and of those the ones node:http did not copy. */
  readonly received: ReceivedBytes;
};

/** What a fetch's plain-http sockets received, in bytes (see readIntoConnection). */
export type ReceivedBytes = { total: number; inPlace: number; uncopied: number };

/**
 * RequestInit plus `idempotent`: the caller knows that sending this request twice changes nothing
 * more than sending it once (RFC 9110 §9.2.2), whatever its method, so the fetch may send it again
 * when a kept-alive socket was dropped as it was reused. Other fetches ignore the field.
 */
export type HttpFetchInit = RequestInit & { idempotent?: boolean };

/** Options of `createHttpFetch`. */
export type CreateHttpFetchParameters = {
  /** Sockets per provider; the pool's own in-flight limit is what normally bounds them. */
  maxSockets?: number;
  /** Where everything this fetch does not handle goes (Request objects, stream bodies). */
  fallback?: typeof globalThis.fetch;
  /**
   * Certificate authorities trusted for https endpoints instead of the system's (PEM): for tests
   * with a locally generated certificate. Verification is never turned off; in production the
   * system store applies (NODE_EXTRA_CA_CERTS adds to it).
   */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Largest body read (default 256 MiB, well above a 64 MiB chunk or any manifest): a longer one,
   * announced or streamed, fails like a body cut short, with nothing allocated for it beforehand.
   * Providers are untrusted; without a cap one could make the client buffer without end.
   */
  maxBodyBytes?: number;
};

/**
 * A `fetch` over `node:http` / `node:https` with keep-alive agents, for provider endpoints.
 *
 * Why: chunk bodies are the client's hot path, and undici's fetch hands a 1 MiB body over through a
 * WHATWG stream and then copies it into an ArrayBuffer; on loopback that halves what one core can
 * receive (bench/paid.ts measures both). Here a body lands in one allocation of Content-Length
 * bytes, read into in place over plain http (readIntoConnection) and copied into once from the
 * socket's buffers over https, and `arrayBuffer()` returns that memory as is.
 * The response implements what the client's sessions use (`ok`, `status`, `headers`,
 * `arrayBuffer`, `json`, `text`) and fails the way undici does (`TypeError` "fetch failed" /
 * "terminated" with the socket error as `cause`; the signal's reason on abort), so callers cannot
 * tell the two apart. Anything else goes to `fallback` (default: the global fetch).
 */
export function createHttpFetch(p: CreateHttpFetchParameters = {}): HttpFetch {
  const agent = new Agent({ keepAlive: true, maxSockets: p.maxSockets ?? 64 });
  const received: ReceivedBytes = { total: 0, inPlace: 0, uncopied: 0 };
  agent.createConnection = (options: ClientRequestArgs) => readIntoConnection(options as NetConnectOpts, received);
  // node:https (and with it tls) is loaded with the first https request: a node whose chain RPC is
  // plain http never needs it.
  const https = lazyHttpsAgent({ keepAlive: true, maxSockets: p.maxSockets ?? 64, ...(p.ca !== undefined ? { ca: p.ca } : {}) });
  const fallback = p.fallback ?? globalThis.fetch;
  const maxBodyBytes = p.maxBodyBytes ?? 256 * 1024 * 1024;
  const fetchFn = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : undefined;
    const body = init.body;
    const tls = href?.startsWith("https://") === true;
    if (href === undefined || !(tls || href.startsWith("http://")) || !(body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array)) {
      return fallback(input, init);
    }
    if (tls) return https.get().then((h) => send(href, init, h.request, h.agent));
    return send(href, init, request, agent);
  };
  const send = (href: string, init: RequestInit, request: typeof import("node:http").request, agent: Agent): Promise<Response> => {
    const body = init.body as string | Uint8Array | null | undefined;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const method = (init.method ?? "GET").toUpperCase();
    const headers = plainHeaders(init.headers);
    return new Promise<Response>((resolve, reject) => {
      /**
       * Sends the request; `retry` once: a GET or HEAD whose kept-alive socket the server closed
       * just as we reused it (ECONNRESET/EPIPE before any response) is sent again on a new socket,
       * as browsers do: neither method changes anything on the server, so sending it twice is safe.
       * So is a request the caller marked `idempotent` (a ticket batch: the node never pays the
       * same tickets twice).
       */
      const attempt = (retry: boolean): void => {
        const req = request(href, { method, headers, agent });
        let settled = false;
        let fail = (error: unknown) => {
          if (settled) return;
          settled = true;
          reject(error);
        };
        const onAbort = () => {
          fail(signal!.reason);
          req.destroy();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        const done = () => signal?.removeEventListener("abort", onAbort);
        req.on("error", (cause) => {
          done();
          const code = (cause as { code?: string }).code;
          if (retry && !settled && req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE") && (method === "GET" || method === "HEAD" || (init as HttpFetchInit).idempotent === true) && !signal?.aborted) {
            settled = true;
            return attempt(false);
          }
          fail(new TypeError("fetch failed", { cause }));
        });
        req.once("response", (res) => {
          settled = true;
          const response = new HttpResponse(res, href, method === "HEAD", maxBodyBytes);
          // From here on a failure belongs to the body: readers of the body see it.
          fail = (error) => response.failBody(error);
          res.once("end", done);
          resolve(response as unknown as Response);
        });
        req.end(body ?? undefined);
      };
      attempt(true);
    });
  };
  return Object.assign(fetchFn as typeof globalThis.fetch, {
    received,
    close: () => {
      agent.destroy();
      https.destroy();
    },
  });
}

/** RequestInit headers (object, Headers or pairs) as the plain object `node:http` takes. */
function plainHeaders(h: HeadersInit | undefined): Record<string, string> {
  if (h === undefined) return {};
  // A plain record as it is; anything else (pairs, a Headers) by iteration. Not `instanceof Headers`:
  // naming the global Headers loads undici into the process (src/chain/recordHeaders.ts).
  const proto = Array.isArray(h) ? undefined : Object.getPrototypeOf(h);
  if (proto === Object.prototype || proto === null) return h as Record<string, string>;
  return Object.fromEntries(h as Iterable<[string, string]>);
}

/**
 * A fetched response's headers (immutable, like a `Response`'s): what `Headers` answers for `get`,
 * `has`, iteration and `getSetCookie`, read from the raw header lines. A WHATWG `Headers` validates
 * and copies every line on `append`; on the chunk path (one response per MiB, a `get` or two each)
 * that showed up in the client's profile, so the lines are indexed on the first read instead.
 */
class ReceivedHeaders {
  #raw: string[];
  #map: Map<string, string> | undefined;

  constructor(raw: string[]) {
    this.#raw = raw;
  }

  #index(): Map<string, string> {
    if (this.#map !== undefined) return this.#map;
    const map = new Map<string, string>();
    const raw = this.#raw;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      // Repeated lines combine as Headers does (", "); set-cookie is kept apart (getSetCookie).
      if (name === "set-cookie") continue;
      const value = raw[i + 1]!.trim();
      const before = map.get(name);
      map.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    this.#map = map;
    return map;
  }

  get(name: string): string | null {
    const lower = name.toLowerCase();
    if (lower === "set-cookie") {
      const cookies = this.getSetCookie();
      return cookies.length === 0 ? null : cookies.join(", ");
    }
    return this.#index().get(lower) ?? null;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  getSetCookie(): string[] {
    const out: string[] = [];
    for (let i = 0; i + 1 < this.#raw.length; i += 2) if (this.#raw[i]!.toLowerCase() === "set-cookie") out.push(this.#raw[i + 1]!.trim());
    return out;
  }

  /** In name order, set-cookie lines one by one: the order `Headers` iterates in. */
  *entries(): IterableIterator<[string, string]> {
    const names = [...this.#index().keys(), ...(this.getSetCookie().length > 0 ? ["set-cookie"] : [])].sort();
    for (const name of names) {
      if (name === "set-cookie") for (const c of this.getSetCookie()) yield [name, c];
      else yield [name, this.#index().get(name)!];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, name: string, parent: ReceivedHeaders) => void): void {
    for (const [k, v] of this.entries()) callback(v, k, this);
  }

  append(): never {
    throw new TypeError("immutable");
  }

  set(): never {
    throw new TypeError("immutable");
  }

  delete(): never {
    throw new TypeError("immutable");
  }
}

/** Where a socket made by readIntoConnection reads next: the rest of a body being received. */
type ReadTarget = {
  buf: Buffer;
  /** Body bytes the response has taken so far (handed on by node:http, or read in place quietly). */
  received: () => number;
  /** Body bytes node:http holds, not yet handed on. */
  pending: () => number;
  /** Counts `n` body bytes read in place that node:http was told not to hand on (quietBody). */
  took: (n: number) => void;
};
const kReadInto = Symbol("readInto");
type ReadIntoSocket = Socket & { [kReadInto]: { target: ReadTarget | undefined } };

/** Bytes of a read into the head slab (status line, headers, and what follows them in the same read). */
const HEAD_READ = 16 * 1024;
const HEAD_SLAB = 64 * 1024;

/**
 * A plain TCP connection whose reads land where the response being received wants them: once a
 * response with a Content-Length has its headers (HttpResponse registers its body buffer as the
 * socket's target), the kernel copies the rest of the body straight into that buffer, each read
 * as large as the rest of the body, and node:http's parser, which still sees every byte, counts
 * those bytes without copying them out (quietBody). Without a target (status line and headers,
 * bodies of unknown length, https) reads go to a slab that is never written twice, since
 * node:http may keep views of what it read; the garbage collector frees a slab once no view is
 * left. So a 1 MiB chunk costs one allocation and no copy, where node:http's own sockets cost an
 * allocation per 64 KiB read, the parser's copy of every byte and our copy into the body: most
 * of the client's CPU besides sha256 at full speed (bench/paid.ts: client CPU per GiB).
 */
function readIntoConnection(options: NetConnectOpts, received: ReceivedBytes): Socket {
  const state: ReadIntoSocket[typeof kReadInto] = { target: undefined };
  let slab = Buffer.allocUnsafeSlow(HEAD_SLAB);
  let used = 0;
  const next = (): Buffer => {
    const t = state.target;
    if (t !== undefined) {
      // The next body byte goes after those taken and those node:http still holds.
      const offset = t.received() + t.pending();
      if (offset < t.buf.length) return t.buf.subarray(offset);
    }
    if (HEAD_SLAB - used < HEAD_READ) {
      slab = Buffer.allocUnsafeSlow(HEAD_SLAB);
      used = 0;
    }
    return slab.subarray(used, used + HEAD_READ);
  };
  const socket = createConnection({
    ...options,
    onread: {
      buffer: next,
      callback: (n: number, buf: Uint8Array) => {
        const t = state.target;
        const data = Buffer.from(buf.buffer, buf.byteOffset, n);
        received.total += n;
        if (buf.buffer === slab.buffer) used += n;
        else if (t !== undefined && buf.buffer === t.buf.buffer) {
          received.inPlace += n;
          // The parser counts these bytes against Content-Length and ends the message as usual,
          // but does not copy them out: they are where they belong. Only when it holds none of the
          // body's earlier bytes, so the order of the body cannot change.
          if (t.pending() === 0 && quietBody(socket, () => t.took(n), data)) {
            received.uncopied += n;
            return true;
          }
          // Otherwise the parser hands them on as a copy, which the body listener copies over themselves.
        }
        socket.emit("data", data);
        return true; // node:http pauses the socket itself (readStop) when a body backs up
      },
    },
  }) as ReadIntoSocket;
  socket[kReadInto] = state;
  return socket;
}

/** The slot of node:http's parser that holds its body callback (parserOnBody), once found. */
let bodySlot: number | undefined;

/**
 * Hands `data` (body bytes already in their place) to the socket's HTTP parser with its body
 * callback unset, after `took` counted them; false, having done nothing, where the parser is not
 * as expected. node:http's parser copies every body byte into a new Buffer for its callback, and
 * skips that when the callback is not a function (node_http_parser.cc, on_body): for a 1 MiB chunk
 * that copy and the garbage it leaves were a third of the client's CPU (bench/paid.ts). The parser
 * still counts the bytes against Content-Length, so it ends the message and frees the socket for
 * the next request as usual; its callback is put back whatever happens.
 */
function quietBody(socket: Socket, took: () => void, data: Buffer): boolean {
  const parser = (socket as Socket & { parser?: Record<number, unknown> | null }).parser;
  if (parser === undefined || parser === null) return false;
  const isBodyCallback = (v: unknown) => typeof v === "function" && v.name === "parserOnBody";
  if (bodySlot === undefined || !isBodyCallback(parser[bodySlot])) {
    bodySlot = undefined;
    // The parser's callbacks sit in a few small integer slots (kOnHeaders, kOnBody, ...: 0-9 today).
    for (let i = 0; i < 16; i++) if (isBodyCallback(parser[i])) bodySlot = i;
    if (bodySlot === undefined) return false;
  }
  const slot = bodySlot;
  const onBody = parser[slot];
  parser[slot] = undefined;
  took();
  try {
    socket.emit("data", data);
  } finally {
    parser[slot] = onBody;
  }
  return true;
}

/** The subset of `Response` the client uses, over a body read eagerly into one buffer. */
class HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly url: string;
  readonly headers: Headers;
  readonly redirected = false;
  readonly type = "basic";
  #body: Promise<Buffer>;
  #reject!: (error: unknown) => void;
  #used = false;

  constructor(res: IncomingMessage, url: string, head: boolean, maxBodyBytes: number) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? "";
    this.ok = this.status >= 200 && this.status < 300;
    this.url = url;
    this.headers = new ReceivedHeaders(res.rawHeaders) as unknown as Headers;
    this.#body = new Promise<Buffer>((resolve, reject) => {
      this.#reject = reject;
      // HEAD, 204 and 304 announce a length but carry no body.
      const length = head || this.status === 204 || this.status === 304 ? 0 : Number(res.headers["content-length"] ?? NaN);
      const tooLarge = () => {
        reject(new TypeError("terminated", { cause: new RangeError(`the body is larger than ${maxBodyBytes} bytes`) }));
        res.destroy();
      };
      if (length > maxBodyBytes) return tooLarge();
      // Known length: one allocation of exactly the body (its ArrayBuffer is the body, no offset).
      let buf = Number.isSafeInteger(length) && length >= 0 ? Buffer.allocUnsafeSlow(length) : undefined;
      const parts: Buffer[] = [];
      let received = 0;
      // On a readIntoConnection socket the rest of the body is read into `buf` directly.
      const into = (res.socket as Partial<ReadIntoSocket> | null)?.[kReadInto];
      if (into !== undefined && buf !== undefined && length > 0 && res.headers["transfer-encoding"] === undefined) {
        const target: ReadTarget = { buf, received: () => received, pending: () => res.readableLength, took: (n) => (received += n) };
        into.target = target;
        const clear = () => {
          if (into.target === target) into.target = undefined;
        };
        res.once("end", clear);
        res.once("close", clear);
      }
      res.on("data", (chunk: Buffer) => {
        if (received + chunk.length > maxBodyBytes) return tooLarge();
        if (buf !== undefined && received + chunk.length <= buf.length) chunk.copy(buf, received);
        else {
          // More than announced (or no length): keep everything, the caller judges the size.
          if (buf !== undefined) parts.push(buf.subarray(0, received));
          buf = undefined;
          parts.push(chunk);
        }
        received += chunk.length;
      });
      res.once("end", () => {
        if (res.complete && (buf === undefined || received === buf.length)) resolve(buf ?? Buffer.concat(parts));
        else reject(new TypeError("terminated", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }));
      });
      res.once("error", (cause) => reject(new TypeError("terminated", { cause })));
      res.once("aborted", () => reject(new TypeError("terminated", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) })));
    });
    // A body nobody reads must not become an unhandled rejection.
    this.#body.catch(() => undefined);
  }

  /** Fails the body with `error` (the request's signal fired after the headers). */
  failBody(error: unknown): void {
    this.#reject(error);
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async #take(): Promise<Buffer> {
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    return this.#body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#take();
    // allocUnsafeSlow gave the body its own ArrayBuffer; a concatenated one may share a pool.
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }

  async text(): Promise<string> {
    return (await this.#take()).toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}
