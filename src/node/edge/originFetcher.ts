import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { lazyHttpsAgent } from "../../http/lazyHttpsAgent.ts";
import { BaseError } from "../../protocol/errors.ts";

/** An origin answered, but not with what was asked (status, length, range). */
export class OriginResponseError extends BaseError {
  override name = "OriginResponseError";
  url: string;
  /** The origin's HTTP status. Deliberately not `status`, which would be read as this error's own. */
  originStatus: number | undefined;
  constructor({ url, reason, status }: { url: string; reason: string; status?: number }) {
    super(`Origin ${url}: ${reason}.`);
    this.url = url;
    this.originStatus = status;
  }
}

/** Options of an origin fetcher: the per-request idle timeout. */
export type OriginFetcherOptions = { timeoutMs?: number };

/**
 * Plain HTTP(S) GETs against origins, on its own keep-alive agents so that `close()` leaves no
 * socket behind. Knows nothing about manifests or hashes: the edge verifies what it returns.
 */
export class OriginFetcher {
  #http = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  // node:https (and tls) is loaded with the first https origin: plain http origins never need it.
  #https = lazyHttpsAgent({ keepAlive: true, maxSockets: 64 });
  #timeoutMs: number;
  /** Requests sent (for stats and tests). */
  requests = 0;

  constructor(options: OriginFetcherOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * GETs `url`; with `range` ([start, end), end exclusive) asks for those bytes and returns exactly
   * them, also from an origin that ignores Range and answers 200 (the prefix is skipped and the
   * connection dropped after the range). Resolves `undefined` on 404.
   */
  async get(url: string, options: { range?: { start: bigint; end: bigint }; maxBytes: number; signal?: AbortSignal }): Promise<Buffer | undefined> {
    const { range, maxBytes, signal } = options;
    this.requests++;
    const isHttps = url.startsWith("https:");
    const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end - 1n}` } : {};
    const https = isHttps ? await this.#https.get() : undefined;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (https?.request ?? httpRequest)(url, { headers, agent: https?.agent ?? this.#http, signal, timeout: this.#timeoutMs }, resolve);
      req.on("timeout", () => req.destroy(new OriginResponseError({ url, reason: `no response within ${this.#timeoutMs} ms` })));
      req.on("error", reject);
      req.end();
    });
    try {
      if (res.statusCode === 404) return undefined;
      let skip = 0n;
      let want: bigint | undefined;
      if (res.statusCode === 206 && range) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers["content-range"]));
        if (m === null || BigInt(m[1]!) !== range.start || BigInt(m[2]!) !== range.end - 1n)
          throw new OriginResponseError({ url, status: 206, reason: `answered range ${String(res.headers["content-range"])}, asked for ${headers.Range}` });
        want = range.end - range.start;
      } else if (res.statusCode === 200) {
        if (range) {
          skip = range.start;
          want = range.end - range.start;
        }
      } else {
        throw new OriginResponseError({ url, status: res.statusCode, reason: `HTTP ${res.statusCode}` });
      }
      if (want !== undefined && want > BigInt(maxBytes)) throw new OriginResponseError({ url, reason: `range of ${want} bytes exceeds ${maxBytes}` });
      const parts: Buffer[] = [];
      let got = 0;
      for await (const piece of res as AsyncIterable<Buffer>) {
        let p = piece;
        if (skip > 0n) {
          if (BigInt(p.length) <= skip) {
            skip -= BigInt(p.length);
            continue;
          }
          p = p.subarray(Number(skip));
          skip = 0n;
        }
        parts.push(p);
        got += p.length;
        if (want !== undefined && BigInt(got) >= want) break;
        if (got > maxBytes) throw new OriginResponseError({ url, reason: `body exceeds ${maxBytes} bytes` });
      }
      const body = Buffer.concat(parts, got);
      if (want === undefined) return body;
      if (BigInt(body.length) < want) throw new OriginResponseError({ url, reason: `body ended after ${body.length} of ${want} bytes` });
      return body.subarray(0, Number(want));
    } finally {
      // Leaving a body unread (error, early break) would pin the socket: drop it instead.
      if (!res.complete) res.destroy();
      else res.resume();
    }
  }

  /** Closes every pooled origin connection. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
