import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import type { Address } from "viem";
import type { ProviderListing } from "../market/providerListing.ts";
import type { ProviderStats } from "../market/providerStats.ts";
import { rankProviders } from "../market/rankProviders.ts";
import { DepositTooLowError, NoRelayAvailableError, OfferMismatchError, ProviderClaimError, RelayOverReportError, RelayRefusedError, TicketRedrawError } from "./errors.ts";
import type { RelaySession } from "./openRelaySession.ts";
import type { ClientLogger } from "./providerPool.ts";

/** Options of `createRelayPool`. */
export type RelayPoolParameters = {
  /** The on-chain listings to choose from. */
  listings: () => Promise<readonly ProviderListing[]>;
  stats: ProviderStats;
  openSession: (listing: ProviderListing, signal?: AbortSignal) => Promise<RelaySession>;
  maxPricePerGiB?: bigint | undefined;
  /** Providers tried for one connection before giving up (default 3). */
  maxAttempts?: number;
  /** How long a provider that failed is left alone (ms, default 30 s). */
  cooldownMs?: number;
  logger?: ClientLogger | undefined;
  now?: () => number;
};

/** What the pool reports per provider (for progress lines and the summary). */
export type RelayProviderReport = {
  provider: Address;
  endpoint: string;
  state: "active" | "cooling" | "bad" | "refused";
  reason: string | undefined;
  tunnels: number;
  movedBytes: bigint;
  tickets: number;
  expectedValue: bigint;
};

/** Tunnels through the best relay providers, failing over between them. */
export type RelayPool = {
  /** Opens a tunnel to host:port through the best provider that takes it. */
  connect(host: string, port: number, signal?: AbortSignal): Promise<{ socket: Socket; session: RelaySession }>;
  /**
   * Forwards a plain-HTTP request (absolute-form url) through the best provider that takes it,
   * with `body` piped up (counted); resolves with the response head. A request with a body is
   * tried on one provider only: its body cannot be sent twice.
   */
  request(method: string, url: string, headers: OutgoingHttpHeaders, body: Readable | undefined, signal?: AbortSignal): Promise<{ response: IncomingMessage; session: RelaySession }>;
  /** Pays every counted byte on every session. */
  settle(signal?: AbortSignal): Promise<void>;
  report(): RelayProviderReport[];
};

type Entry = {
  listing: ProviderListing;
  session: Promise<RelaySession> | undefined;
  sessions: RelaySession[];
  tunnels: number;
  coolUntil: number;
  refused: string | undefined;
  reason: string | undefined;
};

// Refusals about the destination itself: every provider would give the same answer.
const FINAL_REASONS = new Set(["forbidden-address", "bad-target", "bad-host"]);
// Refusals that mean the node lost our session (a restart, a forgotten session): open a new one.
const SESSION_LOST = new Set(["auth-invalid", "auth-required"]);

/**
 * Creates a relay pool. For each new connection it ranks the relay listings (the market's
 * ranking: price, then measured speed), skips providers that are cooling down, refused or caught
 * over-reporting, and asks the best one; a provider that is down, busy, over its limits or whose
 * policy refuses the destination is cooled down (or skipped) and the next one is asked, up to
 * `maxAttempts`. A refusal that any provider would give (a forbidden address) ends the attempt at
 * once with the node's reason. One session per provider carries all its tunnels.
 */
