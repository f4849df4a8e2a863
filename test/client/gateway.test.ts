// The local gateway over real HTTP: what a browser, HLS player or curl sees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { createGateway } from "../../src/client/gateway.ts";
import { startFakeProvider } from "./fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, listingOf, makeContent, makePool } from "./harness.ts";

const CHUNK = 16 * 1024;

async function setup(t: { after: (f: () => Promise<unknown>) => void }) {
  const content = await makeContent(CHUNK);
  const provider = await startFakeProvider({
    privateKey: KEYS.providerA,
    chainId: CHAIN_ID,
    broker: BROKER,
    pricePerGiB: PRICE,
    bytesPerTicket: BigInt(CHUNK),
    creditWindowBytes: BigInt(4 * CHUNK),
    content: new Map([[content.manifest.contentId, content]]),
  });
  const { pool } = makePool([listingOf(KEYS.providerA, provider.url)]);
  const gateway = createGateway({ pool });
  const { url } = await gateway.start({ port: 0 });
  t.after(async () => {
    await gateway.stop();
    await provider.stop();
  });
  return { content, provider, url, base: `${url}/${content.manifest.contentId}` };
}

/** A raw request (fetch hides some headers and forbids others). */
function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("gateway serves whole files and Range requests byte-exact with the manifest's media type", async (t) => {
  const { content, provider, base } = await setup(t);
  const data = content.files.get("video/seg0.ts")!;
  const whole = await get(`${base}/video/seg0.ts`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers["content-type"], "video/mp2t");
  assert.equal(whole.headers["content-length"], String(data.length));
  assert.equal(whole.headers["accept-ranges"], "bytes");
  assert.equal(whole.headers["access-control-allow-origin"], "*");
  assert.deepEqual(whole.body, data);

  const size = data.length;
  const cases: [string, number, number][] = [
    ["bytes=0-0", 0, 1],
    ["bytes=100-20000", 100, 20001],
    [`bytes=${CHUNK}-${2 * CHUNK - 1}`, CHUNK, 2 * CHUNK],
    [`bytes=${CHUNK - 1}-${CHUNK}`, CHUNK - 1, CHUNK + 1],
    ["bytes=-500", size - 500, size],
    [`bytes=${size - 10}-`, size - 10, size],
    [`bytes=5-${size * 2}`, 5, size],
  ];
  for (let i = 0; i < 10; i++) {
    const a = Math.floor(Math.random() * size);
    const b = a + Math.floor(Math.random() * (size - a));
    cases.push([`bytes=${a}-${b}`, a, b + 1]);
  }
  for (const [range, start, end] of cases) {
    const r = await get(`${base}/video/seg0.ts`, { range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers["content-range"], `bytes ${start}-${end - 1}/${size}`, range);
    assert.equal(r.headers["content-length"], String(end - start), range);
    assert.deepEqual(r.body, data.subarray(start, end), range);
  }
  // Everything above came from the LRU after the first pass: each chunk was fetched (and paid) once.
  const fetched = provider.requests.filter((r) => r.path === "video/seg0.ts").map((r) => r.start);
  assert.equal(new Set(fetched).size, fetched.length);
});

test("gateway HEAD, 304, 416, 404, CORS preflight and HLS playlist", async (t) => {
  const { content, base } = await setup(t);
  const head = await get(`${base}/video/seg0.ts`, {}, "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers["content-length"], String(content.files.get("video/seg0.ts")!.length));
  const etag = head.headers.etag as string;
  assert.match(etag, /^"[0-9a-f]{64}"$/);
  assert.equal((await get(`${base}/video/seg0.ts`, { "if-none-match": etag })).status, 304);
  // The edge's conditionals (one parser, src/http/parseRange.ts): a list, weak comparison, If-Range.
  assert.equal((await get(`${base}/video/seg0.ts`, { "if-none-match": `"other", W/${etag}` })).status, 304);
  assert.equal((await get(`${base}/video/seg0.ts`, { range: "bytes=0-9", "if-range": etag })).status, 206);
  const stale = await get(`${base}/video/seg0.ts`, { range: "bytes=0-9", "if-range": '"stale"' });
  assert.equal(stale.status, 200);
  assert.deepEqual(stale.body, content.files.get("video/seg0.ts"));
  const r416 = await get(`${base}/video/seg0.ts`, { range: "bytes=999999999-" });
  assert.equal(r416.status, 416);
  assert.equal(r416.headers["content-range"], `bytes */${content.files.get("video/seg0.ts")!.length}`);
  const missing = await get(`${base}/nope.ts`);
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body.toString()).error, "FileNotInContentError");
  const pre = await get(`${base}/index.m3u8`, { origin: "http://example.test", "access-control-request-method": "GET" }, "OPTIONS");
  assert.equal(pre.status, 204);
  assert.match(String(pre.headers["access-control-allow-headers"]), /Range/);
  const playlist = await get(`${base}/index.m3u8`);
  assert.equal(playlist.headers["content-type"], "application/vnd.apple.mpegurl");
  assert.deepEqual(playlist.body, content.files.get("index.m3u8"));
  const empty = await get(`${base}/empty.txt`);
  assert.equal(empty.status, 200);
  assert.equal(empty.body.length, 0);
});
