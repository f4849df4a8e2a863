import { test } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import { rankProviders } from "./rankProviders.ts";
import { createProviderStats } from "./providerStats.ts";
import type { ProviderListing } from "./providerListing.ts";

const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const listing = (n: number, price: bigint, services = 1): ProviderListing => ({
  provider: addr(n),
  endpoint: `http://127.0.0.1:${9000 + n}`,
  pricePerGiB: price,
  capacityMbps: 100n,
  region: "eu",
  services,
});

test("rankProviders keeps cdn providers only, cheapest first when unmeasured", () => {
  const stats = createProviderStats();
  const ranked = rankProviders({ listings: [listing(1, 300n), listing(2, 100n), listing(3, 50n, 2), listing(4, 200n, 3)], stats });
  assert.deepEqual(ranked.map((l) => l.provider), [addr(2), addr(4), addr(1)]);
});

test("rankProviders prefers a faster provider when the price gap is small", () => {
  const stats = createProviderStats();
  stats.recordTransfer(addr(1), 1_000_000, 1000); // 1 MB/s
  stats.recordTransfer(addr(2), 50_000_000, 1000); // 50 MB/s
  const ranked = rankProviders({ listings: [listing(1, 100n), listing(2, 110n)], stats });
  assert.deepEqual(ranked.map((l) => l.provider), [addr(2), addr(1)]);
});

test("rankProviders drops providers marked bad and those over the price cap", () => {
  const stats = createProviderStats();
  stats.markBad(addr(2), "served a bad chunk");
  const ranked = rankProviders({ listings: [listing(1, 100n), listing(2, 10n), listing(3, 1000n)], stats, maxPricePerGiB: 500n });
  assert.deepEqual(ranked.map((l) => l.provider), [addr(1)]);
  assert.deepEqual(stats.badProviders(), [{ provider: addr(2), reason: "served a bad chunk" }]);
});

test("providers with recent failures rank after healthy ones", () => {
  const stats = createProviderStats();
  stats.recordFailure(addr(1));
  const ranked = rankProviders({ listings: [listing(1, 10n), listing(2, 100n)], stats });
  assert.deepEqual(ranked.map((l) => l.provider), [addr(2), addr(1)]);
  stats.recordTransfer(addr(1), 1000, 10);
  assert.equal(stats.get(addr(1)).consecutiveFailures, 0);
});

test("throughput is an EWMA of samples", () => {
  const stats = createProviderStats({ alpha: 0.5 });
  stats.recordTransfer(addr(1), 1000, 1000);
  assert.equal(stats.get(addr(1)).throughput, 1000);
  stats.recordTransfer(addr(1), 3000, 1000);
  assert.equal(stats.get(addr(1)).throughput, 2000);
});

test("rankProviders ranks the providers of the service asked for", () => {
  const stats = createProviderStats();
  const ranked = rankProviders({ listings: [listing(1, 300n), listing(2, 100n, 2), listing(3, 50n, 3)], stats, service: "relay" });
  assert.deepEqual(ranked.map((l) => l.provider), [addr(3), addr(2)]);
});
