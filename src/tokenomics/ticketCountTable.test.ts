import assert from "node:assert/strict";
import { test } from "node:test";
import { sfc32Fill, sfc32State } from "./createPrng.ts";
import { drawTicketIndex, drawTicketIndices, MAX_TABLE_SD, TicketCountRangeError, ticketCountTable, type TicketCountTable } from "./ticketCountTable.ts";

const TWO_32 = 2 ** 32;

/** `count` uniform 32-bit integers from an sfc32 stream. */
function uniforms(state: Int32Array, count: number): Uint32Array {
  const out = new Uint32Array(count);
  sfc32Fill(state, out, count);
  return out;
}

/** P(count = lo + k) as the table draws it: the width of k's threshold interval. */
function tableProbability(t: TicketCountTable, k: number): number {
  return ((t.thresholds[k] ?? 0) - (k === 0 ? 0 : (t.thresholds[k - 1] ?? 0))) / TWO_32;
}

/** The exact mixed-binomial pmf by exact binomial coefficients (small n only), for comparison. */
function exactPmf(n: number, fraction: number, p: number): number[] {
  const binom = (m: number): number[] => {
    const out: number[] = [];
    let c = 1n;
    for (let k = 0; k <= m; k++) {
      out.push(Number(c) * p ** k * (1 - p) ** (m - k));
      c = (c * BigInt(m - k)) / BigInt(k + 1);
    }
    return out;
  };
  const a = binom(n);
  const b = binom(n + 1);
  return b.map((v, k) => (1 - fraction) * (a[k] ?? 0) + fraction * v);
}

test("the table's probabilities are the mixed binomial's to within 2^-32 each, and the tails it drops are negligible", () => {
  for (const [n, fraction, p] of [
    [50, 0.3, 0.1],
    [200, 0, 0.02],
    [120, 0.75, 0.5],
    [3, 0.5, 0.9],
  ] as const) {
    const exact = exactPmf(n, fraction, p);
    const t = ticketCountTable(n, fraction, p);
    for (let k = 0; k < t.size; k++) {
      const want = exact[t.lo + k] ?? 0;
      assert.ok(Math.abs(tableProbability(t, k) - want) <= 2 ** -32 + 1e-15, `n ${n} p ${p} k ${t.lo + k}: ${tableProbability(t, k)} vs ${want}`);
    }
    const outside = exact.reduce((sum, v, k) => (k < t.lo || k >= t.lo + t.size ? sum + v : sum), 0);
    assert.ok(outside < 1e-15, `mass outside the table ${outside}`);
  }
});

test("a draw is the inversion of the thresholds, bucket shortcut or not", () => {
  const stream = sfc32State(9);
  for (const [whole, fraction, p] of [
    [1617, 0.4, 4.9e-4],
    [1_000_000, 0.5, 1e-3],
    [10, 0.3, 1],
  ] as const) {
    const t = ticketCountTable(whole, fraction, p);
    const brute = (r: number): number => {
      let k = 0;
      while (r >= (t.thresholds[k] ?? TWO_32)) k++;
      return k;
    };
    const rs: number[] = [0, TWO_32 - 1];
    for (let k = 0; k < t.size - 1; k++) {
      const th = t.thresholds[k] ?? 0;
      if (th > 0) rs.push(th - 1);
      if (th < TWO_32) rs.push(th);
    }
    rs.push(...uniforms(stream, 20_000));
    for (const r of rs) assert.equal(drawTicketIndex(t, r), brute(r), `r ${r}`);
  }
});

