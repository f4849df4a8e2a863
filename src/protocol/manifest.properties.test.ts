// Properties of the manifest decoder (a manifest comes from a provider or an origin, so from the
// network): for any JSON a value or an InvalidManifestError naming the field, in bounded time; valid
// manifests round-trip; the file-versus-directory rule agrees with its plain definition.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Hex } from "viem";
import {
  buildManifest,
  chunkCount,
  InvalidManifestError,
  manifestRoot,
  ManifestRootMismatchError,
  ManifestSignatureError,
  manifestToJson,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  parseManifest,
  validateManifest,
  verifyManifest,
  type Manifest,
  type ManifestFile,
} from "./manifest.ts";
import { address, hexBytes } from "./testing/arbitraries.ts";
import { propertyRuns, valueOrTypedError, withinTime } from "./testing/properties.ts";

const segment = fc.oneof(fc.constantFrom("a", "b", "a.ts", "index.m3u8", "é", "x y", "-", "_"), fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== "." && s !== ".."));
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/")).filter((p) => p !== "manifest.json");

/** The rule as its docs state it: some path is both a file and another file's parent directory. */
function fileUsedAsDirectory(paths: string[]): boolean {
  const set = new Set(paths);
  return paths.some((p) => p.split("/").some((_, k, segments) => k > 0 && set.has(segments.slice(0, k).join("/"))));
}

const fileArb = (chunkSize: number): fc.Arbitrary<Omit<ManifestFile, "path">> =>
  fc
    .nat({ max: 5 * chunkSize })
    .chain((size) => fc.record({ size: fc.constant(BigInt(size)), mediaType: fc.constantFrom("video/mp2t", "text/plain; charset=utf-8", "application/octet-stream"), chunks: fc.array(hexBytes(32).map((h) => h.slice(2)), { minLength: chunkCount(BigInt(size), chunkSize), maxLength: chunkCount(BigInt(size), chunkSize) }) }, { noNullPrototype: true }));

/** A valid signed-looking manifest (the signature is not checked by parseManifest). */
const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({ chunkSize: fc.integer({ min: MIN_CHUNK_SIZE, max: 4 * MIN_CHUNK_SIZE }), createdAt: fc.nat(), publisher: address, signature: hexBytes(65), paths: fc.uniqueArray(path, { maxLength: 6 }) })
  .filter(({ paths }) => !fileUsedAsDirectory(paths))
  .chain(({ chunkSize, createdAt, publisher, signature, paths }) =>
    fc.tuple(...paths.map(() => fileArb(chunkSize))).map((files) => {
      const unsigned = buildManifest({ chunkSize, createdAt, publisher, files: files.map((f, i) => ({ ...f, path: paths[i]! })) });
      return { ...unsigned, contentId: manifestRoot(unsigned), signature: signature as Hex };
    }),
  );

const wire = (m: unknown) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>;

test("valid manifests round-trip through their JSON form (property)", () => {
  fc.assert(
    fc.property(manifestArb, (m) => {
      assert.deepEqual(parseManifest(wire(manifestToJson(m))), { ...m, signature: m.signature });
    }),
    { numRuns: propertyRuns(300) },
  );
});

test("a file used as a directory is refused exactly when the plain definition says so (property)", () => {
  fc.assert(
    fc.property(fc.uniqueArray(path, { maxLength: 8 }), (paths) => {
      const files = paths.map((p) => ({ path: p, size: 0n, mediaType: "x/y", chunks: [] }));
      const build = () => buildManifest({ chunkSize: MIN_CHUNK_SIZE, createdAt: 0, publisher: "0x0000000000000000000000000000000000000001", files });
      if (fileUsedAsDirectory(paths)) assert.throws(build, (e: unknown) => e instanceof InvalidManifestError && e.field === "files" && /both as a file and as a directory/.test(e.reason));
      else build();
    }),
    { numRuns: propertyRuns(1000) },
  );
});

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom("version", "contentId", "chunkSize", "createdAt", "publisher", "files", "signature", "path", "size", "mediaType", "chunks"), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 9 }),
);

test("any JSON parses to a manifest or an InvalidManifestError naming the field (an unknown key as sent) (property)", () => {
  fc.assert(
    fc.property(anyJson, (json) => {
      valueOrTypedError(() => withinTime(() => parseManifest(json)), [InvalidManifestError], (e) => assert.equal(typeof (e as InvalidManifestError).field, "string"));
    }),
    { numRuns: propertyRuns(1000) },
  );
});

const badValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", "0", "-1", "1.5", "18446744073709551616", "99999999999999999999", 1.5, -1, 2 ** 60, null, [], {}, "/abs", "a/../b", "a//b", "manifest.json", "A".repeat(64), "0x1234", `0x${"1".repeat(130)}`, "text/\nhtml", MAX_CHUNK_SIZE + 1, MIN_CHUNK_SIZE - 1),
);

test("a bad or missing field of a valid manifest is refused by name (property)", () => {
  fc.assert(
    fc.property(manifestArb, fc.option(badValue, { nil: undefined }), fc.nat(), fc.nat(), (m, bad, pickTop, pickFile) => {
      const json = wire(manifestToJson(m));
      const files = json.files as Record<string, unknown>[];
      const top = Object.keys(json);
      const fileKeys = ["path", "size", "mediaType", "chunks"];
      // Half the time a field of a file, else a top-level one.
      const inFile = files.length > 0 && pickTop % 2 === 0;
      const i = pickFile % Math.max(1, files.length);
      const field = inFile ? `files[${i}].${fileKeys[pickFile % 4]}` : top[pickTop % top.length]!;
      const target = inFile ? files[i]! : json;
      const key = inFile ? fileKeys[pickFile % 4]! : field;
      if (bad === undefined) delete target[key];
      else target[key] = bad;
      valueOrTypedError(() => withinTime(() => parseManifest(json)), [InvalidManifestError], (e) => {
        const named = (e as InvalidManifestError).field;
        // Fields checked against each other may name the other side: a size or chunkSize against a file's chunk count, a path against its neighbours.
        const related =
          named === field || named.startsWith(`${field}.`) || named.startsWith(`${field}[`) ||
          ((key === "chunkSize" || key === "size") && /^files\[\d+\]\.chunks$/.test(named)) ||
          (key === "path" && (/^files\[\d+\]\.path$/.test(named) || named === "files"));
        assert.ok(related, `${field} := ${JSON.stringify(bad)}: error names "${named}" (${(e as Error).message.slice(0, 200)})`);
      });
    }),
    { numRuns: propertyRuns(1000) },
  );
});

test("a manifest's root and signature are checked: any other bytes give a typed error, never a crash (property)", async () => {
  await fc.assert(
    fc.asyncProperty(manifestArb, fc.oneof(hexBytes(65), fc.nat({ max: 70 }).chain((n) => hexBytes(n))), async (m, signature) => {
      await assert.rejects(verifyManifest({ ...m, signature }), (e: unknown) => e instanceof ManifestSignatureError);
      await assert.rejects(verifyManifest(m, { expectedContentId: "f".repeat(64) }), (e: unknown) => e instanceof ManifestRootMismatchError || e instanceof ManifestSignatureError);
    }),
    { numRuns: propertyRuns(50) },
  );
});

test("large hostile manifests are decoded in bounded time", () => {
  const deep = Array.from({ length: 509 }, () => "a").join("/");
  const many = (n: number, pathOf: (i: number) => string) => ({
    version: 1, contentId: "0".repeat(64), chunkSize: 1024, createdAt: 1, publisher: `0x${"00".repeat(20)}`, signature: `0x${"00".repeat(65)}`,
    files: Array.from({ length: n }, (_, i) => ({ path: pathOf(i), size: "0", mediaType: "x/y", chunks: [] })),
  });
  // A whole 1 MB manifest is more than one small input: its own, looser bound (still far below the
  // ~7 s a per-path set of parent directories took for this one).
  const BULK_MS = 2_000;
  // 1 MB of 1,000 paths 510 segments deep.
  withinTime(() => parseManifest(wire(many(1000, (i) => `${String(i).padStart(4, "0")}/${deep}`))), BULK_MS);
  // 1,000 files that are each other's string prefixes (a, aa, aaa...) but not directories.
  withinTime(() => parseManifest(wire(many(1000, (i) => "a".repeat(i + 1)))), BULK_MS);
  // A chunk list far longer than the size allows, and a size far beyond the chunk list.
  for (const file of [{ path: "x", size: "1", mediaType: "x/y", chunks: Array.from({ length: 100_000 }, () => "0".repeat(64)) }, { path: "x", size: "18446744073709551615", mediaType: "x/y", chunks: [] }]) {
    valueOrTypedError(() => withinTime(() => parseManifest(wire({ ...many(0, String), files: [file] })), BULK_MS), [InvalidManifestError]);
  }
  validateManifest(parseManifest(wire(many(3, (i) => `d${i}/f`))));
});
