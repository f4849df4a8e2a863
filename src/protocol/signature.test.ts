import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Hex } from "viem";
import { InvalidSignatureError } from "./errors.ts";
import { SECP256K1_HALF_N, SECP256K1_N, assertCanonicalSignature, isCanonicalSignature, normalizeSignature } from "./signature.ts";

const word = (n: bigint) => n.toString(16).padStart(64, "0");
const sig = (r: bigint, s: bigint, v: number) => `0x${word(r)}${word(s)}${v.toString(16).padStart(2, "0")}` as Hex;

function rejectsWith(s: Hex, reason: RegExp) {
  assert.throws(() => normalizeSignature(s), (e: unknown) => e instanceof InvalidSignatureError && reason.test(e.reason));
}

test("normalizeSignature maps v 0/1 to 27/28 and keeps 27/28", () => {
  assert.equal(normalizeSignature(sig(5n, 6n, 0)), sig(5n, 6n, 27));
  assert.equal(normalizeSignature(sig(5n, 6n, 1)), sig(5n, 6n, 28));
  assert.equal(normalizeSignature(sig(5n, 6n, 27)), sig(5n, 6n, 27));
  assert.equal(normalizeSignature(sig(5n, 6n, 28)), sig(5n, 6n, 28));
  assert.equal(normalizeSignature(sig(0xabn, 6n, 28).toUpperCase().replace("0X", "0x") as Hex), sig(0xabn, 6n, 28));
});

test("normalizeSignature rejects non-canonical and malformed signatures", () => {
  rejectsWith(sig(5n, 6n, 2), /v must be 0, 1, 27 or 28/);
  rejectsWith(sig(5n, 6n, 29), /v must be/);
  rejectsWith(`0x${word(5n)}${word(6n)}` as Hex, /EIP-2098/);
  rejectsWith("0x1234", /65 bytes/);
  rejectsWith(`${sig(5n, 6n, 27)}00` as Hex, /65 bytes/);
  rejectsWith(("0x" + "zz".repeat(65)) as Hex, /hex/);
  rejectsWith("1234" as Hex, /0x/);
  rejectsWith(sig(0n, 6n, 27), /r must be/);
  rejectsWith(sig(SECP256K1_N, 6n, 27), /r must be/);
  rejectsWith(sig(5n, 0n, 27), /s must not be zero/);
  rejectsWith(sig(5n, SECP256K1_HALF_N + 1n, 27), /at most n\/2/);
  rejectsWith(sig(5n, SECP256K1_N - 1n, 27), /at most n\/2/);
  // Boundaries that are accepted.
  assert.equal(normalizeSignature(sig(SECP256K1_N - 1n, SECP256K1_HALF_N, 27)), sig(SECP256K1_N - 1n, SECP256K1_HALF_N, 27));
});

test("assertCanonicalSignature accepts only v 27/28", () => {
  assert.deepEqual(assertCanonicalSignature(sig(5n, 6n, 28)), { r: `0x${word(5n)}`, s: `0x${word(6n)}`, recovery: 1 });
  assert.throws(() => assertCanonicalSignature(sig(5n, 6n, 1)), /v must be 27 or 28/);
  assert.equal(isCanonicalSignature(sig(5n, 6n, 0)), false);
  assert.equal(isCanonicalSignature(sig(5n, 6n, 27)), true);
});

test("string comparison of s agrees with numeric comparison (property)", () => {
  fc.assert(fc.property(fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }), fc.bigInt({ min: 1n, max: 2n ** 256n - 1n }), fc.constantFrom(27, 28), (r, s, v) => {
    assert.equal(isCanonicalSignature(sig(r, s, v)), s <= SECP256K1_HALF_N);
  }), { numRuns: 500 });
});
