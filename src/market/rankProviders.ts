import type { Service } from "../protocol/wire.ts";
import type { ProviderListing } from "./providerListing.ts";
import { offersService } from "./providerListing.ts";
import type { ProviderStats } from "./providerStats.ts";

/** Options of `rankProviders`. */
export type RankProvidersParameters = {
  listings: readonly ProviderListing[];
  stats: ProviderStats;
  /** Refuse listings above this price (wei per GiB). */
  maxPricePerGiB?: bigint | undefined;
  /** Bytes the score's time estimate is computed for (default 8 MiB: a typical chunk batch). */
  workBytes?: number;
  /** Throughput assumed for a provider never measured (bytes/s), optimistic so that it gets tried. */
  defaultThroughput?: number;
  /** The service the providers must offer (default "cdn"). */
  service?: Service;
};

/**
 * Orders the providers of a service (cdn by default) from best to worst, dropping those marked bad or above the price cap.
 *
 * Score = price / cheapest price + estimated time / fastest estimated time, with the time for
 * `workBytes` = latency + workBytes / throughput. Both terms are relative, so a provider twice the
 * price must be about twice as fast to rank equal. Unmeasured providers get an optimistic
 * throughput so that new listings are tried and measured rather than starved.
 */
export function rankProviders(p: RankProvidersParameters): ProviderListing[] {
  const workBytes = p.workBytes ?? 8 * 1024 * 1024;
  const defaultThroughput = p.defaultThroughput ?? 50 * 1024 * 1024;
  const candidates = p.listings.filter(
    (l) => offersService(l, p.service ?? "cdn") && l.pricePerGiB > 0n && !p.stats.isBad(l.provider) && (p.maxPricePerGiB === undefined || l.pricePerGiB <= p.maxPricePerGiB),
  );
  if (candidates.length === 0) return [];
  const minPrice = candidates.reduce((m, l) => (l.pricePerGiB < m ? l.pricePerGiB : m), candidates[0]!.pricePerGiB);
  const time = (l: ProviderListing) => {
    const s = p.stats.get(l.provider);
    return (s.latencyMs ?? 50) / 1000 + workBytes / (s.throughput ?? defaultThroughput);
  };
  const times = candidates.map(time);
  const minTime = Math.min(...times);
  // Price ratio in bigint first (exact), then to a float with 6 decimals: ranking, not money.
  const priceRatio = (l: ProviderListing) => Number((l.pricePerGiB * 1_000_000n) / minPrice) / 1_000_000;
  const scored = candidates.map((l, i) => ({ l, score: priceRatio(l) + times[i]! / minTime, failures: p.stats.get(l.provider).consecutiveFailures }));
  scored.sort((a, b) => a.failures - b.failures || a.score - b.score || (a.l.provider < b.l.provider ? -1 : 1));
  return scored.map((s) => s.l);
}
