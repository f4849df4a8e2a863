import { join } from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainClients } from "../chain/clients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { signSessionRequest } from "../protocol/sessionRequest.ts";
import { ticketDomain } from "../protocol/ticket.ts";
import type { ProviderListing } from "../market/providerListing.ts";
import { createProviderStats, type ProviderStats } from "../market/providerStats.ts";
import { readBadProviders, writeBadProviders } from "../market/badProviderFile.ts";
import { probeProviders } from "../market/probeProviders.ts";
import { readOffers } from "../market/readOffers.ts";
import { fundBroker, readBrokerBalance, withdrawFromBroker, type BrokerBalance, type FundBrokerParameters, type WithdrawOutcome } from "./brokerFunds.ts";
import { downloadContent, type DownloadProgress, type DownloadResult } from "./downloadContent.ts";
import { createGateway, type Gateway } from "./gateway.ts";
import { createHttpFetch } from "./createHttpFetch.ts";
import { createNativeTicketSigner } from "./createNativeTicketSigner.ts";
import { createProviderPool, type ClientLogger, type ProviderPool, type TimeoutPolicy } from "./providerPool.ts";
import { openProviderSession } from "./providerSession.ts";
import { createLocalProxy, type LocalProxy } from "./localProxy.ts";
import { openRelaySession } from "./openRelaySession.ts";
import { createRelayPool, type RelayPool } from "./relayPool.ts";

/** Options of `createClient`: its dependencies and tuning. */
export type CreateClientParameters = {
  clients: Pick<ChainClients, "publicClient" | "walletClient">;
  deployment: Deployment;
  /** The consumer's key: signs tickets (and transactions through `clients.walletClient`). */
  privateKey: Hex;
  /** Where the client keeps what outlives a run: the providers that served bad data. */
  dataDir?: string | undefined;
  fetch?: typeof globalThis.fetch;
  logger?: ClientLogger | undefined;
  /** Where the listings come from; defaults to the ProviderRegistry of the deployment. */
  listings?: (signal?: AbortSignal) => Promise<ProviderListing[]>;
  /** How long registry listings are reused before they are read again (ms). */
  listingsTtlMs?: number;
  maxProviders?: number;
  perProvider?: number;
  maxPricePerGiB?: bigint | undefined;
  timeouts?: Partial<TimeoutPolicy>;
  stats?: ProviderStats;
};

/** Options of `Client.get`. */
export type GetOptions = {
  out: string;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  concurrency?: number;
};

/** The consumer SDK: download verified content paying as it goes, serve it locally, manage funds. */
export type Client = {
  readonly address: Address;
  readonly pool: ProviderPool;
  readonly stats: ProviderStats;
  /** Active listings of every service (cached for `listingsTtlMs`). */
  listings(signal?: AbortSignal): Promise<ProviderListing[]>;
  /** Downloads `path` of `contentId` (or all of it) to `options.out`, resuming a previous attempt. */
  get(contentId: string, path: string | undefined, options: GetOptions): Promise<DownloadResult>;
  /** A local HTTP gateway over this client (call `start` on it). */
  gateway(options?: { cacheBytes?: number }): Gateway;
  /** Tunnels through relay providers, paying per byte (created on first use, then shared). */
  relay(): RelayPool;
  /** A local HTTP + SOCKS5 proxy over `relay()` (call `start` on it). */
  proxy(): LocalProxy;
  balance(): Promise<BrokerBalance>;
  deposit(p: FundBrokerParameters): Promise<{ hashes: Hex[] }>;
  withdraw(p?: { cancel?: boolean }): Promise<WithdrawOutcome>;
  /** Pays the last verified (or relayed) bytes on every open session. */
  close(signal?: AbortSignal): Promise<void>;
};

