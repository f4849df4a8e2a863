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
