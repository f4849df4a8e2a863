import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { matchesIfNoneMatch, parseRange, requestedRange, type RangeResult } from "./parseRange.ts";
import { propertyRuns, withinTime } from "../protocol/testing/properties.ts";
import { referenceSlice, validRange } from "./testing/ranges.ts";

const partial = (start: bigint, end: bigint): RangeResult => ({ kind: "partial", start, end });
const FULL: RangeResult = { kind: "full" };
const UNSATISFIABLE: RangeResult = { kind: "unsatisfiable" };

test("parseRange follows RFC 9110 §14: single, open and suffix ranges; 416; what it ignores", () => {
  const cases: [string | undefined, bigint, RangeResult][] = [
    [undefined, 10n, FULL],
    ["bytes=2-4", 10n, partial(2n, 5n)],
    ["bytes=0-0", 10n, partial(0n, 1n)],
    ["bytes=-3", 10n, partial(7n, 10n)],
    ["bytes=-30", 10n, partial(0n, 10n)],
    ["bytes=-10", 10n, partial(0n, 10n)],
    ["bytes=8-", 10n, partial(8n, 10n)],
    ["bytes=5-99999999999999999999999999", 10n, partial(5n, 10n)],
    ["bytes=007-8", 10n, partial(7n, 9n)],
    ["BYTES=2-4", 10n, partial(2n, 5n)],
    [" bytes = 2-4 ", 10n, partial(2n, 5n)],
    ["bytes=2-4,", 10n, partial(2n, 5n)],
    ["bytes=, 2-4 ,,", 10n, partial(2n, 5n)],
    ["bytes=10-", 10n, UNSATISFIABLE],
    ["bytes=10-20", 10n, UNSATISFIABLE],
    ["bytes=-0", 10n, UNSATISFIABLE],
    ["bytes=0-", 0n, UNSATISFIABLE],
    ["bytes=-5", 0n, UNSATISFIABLE],
    ["bytes=0-1,3-4", 10n, FULL],
    ["bytes=0-1, 0-1", 10n, FULL],
    ["bytes=9-3", 10n, FULL],
    ["bytes=9-3", 5n, FULL],
    ["bytes=-", 10n, FULL],
    ["bytes=", 10n, FULL],
    ["bytes=,", 10n, FULL],
    ["bytes=1-2-3", 10n, FULL],
    ["bytes=+1-2", 10n, FULL],
    ["bytes=0x1-2", 10n, FULL],
    ["bytes=１-2", 10n, FULL],
    ["items=0-1", 10n, FULL],
    ["bytes", 10n, FULL],
    ["", 10n, FULL],
  ];
  for (const [header, size, expected] of cases) assert.deepEqual(parseRange(header, size), expected, `${header} of ${size}`);
});

test("requestedRange honours If-Range only for the current strong ETag", () => {
  const etag = `"${"ab".repeat(32)}"`;
  assert.deepEqual(requestedRange({ range: "bytes=0-9" }, 100n, etag), partial(0n, 10n));
  assert.deepEqual(requestedRange({ range: "bytes=0-9", "if-range": etag }, 100n, etag), partial(0n, 10n));
  for (const ifRange of ['"stale"', `W/${etag}`, "Wed, 21 Oct 2015 07:28:00 GMT", "", "*"]) {
    assert.deepEqual(requestedRange({ range: "bytes=0-9", "if-range": ifRange }, 100n, etag), FULL, ifRange);
  }
  // A server without a validator (the origin) cannot match any If-Range.
  assert.deepEqual(requestedRange({ range: "bytes=0-9", "if-range": etag }, 100n), FULL);
  assert.deepEqual(requestedRange({ range: "bytes=0-9" }, 100n), partial(0n, 10n));
  // A weak ETag never matches (strong comparison).
  assert.deepEqual(requestedRange({ range: "bytes=0-9", "if-range": `W/${etag}` }, 100n, `W/${etag}`), FULL);
  assert.deepEqual(requestedRange({ range: "bytes=100-", "if-range": etag }, 100n, etag), UNSATISFIABLE);
});

test("matchesIfNoneMatch: *, or a list holding the ETag (weak comparison)", () => {
  const etag = '"abc"';
  for (const yes of ["*", " * ", '"abc"', 'W/"abc"', '"x", "abc"', '"x",W/"abc" , "y"']) assert.equal(matchesIfNoneMatch(yes, etag), true, yes);
  for (const no of [undefined, "", '"abcd"', "abc", '"x"', '"ABC"', "**"]) assert.equal(matchesIfNoneMatch(no, etag), false, String(no));
  assert.equal(matchesIfNoneMatch('"abc"', 'W/"abc"'), true);
});