export function createRelayPool(p: RelayPoolParameters): RelayPool {
  const maxAttempts = p.maxAttempts ?? 3;
  const cooldownMs = p.cooldownMs ?? 30_000;
  const now = p.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const log = p.logger;

  const entryFor = (listing: ProviderListing): Entry => {
    const key = listing.provider.toLowerCase();
    let e = entries.get(key);
    if (e === undefined || e.listing.endpoint !== listing.endpoint || e.listing.pricePerGiB !== listing.pricePerGiB) {
      e = { listing, session: undefined, sessions: e?.sessions ?? [], tunnels: e?.tunnels ?? 0, coolUntil: 0, refused: undefined, reason: undefined };
      entries.set(key, e);
    }
    return e;
  };
  const usable = (e: Entry) => e.refused === undefined && !p.stats.isBad(e.listing.provider) && e.coolUntil <= now();
  const sessionOf = (e: Entry, signal?: AbortSignal): Promise<RelaySession> => {
    e.session ??= p.openSession(e.listing, signal).then(
      (s) => {
        e.sessions.push(s);
        return s;
      },
      (error: unknown) => {
        e.session = undefined;
        throw error;
      },
    );
    return e.session;
  };

  /** Tries `attempt` on providers in rank order; classifies each failure (see the note above). */
  async function withProvider<T>(what: string, signal: AbortSignal | undefined, attempt: (s: RelaySession) => Promise<T>, attempts = maxAttempts): Promise<{ value: T; session: RelaySession }> {
    const ranked = rankProviders({ listings: await p.listings(), stats: p.stats, maxPricePerGiB: p.maxPricePerGiB, service: "relay" });
    const candidates = ranked.map(entryFor).filter(usable);
    const failures: string[] = [];
    for (const e of candidates.slice(0, attempts)) {
      signal?.throwIfAborted();
      let session: RelaySession | undefined;
      try {
        session = await sessionOf(e, signal);
        if (session.failure !== undefined) throw session.failure;
        const value = await attempt(session);
        return { value, session };
      } catch (error) {
        if (signal?.aborted) throw error;
        const why = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
        failures.push(`${e.listing.provider}: ${why}`);
        if (error instanceof RelayRefusedError && error.reason !== undefined && FINAL_REASONS.has(error.reason)) throw error;
        if (error instanceof RelayOverReportError || error instanceof ProviderClaimError) {
          p.stats.markBad(e.listing.provider, why);
          e.session = undefined;
        } else if (error instanceof OfferMismatchError || error instanceof TicketRedrawError) {
          e.refused = why;
          e.session = undefined;
        } else if (error instanceof DepositTooLowError) {
          throw error; // no provider will take us
        } else if (error instanceof RelayRefusedError && error.reason !== undefined && SESSION_LOST.has(error.reason)) {
          e.session = undefined; // the next connection opens a new session here
        } else if (!(error instanceof RelayRefusedError && error.status === 403)) {
          // Down, busy, over a limit, or our session there failed: leave it alone for a while.
          e.coolUntil = now() + cooldownMs;
          e.reason = why;
          p.stats.recordFailure(e.listing.provider);
          if (session?.failure !== undefined) e.session = undefined;
        }
        log?.warn(`relay: ${what} via ${e.listing.endpoint} failed (${why}); trying the next provider`);
      }
    }
    throw new NoRelayAvailableError({ target: what, failures });
  }

  return {
    async connect(host, port, signal) {
      const { value: socket, session } = await withProvider(`${host}:${port}`, signal, (s) => s.connect(host, port, signal));
      const e = entryFor(session.listing);
      e.tunnels++;
      return { socket, session };
    },
    async request(method, url, headers, body, signal) {
      const { value: response, session } = await withProvider(
        url,
        signal,
        async (s) => {
          const { upstream, response } = await s.request(method, url, headers, signal);
          if (body === undefined) upstream.end();
          else s.pipe(body, upstream).catch(() => upstream.destroy());
          return await response;
        },
        body === undefined ? maxAttempts : 1,
      );
      entryFor(session.listing).tunnels++;
      return { response, session };
    },
    async settle(signal) {
      const all = [...entries.values()].flatMap((e) => e.sessions);
      const results = await Promise.allSettled(all.map((s) => s.settle(signal)));
      const failed = results.filter((r) => r.status === "rejected");
      if (failed.length > 0) log?.warn(`relay: ${failed.length} session(s) could not settle: ${(failed[0] as PromiseRejectedResult).reason}`);
    },
    report() {
      return [...entries.values()]
        .filter((e) => e.sessions.length > 0 || e.reason !== undefined || e.refused !== undefined)
        .map((e) => {
          let movedBytes = 0n;
          let tickets = 0;
          let expectedValue = 0n;
          for (const s of e.sessions) {
            const pay = s.payments();
            movedBytes += pay.movedBytes;
            tickets += pay.tickets;
            expectedValue += pay.expectedValue;
          }
          const bad = p.stats.get(e.listing.provider).bad;
          return {
            provider: e.listing.provider,
            endpoint: e.listing.endpoint,
            state: bad ? "bad" : e.refused ? "refused" : e.coolUntil > now() ? "cooling" : "active",
            reason: bad?.reason ?? e.refused ?? e.reason,
            tunnels: e.tunnels,
            movedBytes,
            tickets,
            expectedValue,
          };
        });
    },
  };
}
