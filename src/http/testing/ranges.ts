// fast-check arbitraries for Range tests (not part of the public API): well-formed single ranges
// and what a reference reading of RFC 9110 §14 sends for them. Shared by the parser's unit test
// and the HTTP test that puts the origin, the edge and the gateway side by side.
import fc from "fast-check";

/** A well-formed single range with positions up to `maxPos` (unit case, list whitespace and empty elements vary): its text and its parts. */
export function validRange(maxPos: number) {
  return fc
    .record({
      unit: fc.constantFrom("bytes", "BYTES", "Bytes"),
      spec: fc.oneof(
        fc.record({ kind: fc.constant("int" as const), first: fc.nat({ max: maxPos }), length: fc.option(fc.nat({ max: maxPos })) }),
        fc.record({ kind: fc.constant("suffix" as const), n: fc.nat({ max: maxPos }) }),
      ),
      before: fc.constantFrom("", " ", ", ", ",,"),
      after: fc.constantFrom("", " ", " ,", ","),
    })
    .map(({ unit, spec, before, after }) => {
      const text = spec.kind === "suffix" ? `-${spec.n}` : `${spec.first}-${spec.length === null ? "" : spec.first + spec.length}`;
      return { header: `${unit}=${before}${text}${after}`, spec };
    });
}

/** The bytes a reference reading of the RFC sends for `spec` of `data` (Buffer.subarray clamps), or 416. */
export function referenceSlice(data: Buffer, spec: { kind: "int"; first: number; length: number | null } | { kind: "suffix"; n: number }): Buffer | 416 {
  if (spec.kind === "suffix") return spec.n === 0 || data.length === 0 ? 416 : data.subarray(Math.max(0, data.length - spec.n));
  if (spec.first >= data.length) return 416;
  return data.subarray(spec.first, spec.length === null ? undefined : spec.first + spec.length + 1);
}
