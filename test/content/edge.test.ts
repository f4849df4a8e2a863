import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OriginServer } from "../../src/content/originServer.ts";
import { publishDir } from "../../src/content/publishDir.ts";
import { BaseError } from "../../src/protocol/errors.ts";
import { createEdge, type Edge } from "../../src/node/edge/createEdge.ts";
import type { PaymentGate } from "../../src/node/edge/paymentGate.ts";
import { CHUNK, publishedOrigin, publisher, tempDir, writeContent, type PublishedOrigin } from "./fixtures.ts";

const MiB = 1 << 20;

async function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  const res = await fetch(url, { headers, method });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

function chunkRequests(o: PublishedOrigin): string[] {
  return o.requests.filter((r) => !r.includes("manifest.json"));
}

async function startEdge(cacheDir: string, origins: string[], extra: Partial<Parameters<typeof createEdge>[0]> = {}): Promise<{ edge: Edge; url: string }> {
  const edge = createEdge({ cacheDir, maxCacheBytes: 64 * MiB, origins, ...extra });
  return { edge, url: await edge.start() };
}

/** Polls `condition` until it holds or `ms` pass (callbacks after a response closes are not instant, least of all on a loaded machine). */
async function waitFor(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe("edge", () => {
  let o: PublishedOrigin;
  let id: string;
  let big: Buffer;
  before(async () => {
    o = await publishedOrigin();
    id = o.manifest.contentId;
    big = o.files["video/hls/big.ts"]!;
  });
  after(() => o.close());

  it("serves a miss from the origin, then from cache; a restart keeps the cache", async () => {
    const cache = await tempDir("edge-cache");
    try {
      let { edge, url } = await startEdge(cache.path, [o.url]);
      o.requests.length = 0;
      const first = await get(`${url}/c/${id}/video/hls/big.ts`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, big);
      assert.equal(o.requests.filter((r) => r.includes("manifest.json")).length, 1);
      assert.equal(chunkRequests(o).length, 6);
      const again = await get(`${url}/c/${id}/video/hls/big.ts`);
      assert.deepEqual(again.body, big);
      assert.equal(o.requests.length, 7, "second request must not reach the origin");
      assert.equal(edge.stats().memoryHits >= 6, true);
      await edge.stop();

      ({ edge, url } = await startEdge(cache.path, [o.url]));
      const afterRestart = await get(`${url}/c/${id}/video/hls/big.ts`, { Range: "bytes=5000-" });
      assert.equal(afterRestart.status, 206);
      assert.deepEqual(afterRestart.body, big.subarray(5000));
      assert.equal(o.requests.length, 7, "a restarted edge serves from its disk cache");
      assert.equal(edge.stats().diskHits, 5);
      await edge.stop();
    } finally {
      await cache.remove();
    }
  });

  it("coalesces 20 concurrent misses into one origin fetch per chunk", async () => {
    const cache = await tempDir("edge-coalesce");
    const { edge, url } = await startEdge(cache.path, [o.url]);
    try {
      o.requests.length = 0;
      const results = await Promise.all(Array.from({ length: 20 }, () => get(`${url}/c/${id}/video/hls/big.ts`)));
      for (const r of results) assert.deepEqual(r.body, big);
      assert.equal(o.requests.filter((r) => r.includes("manifest.json")).length, 1);
      const ranges = chunkRequests(o);
      assert.equal(ranges.length, 6, ranges.join("\n"));
      assert.equal(new Set(ranges).size, 6);
    } finally {
      await edge.stop();
      await cache.remove();
    }
  });

  it("implements Range, HEAD, 304, 416, CORS and error routes", async () => {
    const cache = await tempDir("edge-http");
    const { edge, url } = await startEdge(cache.path, [o.url]);
    try {
      const file = `${url}/c/${id}/video/hls/big.ts`;
      const size = big.length;
      const cases: [string, number, number, number][] = [
        ["bytes=-500", 206, size - 500, size],
        ["bytes=100-", 206, 100, size],
        ["bytes=0-0", 206, 0, 1],
        ["bytes=4090-8200", 206, 4090, 8201],
        [`bytes=10-${size + 1000}`, 206, 10, size],
        [`bytes=-${size + 5}`, 206, 0, size],
        ["bytes=0-1,5-6", 200, 0, size],
        ["bytes=9-3", 200, 0, size],
        ["items=0-3", 200, 0, size],
      ];
      for (const [range, status, start, end] of cases) {
        const r = await get(file, { Range: range });
        assert.equal(r.status, status, range);
        assert.deepEqual(r.body, big.subarray(start, end), range);
        assert.equal(r.headers.get("content-length"), String(end - start), range);
        if (status === 206) assert.equal(r.headers.get("content-range"), `bytes ${start}-${end - 1}/${size}`, range);
        assert.equal(r.headers.get("accept-ranges"), "bytes");
        assert.equal(r.headers.get("content-type"), "video/mp2t");
        assert.equal(r.headers.get("access-control-allow-origin"), "*");
      }
      const unsat = await get(file, { Range: `bytes=${size}-` });
      assert.equal(unsat.status, 416);
      assert.equal(unsat.headers.get("content-range"), `bytes */${size}`);

      const head = await get(file, {}, "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers.get("content-length"), String(size));
      const etag = head.headers.get("etag")!;
      assert.match(etag, /^"[0-9a-f]{64}"$/);
      const headRange = await get(file, { Range: "bytes=1-2" }, "HEAD");
      assert.equal(headRange.status, 206);
      assert.equal(headRange.headers.get("content-length"), "2");

      const notModified = await get(file, { "If-None-Match": `"x", ${etag}` });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.body.length, 0);
      assert.equal((await get(file, { "If-None-Match": '"other"' })).status, 200);
      const ifRangeStale = await get(file, { Range: "bytes=0-9", "If-Range": '"stale"' });
      assert.equal(ifRangeStale.status, 200);
      assert.equal((await get(file, { Range: "bytes=0-9", "If-Range": etag })).status, 206);

      const empty = await get(`${url}/c/${id}/empty.txt`);
      assert.equal(empty.status, 200);
      assert.equal(empty.headers.get("content-length"), "0");
      assert.equal((await get(`${url}/c/${id}/empty.txt`, { Range: "bytes=0-" })).status, 416);
      assert.equal((await get(`${url}/c/${id}/empty.txt`, { Range: "bytes=-5" })).status, 416);

      const nested = await get(`${url}/c/${id}/deep/a/b/c/data.bin`);
      assert.deepEqual(nested.body, o.files["deep/a/b/c/data.bin"]);
      const playlist = await get(`${url}/c/${id}/video/hls/index.m3u8`);
      assert.equal(playlist.headers.get("content-type"), "application/vnd.apple.mpegurl");

      const manifest = await get(`${url}/c/${id}/manifest.json`);
      assert.equal(manifest.status, 200);
      assert.equal(JSON.parse(manifest.body.toString()).contentId, id);
      assert.equal((await get(`${url}/c/${id}/manifest.json`, { "If-None-Match": `"${id}"` })).status, 304);

      const preflight = await get(file, { Origin: "http://player.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range,x-bandmint-session" }, "OPTIONS");
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-headers"), "range,x-bandmint-session");
      assert.match(preflight.headers.get("access-control-allow-methods")!, /GET/);

      const missing = await get(`${url}/c/${id}/nope.txt`);
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.body.toString()).error, "FileNotFoundError");
      const unknown = await get(`${url}/c/${"ab".repeat(32)}/x`);
      assert.equal(unknown.status, 404);
      assert.equal(JSON.parse(unknown.body.toString()).error, "ContentNotFoundError");
      assert.equal((await get(`${url}/c/xyz/x`)).status, 404);
      assert.equal((await get(`${url}/other`)).status, 404);
      assert.equal((await get(file, {}, "DELETE")).status, 405);
    } finally {
      await edge.stop();
      await cache.remove();
    }
  });

  it("evicts least recently used chunks to stay under maxCacheBytes", async () => {
    const cache = await tempDir("edge-evict");
    const { edge, url } = await startEdge(cache.path, [o.url], { maxCacheBytes: 3 * CHUNK, maxMemoryBytes: 0 });
    try {
      assert.deepEqual((await get(`${url}/c/${id}/video/hls/big.ts`)).body, big);
      const s = edge.stats();
      assert.ok(s.cacheBytes <= 3 * CHUNK, `${s.cacheBytes}`);
      assert.equal(s.cacheChunks, 3);
      // Let the deferred unlinks land before counting files.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await readdir(join(cache.path, "chunks"))).length, 3);
      o.requests.length = 0;
      // The last three chunks stayed; the first one was evicted and must come from the origin again.
      assert.deepEqual((await get(`${url}/c/${id}/video/hls/big.ts`, { Range: "bytes=-100" })).body, big.subarray(-100));
      assert.equal(chunkRequests(o).length, 0);
      assert.deepEqual((await get(`${url}/c/${id}/video/hls/big.ts`, { Range: "bytes=0-99" })).body, big.subarray(0, 100));
      assert.equal(chunkRequests(o).length, 1);
    } finally {
      await edge.stop();
      await cache.remove();
    }
  });

  it("never serves or caches corrupted origin bytes (502), and falls back to a good origin", async (t) => {
    const bad = await publishedOrigin();
    t.after(() => bad.close());
    const cache = await tempDir("edge-corrupt");
    const badId = bad.manifest.contentId;
    const original = bad.files["video/hls/big.ts"]!;
    const corrupted = Buffer.from(original);
    corrupted[CHUNK * 2 + 7] = corrupted[CHUNK * 2 + 7]! ^ 0xff;
    await writeFile(join(bad.dir, "video/hls/big.ts"), corrupted);
    // The gate must hear of every admitted body, a failed one too (with 0 bytes served).
    const grants: { requested: bigint; served?: bigint }[] = [];
    const gate: PaymentGate = {
      async admit(_req, r) {
        const g: { requested: bigint; served?: bigint } = { requested: r.end - r.start };
        grants.push(g);
        return { served: (b) => void (g.served = b) };
      },
    };
    const { edge, url } = await startEdge(cache.path, [bad.url], { gate });
    try {
      const r = await get(`${url}/c/${badId}/video/hls/big.ts`, { Range: `bytes=${CHUNK * 2}-${CHUNK * 2 + 99}` });
      assert.equal(r.status, 502);
      assert.deepEqual(grants, [{ requested: 100n, served: 0n }], "an origin failure releases the admitted bytes");
      const body = JSON.parse(r.body.toString());
      assert.equal(body.error, "OriginFailedError");
      assert.match(body.details, /does not match the manifest/);
      // Chunks before the bad one are fine and served; the bad one was not cached.
      assert.deepEqual((await get(`${url}/c/${badId}/video/hls/big.ts`, { Range: "bytes=0-99" })).body, original.subarray(0, 100));
      bad.requests.length = 0;
      assert.equal((await get(`${url}/c/${badId}/video/hls/big.ts`, { Range: `bytes=${CHUNK * 2}-${CHUNK * 2}` })).status, 502);
      assert.equal(chunkRequests(bad).length, 1, "a bad chunk is refetched, never cached");
      // A full-file request whose 3rd chunk is bad must not deliver a complete 200 body.
      const full = await fetch(`${url}/c/${badId}/video/hls/big.ts`).then((res) => res.arrayBuffer()).then(
        (b) => Buffer.from(b),
        () => undefined,
      );
      assert.ok(full === undefined || !full.equals(corrupted), "corrupted bytes served");
      assert.ok(full === undefined || full.length < original.length);
    } finally {
      await edge.stop();
      await cache.remove();
    }
    // Same content from a corrupt origin, then a good one: served from the good one.
    const cache2 = await tempDir("edge-failover");
    const goodDir = await tempDir("good-origin");
    const goodOrigin = new OriginServer({ dir: goodDir.path });
    try {
      await writeContent(goodDir.path);
      for (const [p, bytes] of Object.entries(bad.files)) await writeFile(join(goodDir.path, p), bytes);
      const { manifest } = await publishDir({ dir: goodDir.path, signer: publisher, chunkSize: CHUNK, now: 1_700_000_000 });
      assert.equal(manifest.contentId, badId, "same bytes, same time: same content id");
      const goodUrl = await goodOrigin.start();
      const { edge: e2, url: u2 } = await startEdge(cache2.path, [bad.url, goodUrl]);
      try {
        const r = await get(`${u2}/c/${badId}/video/hls/big.ts`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, original);
      } finally {
        await e2.stop();
      }
    } finally {
      await goodOrigin.stop();
      await cache2.remove();
      await goodDir.remove();
    }
  });

  it("rejects a manifest that does not hash to the requested content id (502)", async () => {
    const cache = await tempDir("edge-badmanifest");
    const path = join(o.dir, ".bandmint", `${id}.json`);
    const saved = await readFile(path, "utf8");
    const fakeId = "f".repeat(64);
    const fakePath = join(o.dir, ".bandmint", `${fakeId}.json`);
    // The origin serves a valid manifest under a content id it does not hash to.
    await writeFile(fakePath, saved.replace(id, fakeId));
    const { edge, url } = await startEdge(cache.path, [o.url]);
    try {
      const r = await get(`${url}/c/${fakeId}/index.html`);
      assert.equal(r.status, 502);
      assert.match(JSON.parse(r.body.toString()).details, /root hash/);
    } finally {
      await edge.stop();
      await cache.remove();
      const { rm } = await import("node:fs/promises");
      await rm(fakePath);
    }
  });

  it("calls the payment gate with the range, reports served bytes, maps its errors to HTTP", async () => {
    const cache = await tempDir("edge-gate");
    class PaymentRequiredError extends BaseError {
      override name = "PaymentRequiredError";
    }
    const admitted: { path: string; start: bigint; end: bigint }[] = [];
    const served: bigint[] = [];
    const gate: PaymentGate = {
      async admit(req, r) {
        if (req.headers["x-pay"] !== "yes") throw new PaymentRequiredError("Pay first.", { details: "need 1 ticket" });
        admitted.push({ path: r.path, start: r.start, end: r.end });
        return { served: (b) => served.push(b), headers: { "X-Bandmint-Credit": "42" } };
      },
    };
    const { edge, url } = await startEdge(cache.path, [o.url], { gate });
    try {
      const refused = await get(`${url}/c/${id}/video/hls/big.ts`);
      assert.equal(refused.status, 402);
      assert.deepEqual(JSON.parse(refused.body.toString()), { error: "PaymentRequiredError", message: "Pay first.", details: "need 1 ticket" });
      assert.equal((await get(`${url}/c/${id}/video/hls/big.ts`, {}, "HEAD")).status, 200, "HEAD is free");
      assert.equal((await get(`${url}/c/${id}/manifest.json`)).status, 200, "manifest is free");
      const ok = await get(`${url}/c/${id}/video/hls/big.ts`, { "x-pay": "yes", Range: "bytes=10-5000" });
      assert.equal(ok.status, 206);
      assert.equal(ok.headers.get("x-bandmint-credit"), "42");
      assert.deepEqual(admitted, [{ path: "video/hls/big.ts", start: 10n, end: 5001n }]);
      const small = await get(`${url}/c/${id}/index.html`, { "x-pay": "yes" });
      assert.equal(small.status, 200);
      await waitFor(() => served.length === 2);
      assert.deepEqual(served, [4991n, BigInt(o.files["index.html"]!.length)]);
    } finally {
      await edge.stop();
      await cache.remove();
    }
  });
});

