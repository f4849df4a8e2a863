import { BaseError } from "../protocol/errors.ts";

/** 2^32: the range of one sfc32 output, and the unit of a table's thresholds. */
const TWO_32 = 4294967296;
/** Largest table: 65,536 counts. */
export const MAX_TABLE_SIZE = 65_536;
/** Widest distribution tabulated: a standard deviation of 3,000 winning tickets (a table of ~58,000 counts). */
export const MAX_TABLE_SD = 3_000;
/** Terms of the pmf below this fraction of its peak are dropped (their total mass is < 1e-17, far below 2^-32). */
const CUTOFF = 1e-20;

/**
 * Sampling table for the number of winning tickets among `whole + fraction` tickets that each win
 * with probability `p` (docs/TOKENOMICS.md "The sampler"): the count is Binomial(n, p) with
 * n = whole + 1 with probability `fraction`, else `whole` (a stochastically rounded ticket count,
 * so that the mean is exactly (whole + fraction) × p).
 *
 * A draw is inversion of the cumulative distribution by one 32-bit uniform `r`: the count is
 * lo + the smallest k with r < thresholds[k]. `buckets` (2^bits entries, indexed by r's top bits)
 * give k directly when a bucket holds a single count, else the index to search from, so a draw
 * is one table load for nearly every r.
 */
export type TicketCountTable = {
  /** The smallest count the table can return. */
  lo: number;
  /** Number of counts: lo .. lo + size - 1. */
  size: number;
  /** thresholds[k] = round(2^32 × P(count <= lo + k)); the last is 2^32. */
  thresholds: Float64Array;
  /** >= 0: every r of the bucket draws this index; < 0: ~index to start the search from. */
  buckets: Int32Array;
  /** 32 - bits: r >>> shift is r's bucket. */
  shift: number;
  /** The exact mean (whole + fraction) × p and variance of the mixed binomial, for callers and tests. */
  mean: number;
  variance: number;
};

/** A ticket count distribution too wide for a table (or a ticket count beyond 2^53). */
export class TicketCountRangeError extends BaseError {
  override name = "TicketCountRangeError";
  tickets: number;
  p: number;
  constructor({ tickets, p, reason }: { tickets: number; p: number; reason: string }) {
    super(`Cannot tabulate winning tickets among ${tickets.toPrecision(6)} tickets at win probability ${p.toPrecision(6)}: ${reason}.`);
    this.tickets = tickets;
    this.p = p;
  }
}

/** The binomial pmf of (n, p) around its mode, down to CUTOFF of the peak: terms[i] is P(lo + i) up to a common factor. */
function binomialTerms(n: number, p: number): { lo: number; terms: number[] } {
  if (n === 0 || p <= 0) return { lo: 0, terms: [1] };
  if (p >= 1) return { lo: n, terms: [1] };
  const odds = p / (1 - p);
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const up: number[] = [1];
  let term = 1;
  for (let k = mode; k < n; k++) {
    term *= ((n - k) / (k + 1)) * odds;
    if (term < CUTOFF) break;
    up.push(term);
    if (up.length > MAX_TABLE_SIZE) break;
  }
  const down: number[] = [];
  term = 1;
  for (let k = mode; k > 0; k--) {
    term *= (k / (n - k + 1)) / odds;
    if (term < CUTOFF) break;
    down.push(term);
    if (down.length > MAX_TABLE_SIZE) break;
  }
  down.reverse();
  return { lo: mode - down.length, terms: down.concat(up) };
}

/**
 * Builds the sampling table of winning tickets among `whole + fraction` tickets at win
 * probability `p` (see TicketCountTable). Pass the previous table of the same stream as `reuse`
 * to recycle its buffers. Throws TicketCountRangeError when the standard deviation exceeds
 * MAX_TABLE_SD (or the table MAX_TABLE_SIZE counts), or the ticket count is not exact in a double.
 *
 * Quantizing the cumulative probabilities to 2^-32 moves each count's probability by at most
 * 2^-32, so a draw's distribution is within total variation size × 2^-33 of the exact one
 * (< 8e-6 at the largest table, < 2e-8 for a table of 100 counts).
 */
