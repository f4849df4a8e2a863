import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { limbStats, limbValue } from "./limbStats.ts";

const QUANTILES = [0.1, 0.5, 0.9, 0, 1];

/** The same statistics by sorting bigints: the reference. */
function reference(values: bigint[], quantiles: number[]): { quantiles: bigint[]; sum: bigint; zeros: number } {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    quantiles: quantiles.map((q) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] ?? 0n),
    sum: values.reduce((s, v) => s + v, 0n),
    zeros: values.filter((v) => v === 0n).length,
  };
}

test("exact nearest-rank quantiles, sum and zeros, even where amounts 1 wei apart share a double key", () => {
  // High limbs near 2^50 make hi × 2^32 + lo a ~2^82 key whose ulp is 2^30: many distinct amounts tie.
  const limb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 2 ** 50 - 3, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(limb, limb), { minLength: 1, maxLength: 300 }), fc.boolean(), (pairs, withCarry) => {
      const n = pairs.length;
      const hi = Float64Array.from(pairs, ([h]) => h);
      const lo = Float64Array.from(pairs, ([, l]) => l);
      const carry = withCarry ? pairs.map((_, i) => BigInt(i % 3) * 10n ** 30n) : null;
      // Every other slot is a member, in reverse order: membership and order must not matter.
      const members = Int32Array.from({ length: Math.ceil(n / 2) }, (_, j) => n - 1 - 2 * j);
      const got = limbStats(hi, lo, carry, members, members.length, QUANTILES);
      const want = reference(Array.from(members, (i) => limbValue(hi, lo, carry, i)), QUANTILES);
      assert.deepEqual(got.quantiles, want.quantiles);
      assert.equal(got.sum, want.sum);
      assert.equal(got.zeros, want.zeros);
      assert.equal(got.count, members.length);
    }),
    { numRuns: 300 },
  );
});

test("sums beyond 2^53 are carried exactly; an empty set has count 0", () => {
  const n = 5000;
  const hi = new Float64Array(n).fill(2 ** 53 - 1);
  const lo = new Float64Array(n).fill(2 ** 53 - 1);
  const members = Int32Array.from({ length: n }, (_, i) => i);
  const s = limbStats(hi, lo, null, members, n, [0.5]);
  assert.equal(s.sum, BigInt(n) * ((2n ** 53n - 1n) * 2n ** 32n + 2n ** 53n - 1n));
  assert.deepEqual(limbStats(hi, lo, null, members, 0, [0.5]), { count: 0, quantiles: [0n], sum: 0n, zeros: 0 });
});
