import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng, sfc32Fill, sfc32State } from "./createPrng.ts";

test("a seed fixes the stream; nearby seeds give different streams", () => {
  const take = (seed: number) => {
    const p = createPrng(seed);
    return Array.from({ length: 5 }, () => p.next());
  };
  assert.deepEqual(take(42), take(42));
  assert.notDeepEqual(take(42), take(43));
});

test("uniforms lie in [0, 1) with mean 1/2; gaussians have mean 0 and variance 1", () => {
  const p = createPrng(7);
  let sum = 0;
  for (let i = 0; i < 20_000; i++) {
    const u = p.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  assert.ok(Math.abs(sum / 20_000 - 0.5) < 0.01);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < 20_000; i++) {
    const g = p.gaussian();
    s1 += g;
    s2 += g * g;
  }
  assert.ok(Math.abs(s1 / 20_000) < 0.03);
  assert.ok(Math.abs(s2 / 20_000 - 1) < 0.05);
});

test("sfc32Fill on sfc32State(seed) is createPrng's stream in 32-bit integers, in any batch sizes; streams of one seed differ", () => {
  const p = createPrng(42);
  const state = sfc32State(42);
  const words = new Uint32Array(1000);
  sfc32Fill(state, words, 1);
  sfc32Fill(state, words.subarray(1), 999);
  for (const w of words) assert.equal(w, p.next() * 4294967296);
  const other = createPrng(42, 1);
  const again = createPrng(42);
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => other.next()),
    Array.from({ length: 5 }, () => again.next()),
  );
});
