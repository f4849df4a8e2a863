import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatTokenAmount, InvalidAmountError, parseTokenAmount } from "./tokenAmount.ts";

test("parseTokenAmount parses exact decimal strings", () => {
  assert.equal(parseTokenAmount("12.5"), 12_500_000_000_000_000_000n);
  assert.equal(parseTokenAmount("0"), 0n);
  assert.equal(parseTokenAmount("1"), 10n ** 18n);
  assert.equal(parseTokenAmount("0.000000000000000001"), 1n);
  assert.equal(parseTokenAmount(" 3 "), 3n * 10n ** 18n);
  // 0.1 + 0.2 is not 0.30000000000000004 here.
  assert.equal(parseTokenAmount("0.1") + parseTokenAmount("0.2"), parseTokenAmount("0.3"));
  // The unit suffix is optional (node config style).
  assert.equal(parseTokenAmount("12.5 BAND"), 12_500_000_000_000_000_000n);
  assert.equal(parseTokenAmount("0.000000000000000001BAND"), 1n);
  assert.equal(parseTokenAmount("2 band"), 2n * 10n ** 18n);
});

test("parseTokenAmount rejects malformed amounts with a reason", () => {
  for (const bad of ["", "abc", "-1", "+1", "1e18", "1.", ".5", "1,5", "1_000", "0x10", "1.2.3", "Infinity", "NaN", "BAND", "1 ETH", "1 BAND BAND", "- 1 BAND"]) {
    assert.throws(() => parseTokenAmount(bad), (e: unknown) => e instanceof InvalidAmountError && e.input === bad, bad);
  }
  assert.throws(() => parseTokenAmount("0.0000000000000000001"), /decimal places/);
  assert.throws(() => parseTokenAmount("1" + "0".repeat(80)), /2\^256/);
});

test("format then parse is the identity for any amount (property)", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), (wei) => {
      assert.equal(parseTokenAmount(formatTokenAmount(wei)), wei);
    }),
  );
});

test("the BAND suffix never changes the value (property)", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.constantFrom("BAND", " BAND", "  band"), (wei, unit) => {
      const text = formatTokenAmount(wei);
      assert.equal(parseTokenAmount(`${text}${unit}`), parseTokenAmount(text));
    }),
  );
});

test("parse then format is canonical for any decimal string (property)", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{1,30}$/), fc.stringMatching(/^[0-9]{1,18}$/), (whole, fraction) => {
      const wei = parseTokenAmount(`${whole}.${fraction}`);
      const expected = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, "0"));
      assert.equal(wei, expected);
      assert.equal(formatTokenAmount(wei), formatTokenAmount(expected));
    }),
  );
});

test("parseTokenAmount honours other decimals", () => {
  assert.equal(parseTokenAmount("1.5", 6), 1_500_000n);
  assert.throws(() => parseTokenAmount("1.0000001", 6), InvalidAmountError);
  assert.equal(formatTokenAmount(1_500_000n, 6), "1.5");
});
