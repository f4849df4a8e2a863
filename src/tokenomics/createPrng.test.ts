import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "./createPrng.ts";

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
