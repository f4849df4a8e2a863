/** 2^32 as a bigint: the weight of the high limb. */
const LIMB = 1n << 32n;
const MAX_EXACT = 2 ** 53;

/** Exact statistics of a set of amounts: how many, the nearest-rank quantiles asked for, the sum, how many are zero. */
export type LimbStatsResult = { count: number; quantiles: bigint[]; sum: bigint; zeros: number };

/** The amount held by limbs i: hi × 2^32 + lo (+ carry), exactly. */
export function limbValue(hi: Float64Array, lo: Float64Array, carry: readonly bigint[] | null, i: number): bigint {
  return BigInt(hi[i] ?? 0) * LIMB + BigInt(lo[i] ?? 0) + (carry?.[i] ?? 0n);
}

/** Bins of the key histogram that locates each quantile's key. */
const BINS = 4096;

/**
 * Exact statistics of the amounts of `members` (indices into the limb arrays), each amount being
 * hi[i] × 2^32 + lo[i] (+ carry[i]) with hi and lo integer-valued doubles below 2^53.
 *
 * Quantiles are nearest-rank (the ceil(q × count)-th smallest) and exact. A histogram of the
 * double keys hi × 2^32 + lo locates the bin holding each rank; the members of that bin are then
 * compared as exact bigints. The key is only monotone in the amount (rounding can give amounts
 * 1 ulp apart one key), and so is the binning, so a bin holds exactly the ranks the histogram
 * says, whatever the rounding. O(count) plus a sort of three bins. The sum is exact too (limbs
 * summed in doubles while below 2^53, then carried into a bigint). With carries (rare: see
 * createIndividualLedger) everything is computed in bigint.
 */
export function limbStats(
  hi: Float64Array,
  lo: Float64Array,
  carry: readonly bigint[] | null,
  members: Int32Array,
  count: number,
  quantiles: readonly number[],
  scratch: Float64Array = new Float64Array(count),
): LimbStatsResult {
  const ranks = quantiles.map((q) => Math.max(1, Math.ceil(q * count)) - 1);
  if (count === 0) return { count, quantiles: quantiles.map(() => 0n), sum: 0n, zeros: 0 };
  if (carry !== null) {
    const values: bigint[] = [];
    let sum = 0n;
    let zeros = 0;
    for (let j = 0; j < count; j++) {
      const v = limbValue(hi, lo, carry, members[j] ?? 0);
      values.push(v);
      sum += v;
      if (v === 0n) zeros++;
    }
    values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { count, quantiles: ranks.map((r) => values[r] ?? 0n), sum, zeros };
  }

  let zeros = 0;
  let sumHi = 0;
  let sumLo = 0;
  let sum = 0n;
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < count; j++) {
    const i = members[j] ?? 0;
    const h = hi[i] ?? 0;
    const l = lo[i] ?? 0;
    const key = h * 4294967296 + l;
    scratch[j] = key;
    if (key < min) min = key;
    if (key > max) max = key;
    if (h === 0 && l === 0) zeros++;
    if (sumHi > MAX_EXACT - h) {
      sum += BigInt(sumHi) * LIMB;
      sumHi = 0;
    }
    if (sumLo > MAX_EXACT - l) {
      sum += BigInt(sumLo);
      sumLo = 0;
    }
    sumHi += h;
    sumLo += l;
  }
  sum += BigInt(sumHi) * LIMB + BigInt(sumLo);

  // A histogram of the keys over [min, max] tells which bin holds each rank (binning is monotone,
  // so a bin's keys are ranks cumulative..cumulative + count - 1); only those bins are sorted.
  const scale = max > min ? BINS / (max - min) : 0;
  const binOf = (key: number): number => Math.min(BINS - 1, Math.floor((key - min) * scale));
  const histogram = new Int32Array(BINS);
  for (let j = 0; j < count; j++) {
    const b = binOf(scratch[j] ?? 0);
    histogram[b] = (histogram[b] ?? 0) + 1;
  }
  const wanted = ranks.map((r) => {
    let before = 0;
    let b = 0;
    while (before + (histogram[b] ?? 0) <= r) before += histogram[b++] ?? 0;
    return { bin: b, before };
  });
  const isWanted = new Uint8Array(BINS);
  for (const w of wanted) isWanted[w.bin] = 1;
  const binMembers = new Map<number, number[]>(wanted.map((w) => [w.bin, []]));
  for (let j = 0; j < count; j++) {
    const b = binOf(scratch[j] ?? 0);
    if (isWanted[b] === 1) binMembers.get(b)?.push(members[j] ?? 0);
  }
  const out = ranks.map((r, q) => {
    const w = wanted[q];
    const inBin = (binMembers.get(w?.bin ?? 0) ?? []).map((i) => limbValue(hi, lo, null, i));
    inBin.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return inBin[r - (w?.before ?? 0)] ?? 0n;
  });
  return { count, quantiles: out, sum, zeros };
}
