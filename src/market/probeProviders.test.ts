import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Address } from "viem";
import { probeProviders } from "./probeProviders.ts";
import { createProviderStats } from "./providerStats.ts";
import { rankProviders } from "./rankProviders.ts";

test("probeProviders records round trips and failures, and ranking follows them", async (t) => {
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/offer" ? 200 : 404);
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const up = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const a = "0x00000000000000000000000000000000000000a1" as Address;
  const b = "0x00000000000000000000000000000000000000b2" as Address;
  const listings = [
    { provider: b, endpoint: "http://127.0.0.1:1", pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 },
    { provider: a, endpoint: up, pricePerGiB: 2n, capacityMbps: 1n, region: "", services: 1 },
  ];
  const stats = createProviderStats();
  await probeProviders({ listings, stats, timeoutMs: 1000 });
  assert.ok((stats.get(a).latencyMs ?? -1) >= 0);
  assert.equal(stats.get(a).consecutiveFailures, 0);
  assert.equal(stats.get(b).consecutiveFailures, 1);
  // b is cheaper but did not answer: a ranks first.
  assert.deepEqual(rankProviders({ listings, stats }).map((l) => l.provider), [a, b]);
});

test("a provider whose offer says it is unavailable is skipped by ranking until its retry time", async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ version: 2, available: false, unavailable: { limit: "quota", reason: "monthly quota used", retryAfterSeconds: 60 } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const full = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const old = createServer((_req, res) => res.end(JSON.stringify({ version: 2 }))); // a node from before the field
  await new Promise<void>((r) => old.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => old.close(() => r())));
  const a = "0x00000000000000000000000000000000000000a1" as Address;
  const b = "0x00000000000000000000000000000000000000b2" as Address;
  const listings = [
    { provider: a, endpoint: full, pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 },
    { provider: b, endpoint: `http://127.0.0.1:${(old.address() as AddressInfo).port}`, pricePerGiB: 5n, capacityMbps: 1n, region: "", services: 1 },
  ];
  let clock = 1_000_000;
  const stats = createProviderStats({ now: () => clock });
  await probeProviders({ listings, stats, timeoutMs: 1000 });
  assert.ok(stats.isUnavailable(a));
  assert.equal(stats.get(a).unavailable?.reason, "quota: monthly quota used");
  assert.ok(!stats.isUnavailable(b));
  assert.deepEqual(rankProviders({ listings, stats }).map((l) => l.provider), [b]);
  clock += 61_000;
  assert.deepEqual(rankProviders({ listings, stats }).map((l) => l.provider), [a, b]);
});
