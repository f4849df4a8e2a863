import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import type { Abi, Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { providerRegistryAbi, ticketBrokerAbi } from "../chain/abis.ts";
import type { Deployment } from "../chain/deployment.ts";
import { BaseError } from "../protocol/errors.ts";
import { domainSeparatorBytes } from "../protocol/hashTicket.ts";
import { ticketDomain } from "../protocol/ticket.ts";
import { expectedValue } from "../protocol/winningTicket.ts";
import { MAX_REQUEST_HEAD_BYTES, type Offer } from "../protocol/wire.ts";
import { waitForChain } from "./waitForChain.ts";
import { createBrokerClient, type BrokerClient } from "./brokerClient.ts";
import type { NodeConfig } from "./config.ts";
import { createEdge, type Edge } from "./edge/createEdge.ts";
import { buildOffer } from "./payments/buildOffer.ts";
import { createFundsCache } from "./payments/fundsCache.ts";
import { isChainOutage, rpcUrlOf } from "./toChainUnavailable.ts";
import { createPaymentApi } from "./payments/paymentApi.ts";
import { createPaymentGate } from "./payments/paymentGate.ts";
import { createSessionBook, SESSION_OPEN_BURST, SESSION_OPENS_PER_MINUTE, type Clock, type SessionBook } from "./payments/sessionBook.ts";
import { createRefusalBudget } from "./payments/refusalBudget.ts";
import { createKeyedBuckets } from "./limits/keyedBuckets.ts";
import { startSignerPool, type SignerPool } from "./payments/signerPool.ts";
import { createTicketIntake, type TicketIntake } from "./payments/ticketIntake.ts";
import { openTicketStore, type TicketStore } from "./payments/ticketStore.ts";
import { createRedeemer, type Redeemer } from "./redeemer.ts";
import { readTlsFiles, watchTlsFiles } from "./tlsFiles.ts";
import { createDialbackApi, DIALBACK_PATH } from "./dialbackApi.ts";
import { createPortMapper, type PortMapper } from "./portMapper.ts";
import { createReachabilityCheck, type Reachability, type ReachabilityCheck } from "./reachability.ts";
import { createRelay, socketErrorResponse, type Relay } from "./relay/createRelay.ts";
import { createEgressPolicy } from "./relay/egressPolicy.ts";
import { ServiceNotOfferedError } from "./payments/errors.ts";
import { closeServer, dropSlowHeaders, listen } from "../http/serverLifecycle.ts";
import { secp256k1Backend } from "../protocol/secp256k1.ts";
import { hostDefaults, readHost, type Host } from "./hostDefaults.ts";
import { measureTicketChecks, type TicketCheckRate } from "./payments/measureTicketChecks.ts";

import { createOperatorAdmin } from "./admin/createOperatorAdmin.ts";
import { createLimits, SESSION_ACTIVE_MS, type Limits } from "./limits/createLimits.ts";
import { limitedGate } from "./limits/limitedGate.ts";
import { createRefusalCounts } from "./operator/refusalCounts.ts";
import { openOperatorStore, type OperatorStore } from "./operatorStore.ts";
import { createTrafficMeter, type TrafficMeter } from "./trafficMeter.ts";
/** A request head must arrive within this time (slow clients would otherwise hold sockets forever). */
export const HEADERS_TIMEOUT_MS = 15_000;
/** How long an idle keep-alive connection stays open (longer than clients keep theirs). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

/** The on-chain listing's price differs from the configured one: clients would refuse the node. */
export class ListingMismatchError extends BaseError {
  override name = "ListingMismatchError";
  constructor({ provider, listed, configured }: { provider: Address; listed: bigint; configured: bigint }) {
    super(`The on-chain listing of ${provider} prices a GiB at ${listed} wei but the config says ${configured}.`, {
      details: "Run 'bandmint node register' to update the listing, or fix pricePerGiB.",
    });
  }
}

/** What the node needs from outside: chain clients signing as the provider, and the deployment. */
export type ProviderNodeDeps = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  deployment: Deployment;
  clock?: Clock;
  log?: (line: string) => void;
  /** Replaces the viem broker client (tests inject faults around the real one). */
  wrapBroker?: (broker: BrokerClient) => BrokerClient;
  /** Other nodes to ask for a reachability dial-back when the config lists none (the CLI reads the registry). */
  peers?: (signal: AbortSignal) => Promise<string[]>;
  /** The fetch the reachability check uses (tests pass one that trusts a test CA). */
  fetch?: typeof fetch;
  /** The machine, for the thread and cache defaults (default: this one). */
  host?: Host;
};

