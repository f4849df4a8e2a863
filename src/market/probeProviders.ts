import { parseOfferAvailability } from "../protocol/wire.ts";
import type { ProviderListing } from "./providerListing.ts";
import type { ProviderStats } from "./providerStats.ts";

/** Options of `probeProviders`. */
export type ProbeProvidersParameters = {
  listings: readonly ProviderListing[];
  stats: ProviderStats;
  fetch?: typeof globalThis.fetch;
  /** A provider that does not answer `GET /offer` within this many ms counts as a failure. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  now?: () => number;
};

/**
 * Measures each provider's round trip with `GET /offer` (small, free, always served) and records
 * it as latency; a provider that does not answer records a failure, which ranks it last, and one
 * whose offer says `available: false` (an operator limit holds, payments.md §3.1) is recorded as
 * unavailable for its `retryAfterSeconds`, which ranking skips. Runs all probes at once and
 * resolves when every one has answered or timed out.
 */
export async function probeProviders(p: ProbeProvidersParameters): Promise<void> {
  const fetchFn = p.fetch ?? globalThis.fetch;
  const now = p.now ?? performance.now.bind(performance);
  const timeoutMs = p.timeoutMs ?? 2_000;
  await Promise.all(
    p.listings.map(async (l) => {
      const signal = p.signal ? AbortSignal.any([p.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      const started = now();
      try {
        const res = await fetchFn(`${l.endpoint}/offer`, { signal });
        const text = await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        p.stats.recordLatency(l.provider, now() - started);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined; // not ours to judge here: opening a session parses the offer strictly
        }
        const a = parseOfferAvailability(body);
        if (!a.available) p.stats.recordUnavailable(l.provider, `${a.unavailable.limit}: ${a.unavailable.reason}`, a.unavailable.retryAfterSeconds * 1000);
      } catch {
        if (p.signal?.aborted) return;
        p.stats.recordFailure(l.provider);
      }
    }),
  );
}
