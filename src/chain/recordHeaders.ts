// viem's HTTP transport normalizes each request's headers with `new Headers(init).forEach(...)`.
// The global Headers is undici's: touching it loads undici (with http2, zlib and tls) into the
// process, about 14 MB of RSS that a node on a 256 MB box otherwise never needs, because its
// JSON-RPC goes over node:http (createHttpFetch.ts). The node build (scripts/build-node.ts) gives
// viem's transport this class as its `Headers`.

// RFC 9110 token characters (a header name) and what a header value may not hold, as Headers checks them.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

/**
 * What `new Headers(init)` does for a plain record of strings (names lowercased and checked, values
 * trimmed and checked, a TypeError for a bad one), without loading undici; any other init (a
 * Headers, pairs) goes to the global Headers.
 */
export class RecordHeaders {
  readonly #map = new Map<string, string>();
  readonly #other: Headers | undefined;

  constructor(init?: HeadersInit | null) {
    const proto = init === undefined || init === null ? null : Object.getPrototypeOf(init);
    if (init !== undefined && init !== null && proto !== Object.prototype && proto !== null) {
      this.#other = new globalThis.Headers(init);
      return;
    }
    for (const [name, raw] of Object.entries((init ?? {}) as Record<string, string>)) {
      if (!TOKEN.test(name)) throw new TypeError(`Headers.append: "${name}" is an invalid header name.`);
      const value = String(raw).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
      if (BAD_VALUE.test(value)) throw new TypeError(`Headers.append: "${value}" is an invalid header value.`);
      const key = name.toLowerCase();
      const before = this.#map.get(key);
      this.#map.set(key, before === undefined ? value : `${before}, ${value}`);
    }
  }

  /** Calls `callback(value, name)` for every header, names lowercased and in order, as Headers does. */
  forEach(callback: (value: string, name: string) => void): void {
    if (this.#other !== undefined) return this.#other.forEach((v, k) => callback(v, k));
    for (const name of [...this.#map.keys()].sort()) callback(this.#map.get(name)!, name);
  }
}