export function ticketCountTable(whole: number, fraction: number, p: number, reuse?: TicketCountTable): TicketCountTable {
  const tickets = whole + fraction;
  if (!Number.isSafeInteger(whole) || whole < 0 || !(fraction >= 0 && fraction < 1) || !(p >= 0 && p <= 1)) {
    throw new TicketCountRangeError({ tickets, p, reason: "the ticket count must be a non-negative safe integer plus a fraction in [0, 1), p in [0, 1]" });
  }
  const variance = tickets * p * (1 - p) + fraction * (1 - fraction) * p * p;
  if (variance > MAX_TABLE_SD * MAX_TABLE_SD) {
    throw new TicketCountRangeError({ tickets, p, reason: `the standard deviation ${Math.sqrt(variance).toFixed(0)} exceeds ${MAX_TABLE_SD}` });
  }
  const { lo, terms } = binomialTerms(whole, p);
  // The mixture with one more ticket: P'(k) = (1 - f p) P(k) + f p P(k - 1).
  const fp = fraction * p;
  const size = fp > 0 ? terms.length + 1 : terms.length;
  if (size > MAX_TABLE_SIZE) {
    throw new TicketCountRangeError({ tickets, p, reason: `the distribution spans more than ${MAX_TABLE_SIZE} counts` });
  }
  // About four buckets per count: nearly every bucket holds a single count.
  const bits = Math.min(16, Math.max(8, Math.ceil(Math.log2(size)) + 2));
  const thresholds = reuse !== undefined && reuse.thresholds.length >= size ? reuse.thresholds : new Float64Array(Math.max(size, 64));
  const buckets = reuse !== undefined && reuse.buckets.length === 1 << bits ? reuse.buckets : new Int32Array(1 << bits);
  let total = 0;
  for (let k = 0; k < size; k++) {
    const mixed = fp > 0 ? (1 - fp) * (terms[k] ?? 0) + fp * (terms[k - 1] ?? 0) : (terms[k] ?? 0);
    thresholds[k] = mixed;
    total += mixed;
  }
  let cumulative = 0;
  for (let k = 0; k < size; k++) {
    cumulative += thresholds[k] ?? 0;
    thresholds[k] = Math.round((cumulative / total) * TWO_32);
  }
  thresholds[size - 1] = TWO_32; // every r < 2^32 stops at the last count
  const shift = 32 - bits;
  const width = 2 ** shift;
  let k = 0;
  for (let b = 0; b < 1 << bits; b++) {
    const start = b * width;
    while ((thresholds[k] ?? TWO_32) <= start) k++;
    buckets[b] = (thresholds[k] ?? TWO_32) >= start + width ? k : ~k;
  }
  return { lo, size, thresholds, buckets, shift, mean: tickets * p, variance };
}

/** The table index (count - table.lo) that the uniform 32-bit integer `r` draws. */
export function drawTicketIndex(table: TicketCountTable, r: number): number {
  let k = table.buckets[r >>> table.shift] ?? 0;
  if (k < 0) {
    k = ~k;
    const t = table.thresholds;
    while (r >= (t[k] ?? TWO_32)) k++;
  }
  return k;
}

/**
 * Draws one index per uniform 32-bit integer of `uniforms[0 .. count-1]` (from sfc32Fill) into
 * `out`, and tallies them: `hist[k]` += how many drew k (the caller zeroes hist).
 */
export function drawTicketIndices(table: TicketCountTable, uniforms: Uint32Array, out: Uint16Array, count: number, hist: Int32Array): void {
  for (let i = 0; i < count; i++) {
    const k = drawTicketIndex(table, uniforms[i] ?? 0);
    out[i] = k;
    hist[k] = (hist[k] ?? 0) + 1;
  }
}
