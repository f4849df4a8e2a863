// Range requests (RFC 9110 §14) and the conditionals that travel with them (If-Range §13.1.5,
// If-None-Match §13.1.2): one reading for every server that sends bytes (the origin, the edge and
// the gateway), so a player sees the same answer whichever of them it talks to.

/** Outcome of reading a `Range` header against a representation of `size` bytes. `end` is exclusive. */
export type RangeResult =
  | { kind: "full" }
  | { kind: "partial"; start: bigint; end: bigint }
  | { kind: "unsatisfiable" };

/** The request headers a range depends on (Node's `IncomingHttpHeaders` fits). */
export type RangeHeaders = { range?: string | undefined; "if-range"?: string | undefined };

const FULL = { kind: "full" } as const;
const UNSATISFIABLE = { kind: "unsatisfiable" } as const;
// One range-spec (§14.1.1): first-pos "-" [last-pos], or "-" suffix-length. \d is ASCII only here.
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Reads a `Range: bytes=...` header against a representation of `size` bytes (RFC 9110 §14).
 * `bytes=a-b` (b clamped to size - 1), `bytes=a-` and the suffix `bytes=-n` (n >= size: the whole
 * representation, as a range) give `partial`. A range that starts at or past the end, `bytes=-0`,
 * and any range of an empty representation are `unsatisfiable` (416). What the server may ignore
 * gives `full` (200 with everything): other units, syntactically invalid values (`bytes=9-3`,
 * `bytes=x`), and several ranges (`bytes=0-1,5-6`), which we never answer as multipart. The unit
 * is case-insensitive, and empty list elements (`bytes=0-1,`) are allowed, as the list rule says.
 */
export function parseRange(header: string | undefined, size: bigint): RangeResult {
  if (header === undefined) return FULL;
  const eq = header.indexOf("=");
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return FULL;
  const specs = header
    .slice(eq + 1)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (specs.length !== 1) return FULL;
  const m = SPEC.exec(specs[0]!);
  if (m === null) return FULL;
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return FULL;
  if (first === "") {
    const n = BigInt(last);
    if (n === 0n || size === 0n) return UNSATISFIABLE;
    return { kind: "partial", start: n >= size ? 0n : size - n, end: size };
  }
  const start = BigInt(first);
  if (last !== "" && BigInt(last) < start) return FULL;
  if (start >= size) return UNSATISFIABLE;
  const end = last === "" ? size : BigInt(last) + 1n;
  return { kind: "partial", start, end: end < size ? end : size };
}

/**
 * The range a request asks for, honouring `If-Range`: with it, the Range header counts only if the
 * validator is the representation's current strong ETag (strong comparison; a weak tag or a date
 * never matches, since we send no Last-Modified), else the answer is the whole representation.
 * A server without an ETag passes none, and any If-Range then asks for everything.
 */
export function requestedRange(headers: RangeHeaders, size: bigint, etag?: string): RangeResult {
  const ifRange = headers["if-range"];
  if (ifRange !== undefined && (etag === undefined || etag.startsWith("W/") || ifRange.trim() !== etag)) return FULL;
  return parseRange(headers.range, size);
}

/** True if an `If-None-Match` header value is `*` or lists the entity tag `etag` (quoted), by weak comparison (RFC 9110 §13.1.2). */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === opaque);
}
