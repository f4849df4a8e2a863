import type { Address } from "viem";
import { chunkRange, parseManifest, verifyChunk, verifyManifest, type Manifest, type ManifestFile } from "../protocol/manifest.ts";
import { BaseError } from "../protocol/errors.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import type { ProviderStats } from "../market/providerStats.ts";
import { rankProviders } from "../market/rankProviders.ts";
import {
  BadChunkError,
  CreditExhaustedError,
  DepositTooLowError,
  ManifestUnavailableError,
  NoProviderAvailableError,
  OfferMismatchError,
  ProviderClaimError,
  ProviderRequestError,
  ProviderTimeoutError,
  TicketRedrawError,
} from "./errors.ts";
import type { ProviderSession } from "./providerSession.ts";

/** Where the client logs what it decides (failover, drops); `console` fits. */
export type ClientLogger = { info(message: string): void; warn(message: string): void };

/** Timeout policy for one chunk, relative to the provider's measured throughput. */
export type TimeoutPolicy = {
  /** Never time out sooner than this (ms). */
  minMs: number;
  /** Timeout for a provider never measured (ms). */
  unmeasuredMs: number;
  /** A chunk may take this many times its expected transfer time before the provider counts as slow. */
  factor: number;
};

/** Options of `createProviderPool`. */
export type ProviderPoolParameters = {
  /** The on-chain listings to choose from (re-read by the caller when it wants fresh ones). */
  listings: () => Promise<readonly ProviderListing[]>;
  stats: ProviderStats;
  openSession: (listing: ProviderListing, signal?: AbortSignal) => Promise<ProviderSession>;
  /** Providers used at once (the best ranked ones that are healthy). */
  maxProviders?: number;
  /**
   * Requests in flight per provider; by default as many chunks as the provider's credit window
   * holds (one until its session is open): the session itself holds back what the window does not admit.
   */
  perProvider?: number;
  timeouts?: Partial<TimeoutPolicy>;
  /** How long a provider that died or was slow is left alone (ms). */
  cooldownMs?: number;
  maxPricePerGiB?: bigint | undefined;
  logger?: ClientLogger | undefined;
  now?: () => number;
};

/** A chunk to fetch: chunk `index` of `file` of the content. */
export type ChunkRequest = { contentId: string; chunkSize: number; file: ManifestFile; index: number; signal?: AbortSignal | undefined };

/** Per-provider figures for progress lines and reports. */
export type ProviderReport = {
  provider: Address;
  endpoint: string;
  state: "active" | "cooling" | "bad" | "refused";
  reason: string | undefined;
  bytes: bigint;
  tickets: number;
  expectedValue: bigint;
};

/** Fetches verified chunks from the best providers, spreading load and failing over. */
export type ProviderPool = {
  /** Fetches, verifies and pays for one chunk; tries other providers until one serves it correctly. */
  fetchChunk(request: ChunkRequest): Promise<Buffer>;
  /** Fetches and verifies a content's manifest (root == contentId, publisher signature). */
  fetchManifest(contentId: string, signal?: AbortSignal): Promise<Manifest>;
  /** Pays every verified byte not yet paid, on every session. */
  settle(signal?: AbortSignal): Promise<void>;
  report(): ProviderReport[];
  /** Providers currently serving (sessions open and healthy). */
  activeProviders(): number;
  /** Sum of the expected value of every ticket signed so far (wei). */
  expectedPaid(): bigint;
};

type Entry = {
  listing: ProviderListing;
  session: Promise<ProviderSession> | undefined;
  opened: ProviderSession | undefined;
  inFlight: number;
  bytes: bigint;
  coolUntil: number;
  refused: string | undefined;
  reason: string | undefined;
  timeoutScale: number;
  /** Sessions dropped after a failure: still paying for what they verified, kept for reports. */
  retired: { session: ProviderSession; settled: Promise<void> }[];
};