/** Earnings and traffic as /status reports them (decimal strings for money and bytes). */
export type NodeStatus = ReturnType<ReturnType<typeof createProviderNode>["status"]>;

/**
 * The provider node: the CDN edge behind the payment gate, the session/ticket API, the durable
 * ticket store, the on-chain funds cache and the redeemer, on one HTTP port.
 */
export function createProviderNode(config: NodeConfig, deps: ProviderNodeDeps) {
  const clock = deps.clock ?? { now: () => Date.now() };
  const log = deps.log ?? (() => {});
  const recipient = deps.walletClient.account.address;
  const { deployment } = deps;
  const offer: Offer = buildOffer({
    recipient,
    chainId: deployment.chainId,
    broker: deployment.contracts.broker,
    pricePerGiB: config.pricePerGiB,
    bytesPerTicket: config.bytesPerTicket,
    faceValue: config.faceValue,
    creditWindowBytes: config.creditWindowBytes,
    ticketExpirySeconds: config.ticketExpirySeconds,
    services: config.services,
  });
  let server: Server | HttpsServer | undefined;
  let stopTlsWatch: (() => void) | undefined;
  let mapper: PortMapper | undefined;
  let mappingError: string | undefined;
  let reach: ReachabilityCheck | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let parts:
    | {
        store: TicketStore; sessions: SessionBook; intake: TicketIntake; redeemer: Redeemer; edge: Edge; broker: BrokerClient; signers: SignerPool | undefined; relay: Relay | undefined; crypto: TicketCheckRate;
        operatorStore: OperatorStore; meter: TrafficMeter; limits: Limits; admin: ReturnType<typeof createOperatorAdmin>;
      }
    | undefined;
  let url = "";

  function status() {
    if (parts === undefined) throw new Error("node not started");
    let served = 0n;
    let paid = 0n;
    let sessions = 0;
    const relayed = { servedBytes: 0n, paidBytes: 0n, sessions: 0 };
    for (const s of parts.sessions.all()) {
      sessions += 1;
      if (s.service === "relay") relayed.sessions += 1;
      // Most sessions of a busy node (or of an attack's idle ones) have served nothing: adding
      // their 0n would still allocate a bigint each, per session per GET /status (public).
      if (s.servedBytes === 0n && s.paidBytes === 0n) continue;
      served += s.servedBytes;
      paid += s.paidBytes;
      if (s.service === "relay") {
        relayed.servedBytes += s.servedBytes;
        relayed.paidBytes += s.paidBytes;
      }
    }
    const st = parts.store.stats();
    const r = st.redeemed;
    return {
      recipient,
      url,
      offer: { pricePerGiB: offer.pricePerGiB.toString(), faceValue: offer.faceValue.toString(), winProb: offer.winProb.toString() },
      sessions,
      servedBytes: served.toString(),
      paidBytes: paid.toString(),
      tickets: st.tickets,
      winners: st.winners,
      ticketsByState: st.byState,
      redeemed: { tickets: st.byState.confirmed, transactions: r.transactions },
      earnings: {
        // Expected value of every accepted ticket next to what the draws actually paid (variance).
        expected: (expectedValue(offer.faceValue, offer.winProb) * BigInt(st.tickets)).toString(),
        gross: r.paid.toString(),
        burn: r.burned.toString(),
        treasury: r.treasury.toString(),
        net: (r.paid - r.burned - r.treasury).toString(),
        gasCost: r.gasCost.toString(),
      },
      edge: parts.edge.stats(),
      // Which secp256k1 checks tickets and how fast (measured at start), and the signer threads' share.
      crypto: { ...parts.crypto, signerThreads: parts.signers?.running ?? 0, recoveredOnThreads: parts.signers?.recovered ?? 0 },
      ...(parts.relay
        ? { relay: { servedBytes: relayed.servedBytes.toString(), paidBytes: relayed.paidBytes.toString(), sessions: relayed.sessions, ...parts.relay.stats() } }
        : {}),
      reachability: reach?.status() ?? { state: "unknown", reason: "not checked yet" },
    };
  }

  return {
    offer,
    /**
     * Opens the store, checks the listing, starts the edge, API and redeemer; resolves with the
     * base URL. Until the chain answers (the listing is read first) it waits, logging why, and
     * gives up only when `signal` aborts (waitForChain.ts).
     */
    async start({ signal }: { signal?: AbortSignal } = {}): Promise<string> {
      const rpcUrl = rpcUrlOf(deps.publicClient);
      const listing = (await waitForChain(
        () => deps.publicClient.readContract({ address: deployment.contracts.registry, abi: providerRegistryAbi as Abi, functionName: "getProvider", args: [recipient] }),
        { what: "read its listing", rpcUrl, log, ...(signal ? { signal } : {}) },
      )) as { offer: { pricePerGiB: bigint; endpoint: string }; activeSince: bigint | number };
      const listedEndpoint = BigInt(listing.activeSince) === 0n ? undefined : listing.offer.endpoint;
      if (BigInt(listing.activeSince) === 0n) log(`node: ${recipient} has no active listing; run 'bandmint node register' so consumers find it`);
      else if (listing.offer.pricePerGiB !== config.pricePerGiB) {
        throw new ListingMismatchError({ provider: recipient, listed: listing.offer.pricePerGiB, configured: config.pricePerGiB });
      }
      const viemBroker = createBrokerClient({ publicClient: deps.publicClient, walletClient: deps.walletClient, broker: deployment.contracts.broker, abi: ticketBrokerAbi });
      const broker = deps.wrapBroker ? deps.wrapBroker(viemBroker) : viemBroker;
      const defaults = hostDefaults(deps.host ?? readHost());
      const idleMs = config.threadIdleSeconds > 0 ? config.threadIdleSeconds * 1000 : undefined;
      const store = openTicketStore({
        path: join(config.dataDir, "tickets.db"),
        ticketWriter: (config.ticketWriterThread ?? defaults.ticketWriterThread) ? "thread" : "inline",
        ...(idleMs !== undefined ? { writerIdleMs: idleMs } : {}),
      });
      const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
      // The operator's side: traffic meter, limits and refusal counts (the relay shares all three).
      const operatorStore = openOperatorStore({ path: join(config.dataDir, "tickets.db") });
      const meter = createTrafficMeter({ clock, store: operatorStore });
      const limits = createLimits({ config: config.limits, clock, store: operatorStore, activeSessions: () => sessions.countActive(clock.now() - SESSION_ACTIVE_MS) });
      const refusals = createRefusalCounts();
      const funds = createFundsCache({
        read: (s) => broker.getSender(s), clock, ttlMs: config.fundsTtlSeconds * 1000,
        // During an RPC outage sessions go on with the funds last read (fundsCache.ts says why that is safe).
        staleMs: config.fundsStaleSeconds * 1000, isOutage: isChainOutage,
      });
      const outstanding = store.outstandingWinners();
      const domainSeparator = domainSeparatorBytes(ticketDomain(offer.chainId, offer.broker));
      const backend = secp256k1Backend();
      const crypto = measureTicketChecks({ offer, domainSeparator });
      if (backend.name === "native") log(`node: secp256k1 native, ${crypto.ticketChecksPerSecond} ticket checks/s`);
      else {
        const why = backend.error instanceof Error ? backend.error.message.split("\n")[0] : String(backend.error);
        log(`node: WARNING secp256k1 javascript (slow fallback), ${crypto.ticketChecksPerSecond} ticket checks/s: ${why}. Install the native binding where bandmint runs (README, "Running a node on a small box") for about ten times the rate.`);
      }
      const signerThreads = config.signerThreads ?? defaults.signerThreads;
      const signers = signerThreads > 0 ? startSignerPool({ threads: signerThreads, domainSeparator, secp256k1: backend.name, ...(idleMs !== undefined ? { idleMs } : {}) }) : undefined;
      const intake = createTicketIntake({
        store, funds, offer, domainSeparator, clock, outstanding, ...(signers ? { signers } : {}),
        onPaid: (session) => sessions.creditFreed(session.sender),
      });
      // One allowance of refused tickets per sender, whether they came by POST or in headers.
      const refusalBudget = createRefusalBudget({ clock });
      const paymentGate = createPaymentGate({ sessions, intake, store, offer, clock, onRefusal: refusals.record, refusalBudget });
      // Without per-byte limits the edge keeps the plain gate and no pacer: the hot path is unchanged.
      const gate = limits.pacer === undefined ? paymentGate : limitedGate(paymentGate, limits, refusals.record);
      const api = createPaymentApi({
        offer, sessions, intake, store, funds, chainLastNonce: (s) => broker.lastNonce(s), clock, status,
        availability: limits.availability, admitSession: () => limits.admit("session"), onRefusal: refusals.record, refusalBudget,
        sessionOpens: createKeyedBuckets({ burst: SESSION_OPEN_BURST, perSecond: SESSION_OPENS_PER_MINUTE / 60, clock }),
      });
      const maxMemoryBytes = Math.min(Number(config.memoryCacheBytes ?? BigInt(defaults.memoryCacheBytes)), Number(config.maxCacheBytes));
      const edge = createEdge({ cacheDir: config.cacheDir, maxCacheBytes: Number(config.maxCacheBytes), maxMemoryBytes, origins: config.origins, gate, pacer: limits.pacer, meter });
      await edge.open();
      const redeemer = createRedeemer({
        store, broker, sessions, funds, outstanding, clock, log,
        policy: {
          maxFeeShareBps: config.redeem.maxFeeShareBps,
          deadlineMarginSeconds: config.redeem.deadlineMarginSeconds,
          maxBatch: config.redeem.maxBatch,
          intervalMs: config.redeem.intervalSeconds * 1000,
          maxBackoffMs: config.redeem.maxBackoffSeconds * 1000,
          tokenPerNativeE18: config.redeem.tokenPerNativeE18,
        },
      });
      const relay = offer.services.includes("relay")
        ? createRelay({
            sessions, offer, clock, log,
            egress: createEgressPolicy({ config: config.relay }),
            // The operator's limits and meter cover relay and delivery together.
            admit: () => limits.admit("tunnel"),
            pacer: limits.pacer,
            onServed: (bytes) => meter.record("relay", BigInt(bytes)),
            onRefusal: refusals.record,
            options: {
              unpaidGraceMs: config.relay.unpaidGraceSeconds * 1000,
              maxTunnelsPerSender: config.relay.maxTunnelsPerSender,
              connectsPerMinutePerSender: config.relay.connectsPerMinutePerSender,
              maxTunnels: config.relay.maxTunnels,
              connectTimeoutMs: config.relay.connectTimeoutSeconds * 1000,
              idleTimeoutMs: config.relay.idleTimeoutSeconds * 1000,
            },
          })
        : undefined;
      const admin = createOperatorAdmin({
        config: config.admin, dataDir: config.dataDir, provider: recipient, url: () => url,
        offer: { pricePerGiB: offer.pricePerGiB, faceValue: offer.faceValue, winProb: offer.winProb, expectedValue: offer.expectedValue },
        store, sessions, meter, limits, edge, refusals,
        reachability: () => reach?.status(),
        publicClient: deps.publicClient, walletClient: deps.walletClient, deployment, clock, log,
      });
      parts = { store, sessions, intake, redeemer, edge, broker, signers, relay, crypto, operatorStore, meter, limits, admin };
      const dialback = config.reachability.serveDialback ? createDialbackApi() : undefined;
      const handler = (req: IncomingMessage, res: ServerResponse) => {
        // Content (the hot path) is the edge's alone: no URL object, no promise to see that the
        // API does not own it (it owns /offer, /sessions and /status; the relay absolute URLs).
        if (req.url?.startsWith("/c/") === true) return edge.handle(req, res);
        if (relay?.handleRequest(req, res)) return;
        (dialback && req.url === DIALBACK_PATH ? dialback.handle(req, res) : api.handle(req, res)).then(
          (handled) => {
            if (!handled) edge.handle(req, res);
          },
          () => res.destroy(),
        );
      };
      // The head limit is the protocol's (payments.md §4.1), not whatever the runtime defaults to.
      const s = config.tls
        ? (await import("node:https")).createServer({ ...(await readTlsFiles(config.tls)), maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, handler)
        : createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, handler);
      if (config.tls) stopTlsWatch = watchTlsFiles(s as HttpsServer, config.tls, { log });
      dropSlowHeaders(s, HEADERS_TIMEOUT_MS);
      // Clients close idle keep-alive sockets first (undici after 4 s): a server closing at Node's
      // default 5 s races them, and a request sent on a socket the server is closing dies with
      // ECONNRESET (seen under load in tests).
      s.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      // CONNECT: tunnels for relay sessions, or a clear refusal where the node offers no relay.
      s.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (relay !== undefined) return relay.handleConnect(req, socket, head);
        socket.on("error", () => socket.destroy());
        socket.end(socketErrorResponse(new ServiceNotOfferedError({ service: "relay", offered: offer.services })));
      });
      server = s;
      url = await listen(s, config.host, config.port);
      // Served counters are flushed in batches; tickets are group-committed at intake, before the reply.
      // A failed flush (a full disk) keeps the counters dirty for the next one; thrown from a
      // timer it would end the process, which would lose them for good.
      let flushFailing = false;
      flushTimer = setInterval(() => {
        try {
          sessions.flush();
          meter.flush();
          limits.flush();
          if (flushFailing) log("node: session counters are being written again");
          flushFailing = false;
        } catch (error) {
          if (!flushFailing) log(`node: cannot write session counters (will retry): ${(error as BaseError).shortMessage ?? (error as Error).message}`);
          flushFailing = true;
        }
      }, 1000);
      // Idle sessions (7 days) are forgotten; checking every ten minutes is plenty at that scale.
      idleTimer = setInterval(() => {
        const n = sessions.forgetIdle();
        if (n > 0) log(`node: forgot ${n} session(s) idle for 7 days`);
      }, 600_000);
      idleTimer.unref();
      redeemer.start();
      const port = Number(new URL(url).port);
      if (config.portMapping !== undefined) {
        const pm = config.portMapping;
        mapper = createPortMapper({ protocol: pm.protocol, gateway: pm.gateway, internalHost: pm.internalHost, internalPort: port, leaseSeconds: pm.leaseSeconds, log });
        // A failed mapping does not stop the node (the port may be forwarded by hand); the reachability check reports it.
        await mapper.start().catch((error: BaseError) => {
          mappingError = error.shortMessage ?? String(error);
          log(`node: ${mappingError} (${error.details ?? ""})`);
        });
      }
      const scheme = config.tls ? "https" : "http";
      reach = createReachabilityCheck({
        recipient,
        endpoint: () => {
          const m = mapper?.current();
          return listedEndpoint ?? config.endpoint ?? (m ? `${scheme}://${m.externalHost}:${m.externalPort}` : url);
        },
        mapping: () => mapper?.current(),
        mappingError: () => mappingError,
        peers: config.reachability.peers ? async () => config.reachability.peers! : (deps.peers ?? (async () => [])),
        fetch: deps.fetch ?? globalThis.fetch,
        clock,
        log,
        intervalMs: config.reachability.intervalSeconds * 1000,
      });
      reach.start();
      const adminUrl = await parts.admin.start();
      log(`node: ${recipient} serving on ${url} (price ${offer.pricePerGiB} wei/GiB, face ${offer.faceValue}, winProb ${offer.winProb})${adminUrl ? `; admin on ${adminUrl}` : ""}`);
      return url;
    },
    /**
     * Stops accepting requests and lets those in flight finish (at most `drainMs`, then they are
     * cut), waits for the redeemer, commits what intake holds, flushes counters, closes the store.
     */
    async stop({ drainMs = 0 }: { drainMs?: number } = {}): Promise<void> {
      if (flushTimer !== undefined) clearInterval(flushTimer);
      if (idleTimer !== undefined) clearInterval(idleTimer);
      flushTimer = idleTimer = undefined;
      stopTlsWatch?.();
      stopTlsWatch = undefined;
      await reach?.stop();
      await mapper?.stop();
      mapper = undefined;
      const s = server;
      server = undefined;
      parts?.relay?.stop();
      if (s !== undefined) await closeServer(s, { drainMs });
      if (parts !== undefined) {
        const p = parts;
        parts = undefined;
        // Every step runs whatever the one before did (a full cache disk must not keep the ticket
        // store from closing); the first failure is rethrown at the end.
        let failure: unknown;
        const step = async (what: string, f: () => unknown) => {
          try {
            await f();
          } catch (error) {
            log(`node: stopping: ${what} failed: ${(error as BaseError).shortMessage ?? (error as Error).message}`);
            failure ??= error;
          }
        };
        await step("admin listener", () => p.admin.stop());
        await step("redeemer", () => p.redeemer.stop());
        await step("edge", () => p.edge.stop());
        await step("ticket intake", () => p.intake.close());
        await step("signer threads", () => p.signers?.close());
        await step("session counters", () => p.sessions.flush());
        await step("traffic meter", () => p.meter.flush());
        await step("limits", () => p.limits.flush());
        await step("operator store", () => p.operatorStore.close());
        await step("ticket store", () => p.store.close());
        if (failure !== undefined) throw failure;
      }
    },
    status,
    /** Runs the reachability self-check now and resolves with the verdict. */
    checkReachability(): Promise<Reachability> {
      if (reach === undefined) throw new Error("node not started");
      return reach.checkNow();
    },
    /** Runs one redemption round now (tests, `node redeem`). */
    redeemNow() {
      if (parts === undefined) throw new Error("node not started");
      return parts.redeemer.runOnce();
    },
    /** The admin listener's URLs (dashboard with its token when one is needed, /metrics); undefined when disabled. */
    adminUrls() {
      if (parts === undefined) throw new Error("node not started");
      return parts.admin.urls();
    },
    /** The node's limits (the relay shares them) and its traffic meter (the relay records "relay" bytes). */
    get limits(): Limits {
      if (parts === undefined) throw new Error("node not started");
      return parts.limits;
    },
    get meter(): TrafficMeter {
      if (parts === undefined) throw new Error("node not started");
      return parts.meter;
    },
    /** The ticket store (tests and tools read it). */
    get store(): TicketStore {
      if (parts === undefined) throw new Error("node not started");
      return parts.store;
    },
  };
}
