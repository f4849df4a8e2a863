import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import {
  buildManifest,
  canonicalManifest,
  chunkCount,
  chunkRange,
  ChunkHashMismatchError,
  InvalidManifestError,
  manifestRoot,
  ManifestRootMismatchError,
  ManifestSignatureError,
  mediaTypeFor,
  parseManifest,
  serializeManifest,
  sha256Hex,
  signManifest,
  validateManifestPath,
  verifyChunk,
  verifyManifest,
  type ManifestFile,
} from "./manifest.ts";

const publisher = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const other = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

function fileOf(path: string, bytes: Buffer, chunkSize: number): ManifestFile {
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(sha256Hex(bytes.subarray(i, i + chunkSize)));
  return { path, size: BigInt(bytes.length), mediaType: mediaTypeFor(path), chunks };
}

const big = Buffer.alloc(2500, 7);
const files = [fileOf("video/seg1.ts", big, 1024), fileOf("a.txt", Buffer.from("hello"), 1024), fileOf("empty", Buffer.alloc(0), 1024)];

describe("manifest", () => {
  it("chunks a file into ceil(size/chunkSize) ranges, the last one partial", () => {
    assert.equal(chunkCount(0n, 1024), 0);
    assert.equal(chunkCount(1024n, 1024), 1);
    assert.equal(chunkCount(2500n, 1024), 3);
    assert.deepEqual(chunkRange(2500n, 1024, 2), { start: 2048n, end: 2500n });
    assert.deepEqual(chunkRange(2500n, 1024, 0), { start: 0n, end: 1024n });
  });

  it("maps extensions to media types", () => {
    assert.equal(mediaTypeFor("x/index.m3u8"), "application/vnd.apple.mpegurl");
    assert.equal(mediaTypeFor("seg.TS"), "video/mp2t");
    assert.equal(mediaTypeFor("a.mp4"), "video/mp4");
    assert.equal(mediaTypeFor("noext"), "application/octet-stream");
    assert.equal(mediaTypeFor(".hidden"), "application/octet-stream");
  });

  it("rejects unsafe paths", () => {
    for (const p of ["", "/etc/passwd", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "c:x", "a\nb", "manifest.json"])
      assert.throws(() => validateManifestPath(p), InvalidManifestError, p);
    validateManifestPath("dir/manifest.json");
    validateManifestPath(".well-known/x y.txt");
  });

  it("sorts files by UTF-8 bytes and hashes the canonical form", () => {
    const m = buildManifest({ files, publisher: publisher.address, chunkSize: 1024, createdAt: 1700000000 });
    assert.deepEqual(m.files.map((f) => f.path), ["a.txt", "empty", "video/seg1.ts"]);
    const text = canonicalManifest(m);
    assert.ok(text.startsWith(`bandmint-manifest:1\nchunkSize:1024\ncreatedAt:1700000000\npublisher:${publisher.address.toLowerCase()}\nfiles:3\npath:a.txt\nsize:5\n`));
    assert.ok(text.includes("path:empty\nsize:0\nmediaType:application/octet-stream\nchunks:0\npath:video/seg1.ts\n"));
    assert.equal(manifestRoot(m), createHash("sha256").update(text).digest("hex"));
  });

  it("rejects unsorted, duplicate, file-as-directory and wrong chunk counts", () => {
    const base = { version: 1 as const, chunkSize: 1024, createdAt: 1, publisher: publisher.address };
    const a = fileOf("a", Buffer.from("x"), 1024);
    assert.throws(() => manifestRoot({ ...base, files: [fileOf("b", Buffer.from("x"), 1024), a] }), /strictly after/);
    assert.throws(() => manifestRoot({ ...base, files: [a, a] }), /strictly after/);
    assert.throws(() => manifestRoot({ ...base, files: [a, fileOf("a/b", Buffer.from("x"), 1024)] }), /both as a file and as a directory/);
    assert.throws(() => manifestRoot({ ...base, files: [{ ...a, size: 5000n }] }), /entries/);
    assert.throws(() => manifestRoot({ ...base, chunkSize: 10, files: [] }), /chunkSize/);
  });

  it("signs, round-trips through JSON and verifies", async () => {
    const signed = await signManifest(buildManifest({ files, publisher: publisher.address, chunkSize: 1024, createdAt: 1700000000 }), publisher);
    const parsed = parseManifest(JSON.parse(serializeManifest(signed)));
    assert.deepEqual(parsed, signed);
    await verifyManifest(parsed, { expectedContentId: signed.contentId });
    assert.equal(parsed.files[2]?.size, 2500n);
  });

  it("rejects a tampered manifest, a wrong content id and a foreign signature", async () => {
    const signed = await signManifest(buildManifest({ files, publisher: publisher.address, chunkSize: 1024, createdAt: 1700000000 }), publisher);
    const tampered = structuredClone(signed);
    tampered.files[1]!.mediaType = "text/html";
    await assert.rejects(verifyManifest(tampered), ManifestRootMismatchError);
    await assert.rejects(verifyManifest(signed, { expectedContentId: "0".repeat(64) }), ManifestRootMismatchError);
    const forged = await signManifest({ ...signed, publisher: other.address }, other);
    await assert.rejects(verifyManifest({ ...forged, publisher: publisher.address, contentId: signed.contentId }), ManifestSignatureError);
    await assert.rejects(verifyManifest({ ...signed, signature: forged.signature }), ManifestSignatureError);
    assert.throws(() => parseManifest({ ...JSON.parse(serializeManifest(signed)), extra: 1 }), /not a known field/);
    await assert.rejects(signManifest(signed, other), /signer/);
  });

  it("verifies chunk bytes", () => {
    const f = fileOf("x", big, 1024);
    verifyChunk(f, 2, big.subarray(2048));
    assert.throws(() => verifyChunk(f, 2, big.subarray(2047)), ChunkHashMismatchError);
  });
});
