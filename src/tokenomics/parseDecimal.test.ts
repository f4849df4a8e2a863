import assert from "node:assert/strict";
import { test } from "node:test";
import { formatUnits, parseDecimal } from "./parseDecimal.ts";

test("parseDecimal converts decimals to integer units exactly", () => {
  assert.equal(parseDecimal("1.5", 18), 1_500_000_000_000_000_000n);
  assert.equal(parseDecimal(0.1, 18), 100_000_000_000_000_000n); // not 0.1000000000000000055...
  assert.equal(parseDecimal("2e6", 0), 2_000_000n);
  assert.equal(parseDecimal(".25", 2), 25n);
  assert.equal(parseDecimal("1_000", 0), 1000n);
  assert.equal(parseDecimal("1e-18", 18), 1n);
  assert.equal(parseDecimal(1e21, 0), 10n ** 21n);
});

test("parseDecimal rejects what is not an exact non-negative decimal", () => {
  assert.equal(parseDecimal("1e-19", 18), undefined);
  assert.equal(parseDecimal("0.001", 2), undefined);
  assert.equal(parseDecimal("-1", 18), undefined);
  assert.equal(parseDecimal("abc", 18), undefined);
  assert.equal(parseDecimal("", 18), undefined);
});

test("formatUnits groups thousands and truncates the fraction", () => {
  assert.equal(formatUnits(1_234_567_890_000_000_000_000n, 18), "1,234.56");
  assert.equal(formatUnits(-500_000_000_000_000_000n, 18), "-0.5");
  assert.equal(formatUnits(7n * 10n ** 18n, 18), "7");
});