/**
 * Creates a pool over the listed providers.
 *
 * Choice: the market ranks providers (price, then measured speed); the pool uses the best
 * `maxProviders` healthy ones and sends each chunk to the one that would finish it first given
 * its in-flight requests and measured throughput. Failover: a connection error or a timeout cools
 * the provider down for `cooldownMs` (its chunk goes to another provider); a chunk that fails its
 * sha256, or a session counter it cannot have honestly (ProviderClaimError), marks the provider bad
 * for the client's lifetime and it is never paid for that chunk; an offer that disagrees with the
 * chain, or one that keeps asking for new signatures (TicketRedrawError), is refused for good.
 */
export function createProviderPool(p: ProviderPoolParameters): ProviderPool {
  const maxProviders = p.maxProviders ?? 3;
  const capacity = (e: Entry, chunkSize: number): number => {
    if (p.perProvider !== undefined) return p.perProvider;
    if (e.opened === undefined) return 1;
    const n = e.opened.maxRequestBytes / BigInt(Math.max(1, chunkSize));
    return n < 1n ? 1 : Number(n);
  };
  const policy: TimeoutPolicy = { minMs: 2_000, unmeasuredMs: 30_000, factor: 8, ...p.timeouts };
  const cooldownMs = p.cooldownMs ?? 30_000;
  const now = p.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const manifests = new Map<string, Promise<Manifest>>();
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const entryFor = (listing: ProviderListing): Entry => {
    const key = listing.provider.toLowerCase();
    let e = entries.get(key);
    if (e === undefined || e.listing.endpoint !== listing.endpoint || e.listing.pricePerGiB !== listing.pricePerGiB) {
      e = { listing, session: undefined, opened: undefined, inFlight: 0, bytes: e?.bytes ?? 0n, coolUntil: 0, refused: undefined, reason: undefined, timeoutScale: 1, retired: e?.retired ?? [] };
      entries.set(key, e);
    }
    return e;
  };
  const usable = (e: Entry) => e.refused === undefined && !p.stats.isBad(e.listing.provider) && e.coolUntil <= now();
  /** Why each provider the pool has tried is unusable now: what an error says when no provider is left. */
  const unusableReasons = (): string[] =>
    [...entries.values()].filter((e) => !usable(e)).map((e) => {
      const who = `${e.listing.provider} (${e.listing.endpoint})`;
      if (e.refused !== undefined) return `${who}: refused: ${e.refused}`;
      const bad = p.stats.get(e.listing.provider).bad;
      if (bad !== undefined) return `${who}: bad: ${bad.reason}`;
      return `${who}: cooling down for ${Math.ceil((e.coolUntil - now()) / 1000)} s after: ${e.reason ?? "a failure"}`;
    });

  /** The healthy providers to use now, best first. */
  const activeSet = async (): Promise<Entry[]> => {
    const ranked = rankProviders({ listings: await p.listings(), stats: p.stats, maxPricePerGiB: p.maxPricePerGiB });
    return ranked.map(entryFor).filter(usable).slice(0, maxProviders);
  };

  const session = (e: Entry, signal?: AbortSignal): Promise<ProviderSession> => {
    e.session ??= p.openSession(e.listing, signal).then(
      (s) => {
        e.opened = s;
        wake(); // its capacity may have grown to the window
        return s;
      },
      (error: unknown) => {
        e.session = undefined;
        throw error;
      },
    );
    return e.session;
  };

  /**
   * Forgets the session for new chunks; it goes on paying, in the background, for the bytes it
   * verified (if the node is dead its payer gives up after a few tries). Its chunks that failed
   * were never verified, so never paid, and go to another provider.
   */
  const dropSession = (e: Entry) => {
    const s = e.opened;
    e.session = undefined;
    e.opened = undefined;
    if (s === undefined) return;
    const settled = s.settle().catch((error: unknown) => {
      p.logger?.warn(`bandmint: could not pay the last bytes to ${e.listing.provider}: ${(error as Error).message}`);
    });
    e.retired.push({ session: s, settled });
  };
  const paidBy = (e: Entry) => {
    let tickets = 0;
    let expectedValue = 0n;
    for (const s of [...e.retired.map((r) => r.session), ...(e.opened ? [e.opened] : [])]) {
      const pay = s.payments();
      tickets += pay.tickets;
      expectedValue += pay.expectedValue;
    }
    return { tickets, expectedValue };
  };

  const timeoutFor = (e: Entry, bytes: number): number => {
    const tp = p.stats.get(e.listing.provider).throughput;
    const base = tp === undefined ? policy.unmeasuredMs : Math.max(policy.minMs, (policy.factor * bytes * 1000) / tp);
    return Math.round(base * e.timeoutScale);
  };

  /** Picks the provider that would finish a chunk first, waiting while all are at capacity. */
  const acquire = async (failures: string[], contentId: string, chunkSize: number, signal?: AbortSignal): Promise<{ entry: Entry; others: number }> => {
    for (;;) {
      signal?.throwIfAborted();
      const set = await activeSet();
      if (set.length === 0) throw new NoProviderAvailableError({ contentId, failures: failures.length > 0 ? failures : unusableReasons() });
      let best: Entry | undefined;
      let bestCost = Infinity;
      for (const e of set) {
        if (e.inFlight >= capacity(e, chunkSize)) continue;
        const tp = p.stats.get(e.listing.provider).throughput ?? 50e6;
        const cost = (e.inFlight + 1) / tp;
        if (cost < bestCost) [best, bestCost] = [e, cost];
      }
      if (best !== undefined) {
        best.inFlight++;
        return { entry: best, others: set.length - 1 };
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
  };

  /** Records a provider failure; rethrows what is not the provider's fault. */
  const onFailure = (e: Entry, error: unknown, others: number, failures: string[], signal?: AbortSignal) => {
    if (signal?.aborted) throw error;
    const who = `${e.listing.provider} (${e.listing.endpoint})`;
    const say = (reason: string) => {
      e.reason = reason;
      failures.push(`${who}: ${reason}`);
    };
    if (error instanceof BadChunkError) {
      p.stats.markBad(e.listing.provider, error.shortMessage);
      say("served a chunk that failed verification: dropped and not paid for it");
      p.logger?.warn(`bandmint: ${error.shortMessage}`);
    } else if (error instanceof ProviderClaimError) {
      // A counter it cannot have honestly: as bad as bad data. What we verified is still paid.
      p.stats.markBad(e.listing.provider, error.shortMessage);
      dropSession(e);
      say(error.shortMessage);
      p.logger?.warn(`bandmint: ${error.shortMessage}`);
    } else if (error instanceof OfferMismatchError || error instanceof TicketRedrawError) {
      e.refused = error.shortMessage;
      dropSession(e);
      say(error.shortMessage);
      p.logger?.warn(`bandmint: ${error.shortMessage}`);
    } else if (error instanceof DepositTooLowError) {
      throw error;
    } else if (error instanceof ProviderTimeoutError) {
      p.stats.recordFailure(e.listing.provider);
      // Alone, a slow provider is still better than none: give it more time instead of dropping it.
      if (others > 0) e.coolUntil = now() + cooldownMs;
      else e.timeoutScale *= 2;
      say(error.shortMessage);
      p.logger?.info(`bandmint: ${error.shortMessage}${others > 0 ? " Failing over." : ""}`);
    } else if (error instanceof ProviderRequestError || error instanceof CreditExhaustedError) {
      p.stats.recordFailure(e.listing.provider);
      e.coolUntil = now() + cooldownMs;
      // A dead or confused node loses its session; a fresh one is opened after the cooldown.
      dropSession(e);
      say(error.shortMessage);
      p.logger?.info(`bandmint: ${error.shortMessage} Failing over.`);
    } else {
      throw error;
    }
  };

  const fetchChunk = async (r: ChunkRequest): Promise<Buffer> => {
    const failures: string[] = [];
    const { start, end } = chunkRange(r.file.size, r.chunkSize, r.index);
    for (;;) {
      const { entry, others } = await acquire(failures, r.contentId, r.chunkSize, r.signal);
      try {
        const s = await session(entry, r.signal);
        const provider = entry.listing.provider;
        const { data, elapsedMs } = await s.fetchRange({
          contentId: r.contentId,
          path: r.file.path,
          start,
          end,
          timeoutMs: timeoutFor(entry, Number(end - start)),
          verify: (bytes) => {
            try {
              verifyChunk(r.file, r.index, bytes, provider);
            } catch (cause) {
              throw new BadChunkError({ provider, path: r.file.path, index: r.index, cause });
            }
          },
          signal: r.signal,
        });
        p.stats.recordTransfer(provider, data.length, elapsedMs);
        entry.bytes += BigInt(data.length);
        entry.timeoutScale = 1;
        return data;
      } catch (error) {
        onFailure(entry, error, others, failures, r.signal);
      } finally {
        entry.inFlight--;
        wake();
      }
    }
  };

  const fetchManifest = (contentId: string, signal?: AbortSignal): Promise<Manifest> => {
    let m = manifests.get(contentId);
    if (m === undefined) {
      m = (async () => {
        const reasons: string[] = [];
        for (let attempt = 0; attempt < 8; attempt++) {
          const set = await activeSet();
          const e = set[0];
          if (e === undefined) {
            // Every provider failed (in this call or within its cooldown): say which and why.
            if (reasons.length === 0) reasons.push(...unusableReasons());
            break;
          }
          e.inFlight++;
          try {
            const s = await session(e, signal);
            const manifest = parseManifest(await s.fetchManifest(contentId, signal));
            return await verifyManifest(manifest, { expectedContentId: contentId });
          } catch (error) {
            if (signal?.aborted) throw error;
            if ((error instanceof BaseError && /Manifest/.test(error.name)) || error instanceof SyntaxError) {
              // A provider serving a manifest that does not verify serves bad data.
              const why = error instanceof BaseError ? error.shortMessage : `manifest is not JSON (${error.message})`;
              p.stats.markBad(e.listing.provider, `served an invalid manifest: ${why}`);
              reasons.push(`${e.listing.provider}: ${why}`);
            } else if (error instanceof ProviderRequestError && error.status === 404) {
              e.coolUntil = now() + cooldownMs;
              e.reason = error.shortMessage;
              reasons.push(`${e.listing.provider}: ${error.shortMessage}`);
            } else {
              onFailure(e, error, set.length - 1, reasons, signal);
            }
          } finally {
            e.inFlight--;
            wake();
          }
        }
        throw new ManifestUnavailableError({ contentId, reasons });
      })();
      manifests.set(contentId, m);
      // Failures are not cached: the next call tries again.
      m.catch(() => manifests.delete(contentId));
    }
    return m;
  };

  return {
    fetchChunk,
    fetchManifest,
    async settle(signal) {
      await Promise.all(
        [...entries.values()].flatMap((e) => [
          ...e.retired.map((r) => r.settled),
          (async () => {
            if (e.opened === undefined) return;
            try {
              await e.opened.settle(signal);
            } catch (error) {
              p.logger?.warn(`bandmint: could not pay the last bytes to ${e.listing.provider}: ${(error as Error).message}`);
            }
          })(),
        ]),
      );
    },
    report: () =>
      [...entries.values()].map((e) => {
        const pay = paidBy(e);
        const state = e.refused !== undefined ? "refused" : p.stats.isBad(e.listing.provider) ? "bad" : e.coolUntil > now() ? "cooling" : "active";
        return { provider: e.listing.provider, endpoint: e.listing.endpoint, state, reason: e.reason, bytes: e.bytes, tickets: pay.tickets, expectedValue: pay.expectedValue };
      }),
    activeProviders: () => [...entries.values()].filter((e) => e.opened !== undefined && usable(e)).length,
    expectedPaid: () => [...entries.values()].reduce((sum, e) => sum + paidBy(e).expectedValue, 0n),
  };
}
