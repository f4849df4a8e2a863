// The three servers that send content bytes (the publisher's origin, a node's edge, the consumer's
// gateway) read Range with one parser (src/http/parseRange.ts); over real HTTP on 127.0.0.1 each
// must answer every well-formed range with exactly the reference slice (or 416), and any other
// Range value with 200 and the whole file, 206 and the slice it names, or 416.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import fc from "fast-check";
import { createGateway } from "../../src/client/gateway.ts";
import { createEdge } from "../../src/node/edge/createEdge.ts";
import { referenceSlice, validRange } from "../../src/http/testing/ranges.ts";
import { propertyRuns } from "../../src/protocol/testing/properties.ts";
import { startFakeProvider } from "../client/fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, listingOf, makePool } from "../client/harness.ts";
import { CHUNK, publishedOrigin, tempDir } from "../content/fixtures.ts";

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** A raw GET (fetch would normalise the Range header). */
function get(url: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("origin, edge and gateway answer Range alike: the reference slice, 416, or the whole file (property)", async (t) => {
  const o = await publishedOrigin();
  const cache = await tempDir("range-edge");
  const edge = createEdge({ cacheDir: cache.path, maxCacheBytes: 1 << 26, origins: [o.url] });
  const edgeUrl = await edge.start();
  const files = new Map(Object.entries(o.files));
  const provider = await startFakeProvider({
    privateKey: KEYS.providerA, chainId: CHAIN_ID, broker: BROKER, pricePerGiB: PRICE, bytesPerTicket: BigInt(CHUNK), creditWindowBytes: BigInt(8 * CHUNK),
    content: new Map([[o.manifest.contentId, { manifest: o.manifest, files }]]),
  });
  const gateway = createGateway({ pool: makePool([listingOf(KEYS.providerA, provider.url)]).pool });
  const { url: gatewayUrl } = await gateway.start();
  t.after(async () => {
    await gateway.stop();
    await provider.stop();
    await edge.stop();
    await cache.remove();
    await o.close();
  });
  const id = o.manifest.contentId;
  const servers = { origin: `${o.url}/${id}`, edge: `${edgeUrl}/c/${id}`, gateway: `${gatewayUrl}/${id}` };
  const paths = ["video/hls/big.ts", "index.html", "empty.txt"];
  const bigSize = files.get("video/hls/big.ts")!.length;

  /** What every server must send for `range` of `path`; `expected` is the reference for a well-formed range. */
  const check = async (path: string, range: string, expected?: Buffer | 416) => {
    const data = files.get(path)!;
    for (const [name, base] of Object.entries(servers)) {
      const r = await get(`${base}/${path}`, { range });
      const what = `${name} ${path} Range: ${JSON.stringify(range)}`;
      if (expected === 416 || r.status === 416) {
        assert.equal(r.status, 416, what);
        assert.equal(r.headers["content-range"], `bytes */${data.length}`, what);
        if (expected === undefined) continue;
      }
      if (expected === 416) continue;
      if (r.status === 200) {
        assert.equal(expected, undefined, `${what}: 200 for a well-formed range`);
        assert.deepEqual(r.body, data, what);
        continue;
      }
      assert.equal(r.status, 206, what);
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(r.headers["content-range"]));
      assert.ok(m, `${what}: Content-Range ${r.headers["content-range"]}`);
      assert.equal(Number(m[3]), data.length, what);
      assert.deepEqual(r.body, data.subarray(Number(m[1]), Number(m[2]) + 1), what);
      assert.equal(r.headers["content-length"], String(r.body.length), what);
      if (expected !== undefined) assert.deepEqual(r.body, expected, what);
    }
  };

  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), validRange(bigSize + 100), async (path, { header, spec }) => {
      await check(path, header, referenceSlice(files.get(path)!, spec));
    }),
    { numRuns: propertyRuns(60) },
  );
  // Node refuses control characters in header values before any server sees them: printable ASCII only.
  const anyRange = fc.oneof(
    fc.string({ unit: fc.constantFrom(..."bytes=-,0123456789 "), maxLength: 30 }),
    fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), anyRange, async (path, range) => {
      await check(path, range);
    }),
    { numRuns: propertyRuns(60) },
  );
});
