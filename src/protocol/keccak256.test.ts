import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, keccak256, stringToBytes } from "viem";
import { keccak256Bytes } from "./keccak256.ts";

test("known answers", () => {
  assert.equal(bytesToHex(keccak256Bytes(new Uint8Array(0))), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  assert.equal(bytesToHex(keccak256Bytes(stringToBytes("abc"))), "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
});

test("equals viem (@noble) keccak256 on every length around the block boundaries", () => {
  for (let n = 0; n <= 3 * 136 + 2; n++) {
    const input = new Uint8Array(n).map((_, i) => (i * 151 + n) & 0xff);
    assert.deepEqual(keccak256Bytes(input), keccak256(input, "bytes"), `length ${n}`);
  }
});

test("equals viem keccak256 on random inputs (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (input) => {
    assert.equal(bytesToHex(keccak256Bytes(input)), keccak256(input));
  }), { numRuns: 300 });
});
