import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, hexToBytes, numberToHex } from "viem";
import { readUint256, toHexString, writeHex, writeUint256 } from "./hex.ts";
import { uint256 } from "./testing/arbitraries.ts";

test("writeUint256 and readUint256 agree with viem (property)", () => {
  fc.assert(fc.property(uint256, fc.integer({ min: 0, max: 8 }), (n, offset) => {
    const out = new Uint8Array(offset + 32);
    writeUint256(out, offset, n);
    assert.equal(bytesToHex(out.subarray(offset)), numberToHex(n, { size: 32 }));
    assert.equal(readUint256(out, offset), n);
  }), { numRuns: 500 });
});

test("writeHex decodes any case and toHexString encodes lowercase (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.boolean(), (bytes, upper) => {
    const hex = bytesToHex(bytes);
    const input = upper ? (`0x${hex.slice(2).toUpperCase()}` as const) : hex;
    const out = new Uint8Array(bytes.length);
    assert.equal(writeHex(out, 0, input, bytes.length), true);
    assert.deepEqual(out, hexToBytes(hex));
    assert.equal(toHexString(out), hex);
  }), { numRuns: 300 });
});

test("writeHex rejects wrong length, missing prefix and non-hex characters", () => {
  const out = new Uint8Array(2);
  assert.equal(writeHex(out, 0, "0x123", 2), false);
  assert.equal(writeHex(out, 0, "0x123456", 2), false);
  assert.equal(writeHex(out, 0, "001234", 2), false);
  assert.equal(writeHex(out, 0, "0X1234", 2), true);
  for (const bad of ["0x12g4", "0x12 4", "0x12\u00e94", "0x12\u01304", "0x12/4", "0x12:4", "0x12@4", "0x12`4"]) {
    assert.equal(writeHex(out, 0, bad, 2), false, JSON.stringify(bad));
  }
});
