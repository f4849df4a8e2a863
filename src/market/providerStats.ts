import type { Address } from "viem";

/** What the client has measured about one provider. Rates are floats: they are not money. */
export type ProviderStat = {
  /** EWMA of delivered throughput in bytes per second; undefined until a transfer completes. */
  throughput: number | undefined;
  /** EWMA of time to first byte (or the /offer probe round trip) in milliseconds. */
  latencyMs: number | undefined;
  /** Transfers that failed (connection error, timeout) since the last success. */
  consecutiveFailures: number;
  /** Set when the provider served data that failed verification; it is never used again. */
  bad: { reason: string; at: number } | undefined;
  /** Set while the provider says it takes no new sessions (an operator limit, GET /offer); skipped until `until`. */
  unavailable: { reason: string; until: number } | undefined;
};

/** Options of `createProviderStats`. */
export type ProviderStatsParameters = {
  /** Weight of a new sample in the EWMA (0..1]; 0.3 reacts within a few chunks. */
  alpha?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
  /** Providers already known to serve bad data (e.g. recorded by an earlier run). */
  bad?: readonly { provider: Address; reason: string }[];
  /** Called when a provider is marked bad for the first time, so the caller can record it. */
  onBad?: (provider: Address, reason: string) => void;
};

/** Per-provider measurements shared by the market (ranking) and the downloader (timeouts). */
export type ProviderStats = {
  get(provider: Address): ProviderStat;
  recordTransfer(provider: Address, bytes: number, elapsedMs: number): void;
  recordLatency(provider: Address, ms: number): void;
  recordFailure(provider: Address): void;
  markBad(provider: Address, reason: string): void;
  isBad(provider: Address): boolean;
  /** Records that the provider takes no new sessions for `retryAfterMs` (its offer said so). */
  recordUnavailable(provider: Address, reason: string, retryAfterMs: number): void;
  /** True while a recorded unavailability lasts. */
  isUnavailable(provider: Address): boolean;
  /** Every provider marked bad, with the reason, for reports. */
  badProviders(): { provider: Address; reason: string }[];
};

/** Creates an in-memory store of provider measurements (EWMA throughput and latency, bad marks). */
export function createProviderStats(p: ProviderStatsParameters = {}): ProviderStats {
  const alpha = p.alpha ?? 0.3;
  const now = p.now ?? Date.now;
  const stats = new Map<string, ProviderStat>();
  const key = (a: Address) => a.toLowerCase();
  const get = (provider: Address): ProviderStat => {
    let s = stats.get(key(provider));
    if (s === undefined) {
      s = { throughput: undefined, latencyMs: undefined, consecutiveFailures: 0, bad: undefined, unavailable: undefined };
      stats.set(key(provider), s);
    }
    return s;
  };
  const ewma = (old: number | undefined, sample: number) => (old === undefined ? sample : old + alpha * (sample - old));
  const names = new Map<string, Address>();
  for (const b of p.bad ?? []) {
    names.set(key(b.provider), b.provider);
    get(b.provider).bad = { reason: b.reason, at: now() };
  }
  return {
    get,
    recordTransfer(provider, bytes, elapsedMs) {
      const s = get(provider);
      // Sub-millisecond transfers (loopback, tiny chunks) would give absurd rates; floor at 1 ms.
      s.throughput = ewma(s.throughput, (bytes * 1000) / Math.max(1, elapsedMs));
      s.consecutiveFailures = 0;
    },
    recordLatency(provider, ms) {
      const s = get(provider);
      s.latencyMs = ewma(s.latencyMs, ms);
    },
    recordUnavailable(provider, reason, retryAfterMs) {
      get(provider).unavailable = { reason, until: now() + retryAfterMs };
    },
    isUnavailable(provider) {
      const u = stats.get(key(provider))?.unavailable;
      return u !== undefined && u.until > now();
    },
    recordFailure(provider) {
      get(provider).consecutiveFailures++;
    },
    markBad(provider, reason) {
      names.set(key(provider), provider);
      const s = get(provider);
      if (s.bad !== undefined) return;
      s.bad = { reason, at: now() };
      p.onBad?.(provider, reason);
    },
    isBad(provider) {
      return stats.get(key(provider))?.bad !== undefined;
    },
    badProviders() {
      return [...stats.entries()]
        .filter(([, s]) => s.bad !== undefined)
        .map(([k, s]) => ({ provider: names.get(k) ?? (k as Address), reason: s.bad?.reason ?? "" }));
    },
  };
}
