import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPartialFile } from "./partialFile.ts";
import type { ManifestFile } from "../protocol/manifest.ts";
import { ResumeStateError } from "./errors.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
function fileOf(data: Buffer, chunkSize: number): ManifestFile {
  const chunks: string[] = [];
  for (let o = 0; o < data.length; o += chunkSize) chunks.push(sha(data.subarray(o, o + chunkSize)));
  return { path: "a/b.bin", size: BigInt(data.length), mediaType: "application/octet-stream", chunks };
}

test("partial file resumes with the verified chunks and completes byte-exact", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bm-part-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(10_000);
  const file = fileOf(data, 4096); // 3 chunks, the last one short
  const out = join(dir, "out.bin");
  const first = await openPartialFile({ out, contentId: "c1", chunkSize: 4096, file });
  await first.writeVerified(2, data.subarray(8192));
  await first.writeVerified(0, data.subarray(0, 4096));
  await first.close();

  const second = await openPartialFile({ out, contentId: "c1", chunkSize: 4096, file });
  assert.deepEqual([0, 1, 2].map((i) => second.isVerified(i)), [true, false, true]);
  assert.equal(second.verifiedBytes(), 4096n + 1808n);
  await assert.rejects(second.complete(), /not verified/);
  await second.writeVerified(1, data.subarray(4096, 8192));
  await second.complete();
  assert.deepEqual(await readFile(out), data);
  await assert.rejects(stat(`${out}.part.state`), { code: "ENOENT" });
});

test("a chunk the state lists but the part file does not hold is refetched", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bm-part-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(8192);
  const file = fileOf(data, 4096);
  const out = join(dir, "out.bin");
  const first = await openPartialFile({ out, contentId: "c1", chunkSize: 4096, file });
  await first.writeVerified(0, data.subarray(0, 4096));
  await first.writeVerified(1, data.subarray(4096));
  await first.close();
  // Simulate a crash that lost the data of chunk 1 but not the state.
  const damaged = Buffer.from(data);
  damaged.fill(0, 4096);
  await writeFile(`${out}.part`, damaged);
  const second = await openPartialFile({ out, contentId: "c1", chunkSize: 4096, file });
  assert.equal(second.isVerified(0), true);
  assert.equal(second.isVerified(1), false);
  await second.close();
});

test("state of other content is refused, empty files complete at once", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bm-part-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(100);
  const out = join(dir, "x");
  const a = await openPartialFile({ out, contentId: "c1", chunkSize: 64, file: fileOf(data, 64) });
  await a.close();
  await assert.rejects(openPartialFile({ out, contentId: "c2", chunkSize: 64, file: fileOf(data, 64) }), ResumeStateError);
  const empty = await openPartialFile({ out: join(dir, "empty"), contentId: "c1", chunkSize: 64, file: { path: "e", size: 0n, mediaType: "text/plain", chunks: [] } });
  await empty.complete();
  assert.equal((await stat(join(dir, "empty"))).size, 0);
});
