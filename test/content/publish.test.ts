import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import publishCommand from "../../src/cli/commands/publish.ts";
import { makeSampleContent } from "../../src/content/sampleContent.ts";
import { publishDir } from "../../src/content/publishDir.ts";
import {
  ManifestRootMismatchError,
  parseManifest,
  verifyManifest,
  InvalidManifestError,
  chunkRange,
} from "../../src/protocol/manifest.ts";
import { CHUNK, publishedOrigin, publisher, tempDir, writeContent } from "./fixtures.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function sink(): { stream: Writable; text(): string } {
  let out = "";
  return {
    stream: new Writable({ write(c, _e, cb) { out += String(c); cb(); } }),
    text: () => out,
  };
}

describe("publish", () => {
  it("chunks nested dirs, an empty file and a partial last chunk; the written manifest verifies", async () => {
    const tmp = await tempDir("publish");
    try {
      const files = await writeContent(tmp.path);
      await symlink("/etc/hostname", join(tmp.path, "link"));
      const { manifest, manifestPath, skipped } = await publishDir({ dir: tmp.path, signer: publisher, chunkSize: CHUNK, now: 1_700_000_000 });
      assert.equal(manifestPath, join(tmp.path, ".bandmint", `${manifest.contentId}.json`));
      assert.deepEqual(skipped, ["link"]);
      const onDisk = parseManifest(JSON.parse(await readFile(manifestPath, "utf8")));
      await verifyManifest(onDisk, { expectedContentId: manifest.contentId });
      assert.deepEqual(onDisk.files.map((f) => f.path), ["deep/a/b/c/data.bin", "empty.txt", "index.html", "video/hls/big.ts", "video/hls/index.m3u8"]);
      for (const f of onDisk.files) {
        const bytes = files[f.path]!;
        assert.equal(f.size, BigInt(bytes.length));
        const expected = [];
        for (let i = 0; i < f.chunks.length; i++) {
          const { start, end } = chunkRange(f.size, CHUNK, i);
          expected.push(sha(bytes.subarray(Number(start), Number(end))));
        }
        assert.deepEqual(f.chunks, expected, f.path);
      }
      const big = onDisk.files.find((f) => f.path === "video/hls/big.ts")!;
      assert.equal(big.chunks.length, 6);
      assert.equal(big.mediaType, "video/mp2t");
      assert.equal(onDisk.files.find((f) => f.path === "empty.txt")!.chunks.length, 0);
      assert.equal(onDisk.files.find((f) => f.path === "video/hls/index.m3u8")!.mediaType, "application/vnd.apple.mpegurl");
      // Republishing the same bytes at the same time gives the same content id; a changed byte does not.
      const again = await publishDir({ dir: tmp.path, signer: publisher, chunkSize: CHUNK, now: 1_700_000_000 });
      assert.equal(again.manifest.contentId, manifest.contentId);
      await writeFile(join(tmp.path, "index.html"), "changed");
      const changed = await publishDir({ dir: tmp.path, signer: publisher, chunkSize: CHUNK, now: 1_700_000_000 });
      assert.notEqual(changed.manifest.contentId, manifest.contentId);
    } finally {
      await tmp.remove();
    }
  });

  it("a tampered manifest file is rejected", async () => {
    const tmp = await tempDir("tamper");
    try {
      await writeContent(tmp.path);
      const { manifestPath, manifest } = await publishDir({ dir: tmp.path, signer: publisher, chunkSize: CHUNK, now: 1 });
      const json = JSON.parse(await readFile(manifestPath, "utf8"));
      const swapped = structuredClone(json);
      swapped.files[3].chunks[0] = "0".repeat(64);
      await assert.rejects(verifyManifest(parseManifest(swapped)), ManifestRootMismatchError);
      const resized = structuredClone(json);
      resized.files[3].size = "1";
      assert.throws(() => parseManifest(resized), InvalidManifestError);
      const escaped = structuredClone(json);
      escaped.files[0].path = "../etc/passwd";
      assert.throws(() => parseManifest(escaped), /\.\./);
      await verifyManifest(parseManifest(json), { expectedContentId: manifest.contentId });
    } finally {
      await tmp.remove();
    }
  });

  it("the CLI prints the content id and writes --out; a missing key is a user error", async () => {
    const tmp = await tempDir("cli");
    try {
      await writeContent(tmp.path);
      const out = sink();
      const err = sink();
      const outPath = join(tmp.path, "out", "m.json");
      const code = await publishCommand.run({
        values: { "chunk-size": "4096", key: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", out: outPath },
        positionals: [tmp.path],
        signal: new AbortController().signal,
        stdout: out.stream,
        stderr: err.stream,
      });
      assert.equal(code, 0);
      const id = out.text().trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      const m = parseManifest(JSON.parse(await readFile(outPath, "utf8")));
      assert.equal(m.contentId, id);
      await assert.rejects(
        publishCommand.run({ values: { "chunk-size": "4096" }, positionals: [tmp.path], signal: new AbortController().signal, stdout: out.stream, stderr: err.stream }),
        (e: { shortMessage?: string }) => /publisher key/.test(e.shortMessage ?? ""),
      );
    } finally {
      await tmp.remove();
    }
  });

  it("makeSampleContent without ffmpeg writes a valid playlist and TS-shaped segments that publish", async () => {
    const tmp = await tempDir("sample");
    try {
      const sample = await makeSampleContent(tmp.path, { useFfmpeg: false });
      assert.equal(sample.generated, true);
      const playlist = await readFile(join(tmp.path, "hls/index.m3u8"), "utf8");
      assert.match(playlist, /^#EXTM3U\n/);
      assert.match(playlist, /#EXT-X-ENDLIST\n$/);
      const segs = [...playlist.matchAll(/^(seg\d+\.ts)$/gm)].map((m) => m[1]);
      assert.equal(segs.length, 3);
      for (const s of segs) {
        const bytes = await readFile(join(tmp.path, "hls", s!));
        assert.equal(bytes.length % 188, 0);
        for (let o = 0; o < bytes.length; o += 188) assert.equal(bytes[o], 0x47);
      }
      const { manifest } = await publishDir({ dir: tmp.path, signer: publisher, now: 1 });
      assert.deepEqual(manifest.files.map((f) => f.path).sort(), [...sample.files].sort());
    } finally {
      await tmp.remove();
    }
  });
});

describe("origin", () => {
  it("serves the manifest and files with Range, HEAD and 404s", async () => {
    const o = await publishedOrigin();
    try {
      const id = o.manifest.contentId;
      const m = await fetch(`${o.url}/${id}/manifest.json`);
      assert.equal(m.status, 200);
      assert.equal(parseManifest(await m.json()).contentId, id);
      const big = o.files["video/hls/big.ts"]!;
      const full = await fetch(`${o.url}/${id}/video/hls/big.ts`);
      assert.equal(full.status, 200);
      assert.deepEqual(Buffer.from(await full.arrayBuffer()), big);
      const part = await fetch(`${o.url}/${id}/video/hls/big.ts`, { headers: { Range: "bytes=100-199" } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), `bytes 100-199/${big.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), big.subarray(100, 200));
      const head = await fetch(`${o.url}/${id}/index.html`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), String(o.files["index.html"]!.length));
      assert.equal(head.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal((await fetch(`${o.url}/${id}/nope`)).status, 404);
      assert.equal((await fetch(`${o.url}/${"a".repeat(64)}/index.html`)).status, 404);
      assert.equal((await fetch(`${o.url}/${id}/.bandmint/${id}.json`)).status, 404);
    } finally {
      await o.close();
    }
  });
});
