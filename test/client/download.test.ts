// End-to-end download tests against provider nodes speaking the wire protocol over real HTTP on
// 127.0.0.1, writing real files in temp dirs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { downloadContent } from "../../src/client/downloadContent.ts";
import { createClient } from "../../src/client/createClient.ts";
import { startFakeProvider, type FakeProvider } from "./fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, listingOf, makeContent, makePool, sha256 } from "./harness.ts";

const CHUNK = 16 * 1024;
const consumer = privateKeyToAccount(KEYS.consumer).address;

async function setup(t: { after: (f: () => Promise<unknown>) => void }, o: { window?: bigint; bytesPerTicket?: bigint; offeredA?: bigint } = {}) {
  const content = await makeContent(CHUNK);
  const dir = await mkdtemp(join(tmpdir(), "bm-client-"));
  const common = {
    chainId: CHAIN_ID,
    broker: BROKER,
    pricePerGiB: PRICE,
    bytesPerTicket: o.bytesPerTicket ?? BigInt(CHUNK),
    creditWindowBytes: o.window ?? BigInt(4 * CHUNK),
    content: new Map([[content.manifest.contentId, content]]),
  };
  const a = await startFakeProvider({ ...common, privateKey: KEYS.providerA, ...(o.offeredA ? { offeredPricePerGiB: o.offeredA } : {}) });
  const b = await startFakeProvider({ ...common, privateKey: KEYS.providerB });
  t.after(async () => {
    await Promise.allSettled([a.stop(), b.stop()]);
    await rm(dir, { recursive: true, force: true });
  });
  return { content, dir, a, b, listings: [listingOf(KEYS.providerA, a.url), listingOf(KEYS.providerB, b.url)] };
}

/** Bytes of verified data a provider served, and what its tickets acknowledge. */
function paidBy(p: FakeProvider) {
  const last = p.tickets.at(-1);
  return { served: p.requests.reduce((s, r) => s + (r.end - r.start), 0), acknowledged: Number(last?.ticket.cumulativeBytes ?? 0n) };
}

test("a directory downloaded through two providers is byte-identical, and every verified byte is paid", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  const { pool } = makePool(listings, { perProvider: 2 });
  const out = join(dir, "out");
  const result = await downloadContent({ pool, contentId: content.manifest.contentId, out });
  for (const [path, data] of content.files) {
    assert.equal(sha256(await readFile(join(out, ...path.split("/")))), sha256(data), path);
  }
  await assert.rejects(stat(join(out, "video", "seg0.ts.part")), { code: "ENOENT" });
  assert.ok(a.requests.length > 0 && b.requests.length > 0, "both providers served chunks");
  for (const p of [a, b]) {
    const { served, acknowledged } = paidBy(p);
    assert.equal(acknowledged, served, "tickets acknowledge exactly the bytes served (all verified)");
    assert.ok(p.tickets.every((x) => x.signer === consumer));
    const nonces = p.tickets.map((x) => x.ticket.senderNonce);
    assert.deepEqual(nonces, nonces.map((_, i) => BigInt(i + 1)), "nonces strictly increasing from nextNonce");
  }
  const total = [...content.files.values()].reduce((s, d) => s + d.length, 0);
  assert.equal(result.fetchedBytes, BigInt(total));
  assert.ok(result.expectedPaid > 0n);
});

test("a provider killed mid-transfer: the client finishes from the other", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  // Its second request dies: with two requests per provider A always gets two at the start, so
  // it dies whatever the timing (a later request may never come: B can finish everything first).
  a.dieAfter = 1;
  const { pool } = makePool(listings, { perProvider: 2 });
  const out = join(dir, "seg0.ts");
  await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
  assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!));
  assert.ok(b.requests.length > 0);
  const report = pool.report().find((r) => r.provider === a.address);
  assert.equal(report?.state, "cooling");
  // The half-sent chunk (A's last request) was never verified, so never paid.
  const dying = a.requests.at(-1)!;
  assert.ok(paidBy(a).acknowledged <= paidBy(a).served - (dying.end - dying.start));
});

test("a provider dropped after a failed request is still paid for every chunk it served and we verified", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  a.failAfter = 1;
  const { pool } = makePool(listings, { perProvider: 2 });
  const out = join(dir, "seg0.ts");
  await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
  assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!));
  assert.equal(pool.report().find((r) => r.provider === a.address)?.state, "cooling");
  assert.ok(a.requests.length > 0);
  // Its session was dropped for new chunks, but its payer went on: every verified byte is paid, once.
  assert.equal(paidBy(a).acknowledged, paidBy(a).served);
  assert.equal(paidBy(b).acknowledged, paidBy(b).served);
  const nonces = a.tickets.map((x) => x.ticket.senderNonce);
  assert.deepEqual(nonces, nonces.map((_, i) => BigInt(i + 1)));
});

test("a provider that corrupts a chunk is not paid for it and is dropped", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  // Corrupt a chunk A serves: whichever chunk A gets first.
  for (let i = 0; i < 11; i++) a.corrupt.add(`video/seg0.ts@${i * CHUNK}`);
  const { pool, stats } = makePool(listings, { perProvider: 1 });
  const out = join(dir, "seg0.ts");
  await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
  assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!));
  assert.equal(stats.isBad(a.address), true);
  assert.equal(a.requests.length, 1, "dropped after the bad chunk");
  assert.equal(paidBy(a).acknowledged, 0, "the corrupted chunk is never acknowledged");
  assert.equal(a.tickets.length, 0);
  assert.equal(paidBy(b).acknowledged, paidBy(b).served);
});