test("sampled counts have the mixed binomial's mean and variance (within 5 standard errors)", () => {
  const stream = sfc32State(2024, 1);
  const draws = 200_000;
  // From a home node's 0.8 winning tickets a day to a datacenter's ~1,600; every ticket winning (p = 1).
  for (const [whole, fraction, p] of [
    [1617, 0.4, 4.9e-4],
    [16_170, 0.7, 4.9e-4],
    [3_200_000, 0.25, 4.9e-4],
    [100, 0.5, 0.5],
    [10, 0.3, 1],
  ] as const) {
    const t = ticketCountTable(whole, fraction, p);
    const mean = (whole + fraction) * p;
    const variance = (whole + fraction) * p * (1 - p) + fraction * (1 - fraction) * p * p;
    assert.ok(Math.abs(t.mean - mean) < 1e-9 * (1 + mean));
    assert.ok(Math.abs(t.variance - variance) < 1e-9 * (1 + variance));
    let s1 = 0;
    let s2 = 0;
    for (const r of uniforms(stream, draws)) {
      const x = t.lo + drawTicketIndex(t, r) - mean;
      s1 += x;
      s2 += x * x;
    }
    const sampleMean = mean + s1 / draws;
    const sampleVariance = (s2 - (s1 * s1) / draws) / (draws - 1);
    // The fourth central moment of the table's own distribution gives the variance's standard error.
    let m4 = 0;
    for (let k = 0; k < t.size; k++) m4 += tableProbability(t, k) * (t.lo + k - mean) ** 4;
    const seMean = Math.sqrt(variance / draws);
    const seVariance = Math.sqrt(Math.max(m4 - variance * variance, 0) / draws);
    assert.ok(Math.abs(sampleMean - mean) <= 5 * seMean + 1e-12, `mean ${sampleMean} vs ${mean} (se ${seMean})`);
    assert.ok(Math.abs(sampleVariance - variance) <= 5 * seVariance + 1e-12, `variance ${sampleVariance} vs ${variance} (se ${seVariance})`);
  }
});

test("sampled frequencies follow the table (every count expected 100+ times lies within 5 sigma)", () => {
  const stream = sfc32State(77, 1);
  const t = ticketCountTable(16_170, 0.7, 4.9e-4);
  const draws = 300_000;
  // The batch draw the simulator uses: indices out, counts tallied.
  const seen = new Int32Array(t.size);
  const out = new Uint16Array(draws);
  drawTicketIndices(t, uniforms(stream, draws), out, draws, seen);
  assert.equal(seen.reduce((a, b) => a + b, 0), draws);
  let checked = 0;
  for (let k = 0; k < t.size; k++) {
    const expected = draws * tableProbability(t, k);
    if (expected < 100) continue;
    checked++;
    assert.ok(Math.abs((seen[k] ?? 0) - expected) <= 5 * Math.sqrt(expected), `count ${t.lo + k}: ${seen[k]} vs ${expected}`);
  }
  assert.ok(checked >= 10);
});

test("a seed fixes the draws; another seed or stream changes them", () => {
  const t = ticketCountTable(1617, 0.4, 4.9e-3);
  const draws = (seed: number, stream: number) => {
    return Array.from(uniforms(sfc32State(seed, stream), 200), (r) => drawTicketIndex(t, r));
  };
  assert.deepEqual(draws(5, 1), draws(5, 1));
  assert.notDeepEqual(draws(5, 1), draws(6, 1));
  assert.notDeepEqual(draws(5, 1), draws(5, 2));
});

test("no tickets or no chance wins nothing; tables too wide are refused with a typed error", () => {
  for (const t of [ticketCountTable(0, 0, 0.3), ticketCountTable(1000, 0.5, 0)]) {
    assert.equal(t.lo, 0);
    assert.equal(t.size, 1);
    assert.equal(drawTicketIndex(t, 123_456_789), 0);
  }
  const sd = MAX_TABLE_SD * 1.01;
  assert.throws(() => ticketCountTable(Math.round((sd * sd) / 0.25), 0, 0.5), (e: unknown) => e instanceof TicketCountRangeError && /standard deviation/.test(e.shortMessage));
  assert.throws(() => ticketCountTable(-1, 0, 0.5), TicketCountRangeError);
  assert.throws(() => ticketCountTable(10, 1, 0.5), TicketCountRangeError);
});