/** Creates a consumer client bound to one deployment and one key. */
export function createClient(p: CreateClientParameters): Client {
  const account = privateKeyToAccount(p.privateKey);
  const domain = ticketDomain(p.deployment.chainId, p.deployment.contracts.broker);
  const badPath = p.dataDir === undefined ? undefined : join(p.dataDir, "bad-providers.json");
  let loadingBad = false;
  const stats =
    p.stats ??
    createProviderStats({
      onBad: () => {
        if (badPath === undefined || loadingBad) return;
        writeBadProviders(badPath, stats.badProviders()).catch((error: unknown) => p.logger?.warn(`bandmint: cannot record bad providers in ${badPath}: ${(error as Error).message}`));
      },
    });
  // Providers an earlier run caught serving bad data stay excluded (loaded before the first ranking).
  const loaded =
    badPath === undefined
      ? Promise.resolve()
      : readBadProviders(badPath).then((list) => {
          loadingBad = true;
          for (const b of list) stats.markBad(b.provider, b.reason);
          loadingBad = false;
        });
  const ttl = p.listingsTtlMs ?? 60_000;
  let cached: { at: number; listings: Promise<ProviderListing[]> } | undefined;
  const listings = (signal?: AbortSignal): Promise<ProviderListing[]> => {
    if (cached === undefined || Date.now() - cached.at > ttl) {
      const read = p.listings ?? ((s?: AbortSignal) => readOffers({ publicClient: p.clients.publicClient as never, registry: p.deployment.contracts.registry, signal: s }));
      // Fresh listings are probed once (GET /offer) so the first ranking already knows who answers.
      const promise = loaded.then(() => read(signal)).then(async (found) => {
        await probeProviders({ listings: found, stats, ...(p.fetch ? { fetch: p.fetch } : {}), signal });
        return found;
      });
      cached = { at: Date.now(), listings: promise };
      promise.catch(() => (cached = undefined));
    }
    return cached.listings;
  };
  // The hot path (bench/paid.ts): chunk bodies over node:http, tickets signed by libsecp256k1.
  const sessionFetch = p.fetch ?? createHttpFetch();
  const sign = createNativeTicketSigner(p.privateKey, domain);
  const openSessionParameters = (listing: ProviderListing, signal?: AbortSignal) => ({
    listing,
    chainId: p.deployment.chainId,
    broker: p.deployment.contracts.broker,
    sender: account.address,
    sign,
    signSession: (message: Parameters<typeof signSessionRequest>[0]["message"]) => signSessionRequest({ message, domain, privateKey: p.privateKey }),
    fetch: sessionFetch,
    signal,
  });
  const pool = createProviderPool({
    listings: () => listings(),
    stats,
    openSession: (listing, signal) => openProviderSession(openSessionParameters(listing, signal)),
    maxProviders: p.maxProviders ?? 3,
    ...(p.perProvider !== undefined ? { perProvider: p.perProvider } : {}),
    maxPricePerGiB: p.maxPricePerGiB,
    ...(p.timeouts ? { timeouts: p.timeouts } : {}),
    logger: p.logger,
  });
  let relayPool: RelayPool | undefined;
  const relay = (): RelayPool =>
    (relayPool ??= createRelayPool({
      listings: () => listings(),
      stats,
      openSession: (listing, signal) => openRelaySession(openSessionParameters(listing, signal)),
      maxPricePerGiB: p.maxPricePerGiB,
      logger: p.logger,
    }));
  return {
    address: account.address,
    pool,
    stats,
    listings,
    get: (contentId, path, o) =>
      downloadContent({ pool, contentId, path, out: o.out, signal: o.signal, onProgress: o.onProgress, ...(o.concurrency ? { concurrency: o.concurrency } : {}) }),
    gateway: (o = {}) => createGateway({ pool, ...(o.cacheBytes ? { cacheBytes: o.cacheBytes } : {}), logger: p.logger }),
    balance: () => readBrokerBalance(p.clients, p.deployment, account.address),
    deposit: (f) => fundBroker(p.clients, p.deployment, f),
    withdraw: (w) => withdrawFromBroker(p.clients, p.deployment, w),
    relay,
    proxy: () => createLocalProxy({ pool: relay(), logger: p.logger }),
    close: async (signal) => {
      await Promise.all([pool.settle(signal), relayPool?.settle(signal)]);
    },
  };
}