test("resume after interruption fetches only the missing chunks", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  const out = join(dir, "seg0.ts");
  const controller = new AbortController();
  const first = makePool(listings, { perProvider: 1 });
  await assert.rejects(
    downloadContent({
      pool: first.pool,
      contentId: content.manifest.contentId,
      path: "video/seg0.ts",
      out,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (pr) => {
        if (pr.fetchedBytes >= BigInt(4 * CHUNK)) controller.abort(new Error("interrupted"));
      },
    }),
    /interrupted/,
  );
  await stat(`${out}.part.state`);
  const before = a.requests.length + b.requests.length;
  assert.ok(before >= 4);
  const second = makePool(listings);
  const result = await downloadContent({ pool: second.pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
  const fetchedAgain = a.requests.length + b.requests.length - before;
  assert.equal(fetchedAgain, 11 - before, "only missing chunks fetched");
  assert.equal(result.resumedBytes, BigInt(before * CHUNK));
  assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!));
});

test("a slow provider times out relative to its throughput and the client fails over", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  // Generous margins: on a loaded machine the healthy provider must never look slow too.
  const { pool, stats } = makePool(listings, { perProvider: 2, timeouts: { unmeasuredMs: 1_500, minMs: 1_000 } });
  a.delayMs = 5_000;
  const out = join(dir, "seg0.ts");
  await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
  assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!));
  assert.ok(stats.get(a.address).consecutiveFailures >= 1);
  assert.equal(pool.report().find((r) => r.provider === a.address)?.state, "cooling");
});

test("small credit windows and several tickets per chunk still pay exactly the verified bytes", async (t) => {
  const { content, dir, a, b, listings } = await setup(t, { window: BigInt(2 * CHUNK), bytesPerTicket: BigInt(CHUNK / 4) });
  const { pool } = makePool(listings, { perProvider: 3 });
  const out = join(dir, "out");
  await downloadContent({ pool, contentId: content.manifest.contentId, out });
  assert.equal(sha256(await readFile(join(out, "video", "seg0.ts"))), sha256(content.files.get("video/seg0.ts")!));
  for (const p of [a, b]) {
    assert.equal(paidBy(p).acknowledged, paidBy(p).served);
    assert.ok(p.tickets.every((x, i) => x.ticket.cumulativeBytes - (p.tickets[i - 1]?.ticket.cumulativeBytes ?? 0n) <= BigInt(CHUNK / 4)));
  }
});

test("an offer whose price differs from the on-chain listing is refused", async (t) => {
  const { content, dir, a, listings } = await setup(t, { offeredA: PRICE * 2n });
  const { pool } = makePool([listings[0]!]);
  await assert.rejects(downloadContent({ pool, contentId: content.manifest.contentId, out: join(dir, "x") }), (e: unknown) => {
    assert.ok(e instanceof Error && /ManifestUnavailableError|NoProviderAvailableError/.test(e.name), String(e));
    return true;
  });
  assert.equal(a.requests.length, 0);
  assert.equal(pool.report()[0]?.state, "refused");
  assert.match(pool.report()[0]?.reason ?? "", /pricePerGiB/);
});

test("a provider caught serving bad data is recorded in the data dir and skipped by the next client", async (t) => {
  const { content, dir, a, b, listings } = await setup(t);
  for (let i = 0; i < 11; i++) a.corrupt.add(`video/seg0.ts@${i * CHUNK}`);
  const dataDir = join(dir, "client-data");
  const make = () =>
    createClient({
      clients: { publicClient: undefined as never },
      deployment: { chainId: CHAIN_ID, contracts: { broker: BROKER } } as never,
      privateKey: KEYS.consumer,
      dataDir,
      listings: async () => listings,
      perProvider: 1,
    });
  await make().get(content.manifest.contentId, "video/seg0.ts", { out: join(dir, "one") });
  assert.equal(a.requests.length, 1);
  const recorded = JSON.parse(await readFile(join(dataDir, "bad-providers.json"), "utf8")) as { provider: string }[];
  assert.deepEqual(recorded.map((r) => r.provider), [a.address]);
  const before = b.requests.length;
  await make().get(content.manifest.contentId, "video/seg0.ts", { out: join(dir, "two") });
  assert.equal(a.requests.length, 1, "the second client never asks the bad provider");
  assert.equal(b.requests.length - before, 11);
});

test("a provider serving a manifest that does not verify is marked bad; the manifest comes from another", async (t) => {
  const { content, dir, b, listings } = await setup(t);
  // Same content id, but one chunk hash changed: the root no longer matches.
  const tampered = structuredClone(content.manifest);
  tampered.files[2]!.chunks[0] = "00".repeat(32);
  const liar = await startFakeProvider({
    privateKey: KEYS.providerA,
    chainId: CHAIN_ID,
    broker: BROKER,
    pricePerGiB: PRICE / 2n, // cheapest, so it is asked first
    bytesPerTicket: BigInt(CHUNK),
    creditWindowBytes: BigInt(4 * CHUNK),
    content: new Map([[content.manifest.contentId, { manifest: tampered, files: content.files }]]),
  });
  t.after(() => liar.stop());
  const { pool, stats } = makePool([listingOf(KEYS.providerA, liar.url, PRICE / 2n), listings[1]!]);
  await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out: join(dir, "m") });
  assert.equal(sha256(await readFile(join(dir, "m"))), sha256(content.files.get("video/seg0.ts")!));
  assert.equal(stats.isBad(liar.address), true);
  assert.equal(liar.requests.length, 0);
  assert.ok(b.requests.length > 0);
});