// A header, random or well formed: the property below holds for every string.
const anyHeader = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: fc.constantFrom(..."bytes=-,0123456789 \t"), maxLength: 40 }),
  fc.tuple(fc.constantFrom("bytes", "Bytes", "items", "", "byte"), fc.array(fc.tuple(fc.option(fc.bigInt({ min: 0n, max: 2n ** 70n })), fc.option(fc.bigInt({ min: 0n, max: 2n ** 70n }))), { maxLength: 3 }))
    .map(([unit, specs]) => `${unit}=${specs.map(([a, b]) => `${a ?? ""}-${b ?? ""}`).join(",")}`),
);
const anySize = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 100n }));

test("any header against any size: a result inside the representation, quickly (property)", () => {
  fc.assert(
    fc.property(anyHeader, anySize, (header, size) => {
      const r = withinTime(() => parseRange(header, size));
      if (r.kind === "partial") {
        assert.ok(r.start >= 0n && r.start < r.end && r.end <= size, `${header} of ${size}: [${r.start}, ${r.end})`);
      } else if (r.kind === "unsatisfiable") {
        assert.ok(size === 0n || /-/.test(header), header);
      }
    }),
    { numRuns: propertyRuns(2000) },
  );
  // Hostile lengths (up to the 16 KiB request head) stay linear.
  for (const header of [`bytes=${"9".repeat(16_000)}-`, `bytes=-${"9".repeat(16_000)}`, `bytes=${"0-0,".repeat(4000)}`, `bytes=${" ".repeat(16_000)}0-1`, `${"b".repeat(16_000)}=0-1`]) {
    withinTime(() => parseRange(header, 1000n));
  }
});

test("a valid single range yields exactly the reference slice, or 416 (property)", () => {
  fc.assert(
    fc.property(validRange(700), fc.uint8Array({ maxLength: 600 }), ({ header, spec }, bytes) => {
      const data = Buffer.from(bytes);
      const r = parseRange(header, BigInt(data.length));
      const expected = referenceSlice(data, spec);
      if (expected === 416) return assert.deepEqual(r, UNSATISFIABLE, header);
      assert.equal(r.kind, "partial", header);
      if (r.kind !== "partial") return;
      assert.deepEqual(data.subarray(Number(r.start), Number(r.end)), expected, header);
    }),
    { numRuns: propertyRuns(1000) },
  );
});

test("several ranges, other units and inverted ranges are ignored: the whole representation (property)", () => {
  const spec = fc.oneof(fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${a + b}`), fc.nat().map((n) => `-${n}`), fc.nat().map((n) => `${n}-`));
  fc.assert(
    fc.property(fc.array(spec, { minLength: 2, maxLength: 5 }), fc.bigInt({ min: 0n, max: 10n ** 12n }), (specs, size) => {
      assert.deepEqual(parseRange(`bytes=${specs.join(", ")}`, size), FULL);
    }),
    { numRuns: propertyRuns(300) },
  );
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 1000 }), fc.bigInt({ min: 0n, max: 10n ** 12n }), (last, gap, size) => {
      assert.deepEqual(parseRange(`bytes=${last + gap}-${last}`, size), FULL);
      assert.deepEqual(parseRange(`items=0-${last}`, size), FULL);
    }),
    { numRuns: propertyRuns(300) },
  );
});

test("If-Range: the current strong ETag keeps the range, any other value asks for everything (property)", () => {
  const tag = fc.stringMatching(/^[0-9a-f]{1,16}$/).map((h) => `"${h}"`);
  fc.assert(
    fc.property(tag, fc.option(fc.oneof(tag, tag.map((t) => `W/${t}`), fc.string({ maxLength: 30 }))), validRange(1200), fc.bigInt({ min: 0n, max: 1000n }), (etag, ifRange, { header }, size) => {
      const r = requestedRange({ range: header, ...(ifRange === null ? {} : { "if-range": ifRange }) }, size, etag);
      assert.deepEqual(r, ifRange === null || ifRange === etag ? parseRange(header, size) : FULL);
    }),
    { numRuns: propertyRuns(500) },
  );
});
