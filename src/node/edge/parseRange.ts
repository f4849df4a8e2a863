/** Outcome of reading a `Range` header against a representation of `size` bytes. `end` is exclusive. */
export type RangeResult =
  | { kind: "full" }
  | { kind: "partial"; start: bigint; end: bigint }
  | { kind: "unsatisfiable" };

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Reads a `Range: bytes=...` header (RFC 9110 §14). Syntactically invalid headers, other units and
 * multi-range requests are ignored (the whole representation is sent with 200, which the RFC
 * allows); a single range that starts past the end, or any range of an empty file, is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: bigint): RangeResult {
  if (header === undefined) return { kind: "full" };
  const eq = header.indexOf("=");
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "full" };
  const spec = header.slice(eq + 1).trim();
  if (spec.includes(",")) return { kind: "full" };
  const m = SPEC.exec(spec);
  if (m === null) return { kind: "full" };
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // Suffix range: the last N bytes.
    const n = BigInt(last);
    if (n === 0n || size === 0n) return { kind: "unsatisfiable" };
    return { kind: "partial", start: n >= size ? 0n : size - n, end: size };
  }
  const start = BigInt(first);
  if (last !== "" && BigInt(last) < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size : BigInt(last) + 1n;
  return { kind: "partial", start, end: end < size ? end : size };
}

/** True if an `If-None-Match` header value matches the strong entity tag `etag` (quoted) or is `*`. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  // Weak comparison, as RFC 9110 §13.1.2 requires for If-None-Match.
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}