describe("edge under client aborts", () => {
  it("settles a grant whose client hung up while the gate was deciding (its credit is not held forever)", async () => {
    const src = await tempDir("gate-hangup-src");
    const cache = await tempDir("gate-hangup-cache");
    await writeFile(join(src.path, "big.bin"), randomBytes(4 * MiB));
    const { manifest } = await publishDir({ dir: src.path, signer: publisher, now: 1 });
    const origin = new OriginServer({ dir: src.path });
    const originUrl = await origin.start();
    let release!: () => void;
    const decided = new Promise<void>((r) => (release = r));
    let admitted!: () => void;
    const inGate = new Promise<void>((r) => (admitted = r));
    const settled: bigint[] = [];
    // A gate that takes its time, as one waiting for a ticket's durable commit does.
    const gate: PaymentGate = {
      admit: async () => {
        admitted();
        await decided;
        return { served: (b) => void settled.push(b) };
      },
    };
    const { edge, url } = await startEdge(cache.path, [originUrl], { gate });
    const fileUrl = `${url}/c/${manifest.contentId}/big.bin`;
    try {
      await get(fileUrl, {}, "HEAD"); // manifest resolved; a HEAD is never admitted
      const req = request(fileUrl, { agent: false });
      req.on("error", () => {});
      req.end();
      await inGate;
      req.destroy();
      await new Promise((r) => setTimeout(r, 100)); // the server sees the hang-up before the gate answers
      release();
      await waitFor(() => settled.length === 1, 5_000);
      assert.deepEqual(settled, [0n], "the admitted bytes are released, none counted as served");
    } finally {
      await edge.stop();
      await origin.stop();
      await src.remove();
      await cache.remove();
    }
  });

  it("keeps answering and leaks no descriptors when many clients hang up mid-body", async () => {
    const src = await tempDir("abort-src");
    const cache = await tempDir("abort-cache");
    const bytes = randomBytes(16 * MiB + 5);
    await writeFile(join(src.path, "big.bin"), bytes);
    const { manifest } = await publishDir({ dir: src.path, signer: publisher, now: 1 });
    const origin = new OriginServer({ dir: src.path });
    const originUrl = await origin.start();
    let served = 0n;
    const grants: bigint[] = [];
    const gate: PaymentGate = { admit: async () => ({ served: (b) => void (served += b, grants.push(b)) }) };
    // No memory cache: every response reads chunk files from disk.
    const { edge, url } = await startEdge(cache.path, [originUrl], { maxMemoryBytes: 0, gate });
    const fileUrl = `${url}/c/${manifest.contentId}/big.bin`;
    const fds = async () => (await readdir("/proc/self/fd")).length;
    try {
      assert.deepEqual((await get(fileUrl)).body, bytes);
      served = 0n;
      grants.length = 0;
      await new Promise((r) => setTimeout(r, 100));
      const before = await fds();
      const abortOne = () =>
        new Promise<number>((resolve, reject) => {
          const req = request(fileUrl, { agent: false }, (res) => {
            let got = 0;
            res.on("data", (d: Buffer) => {
              got += d.length;
              if (got > 256 * 1024) {
                req.destroy();
                resolve(got);
              }
            });
            res.on("error", () => {});
          });
          req.on("error", (e) => (e.message.includes("aborted") || (e as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(e)));
          req.end();
        });
      for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 20 }, abortOne));
      await waitFor(() => grants.length === 60);
      assert.equal(grants.length, 60, "every aborted response reports what it served");
      assert.ok(grants.every((b) => b < BigInt(bytes.length)), `an aborted response counted as complete: ${grants.join(",")}`);
      assert.ok(served > 0n);
      const ok = await get(fileUrl, { Range: "bytes=-1000" });
      assert.deepEqual(ok.body, bytes.subarray(-1000));
      await waitFor(async () => (await fds()) <= before + 2);
      const afterCount = await fds();
      assert.ok(afterCount <= before + 2, `fds before ${before}, after ${afterCount}`);
    } finally {
      await edge.stop();
      await origin.stop();
      await cache.remove();
      await src.remove();
    }
  });
});
