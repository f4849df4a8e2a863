import { createServer, type Server } from "node:http";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Abi, Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { providerRegistryAbi, ticketBrokerAbi } from "../chain/abis.ts";
import type { Deployment } from "../chain/deployment.ts";
import { BaseError } from "../protocol/errors.ts";
import { domainSeparatorBytes } from "../protocol/hashTicket.ts";
import { ticketDomain } from "../protocol/ticket.ts";
import { expectedValue } from "../protocol/winningTicket.ts";
import type { Offer } from "../protocol/wire.ts";
import { createBrokerClient, type BrokerClient } from "./brokerClient.ts";
import type { NodeConfig } from "./config.ts";
import { createEdge, type Edge } from "./edge/createEdge.ts";
import { buildOffer } from "./payments/buildOffer.ts";
import { createFundsCache } from "./payments/fundsCache.ts";
import { createPaymentApi } from "./payments/paymentApi.ts";
import { createPaymentGate } from "./payments/paymentGate.ts";
import { createSessionBook, type Clock, type SessionBook } from "./payments/sessionBook.ts";
import { startSignerPool, type SignerPool } from "./payments/signerPool.ts";
import { createTicketIntake, type TicketIntake } from "./payments/ticketIntake.ts";
import { openTicketStore, type TicketStore } from "./payments/ticketStore.ts";
import { createRedeemer, type Redeemer } from "./redeemer.ts";
import { closeServer, listen } from "../http/serverLifecycle.ts";
import { createOperatorAdmin } from "./admin/createOperatorAdmin.ts";
import { createLimits, SESSION_ACTIVE_MS, type Limits } from "./limits/createLimits.ts";
import { limitedGate } from "./limits/limitedGate.ts";
import { createRefusalCounts } from "./operator/nodeMetrics.ts";
import type { Reachability } from "./operator/operatorReport.ts";
import { openOperatorStore, type OperatorStore } from "./operatorStore.ts";
import { createTrafficMeter, type TrafficMeter } from "./trafficMeter.ts";

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
  let server: Server | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let parts:
    | {
        store: TicketStore; sessions: SessionBook; intake: TicketIntake; redeemer: Redeemer; edge: Edge; broker: BrokerClient; signers: SignerPool | undefined;
        operatorStore: OperatorStore; meter: TrafficMeter; limits: Limits; admin: ReturnType<typeof createOperatorAdmin>;
      }
    | undefined;
  let url = "";

  function status() {
    if (parts === undefined) throw new Error("node not started");
    let served = 0n;
    let paid = 0n;
    let sessions = 0;
    for (const s of parts.sessions.all()) {
      served += s.servedBytes;
      paid += s.paidBytes;
      sessions += 1;
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
    };
  }

  return {
    offer,
    /** Opens the store, checks the listing, starts the edge, API and redeemer; resolves with the base URL. */
    async start(): Promise<string> {
      const listing = (await deps.publicClient.readContract({
        address: deployment.contracts.registry, abi: providerRegistryAbi as Abi, functionName: "getProvider", args: [recipient],
      })) as { offer: { pricePerGiB: bigint }; activeSince: bigint | number };
      if (BigInt(listing.activeSince) === 0n) log(`node: ${recipient} has no active listing; run 'bandmint node register' so consumers find it`);
      else if (listing.offer.pricePerGiB !== config.pricePerGiB) {
        throw new ListingMismatchError({ provider: recipient, listed: listing.offer.pricePerGiB, configured: config.pricePerGiB });
      }
      const viemBroker = createBrokerClient({ publicClient: deps.publicClient, walletClient: deps.walletClient, broker: deployment.contracts.broker, abi: ticketBrokerAbi });
      const broker = deps.wrapBroker ? deps.wrapBroker(viemBroker) : viemBroker;
      const store = openTicketStore({ path: join(config.dataDir, "tickets.db"), ticketWriter: "thread" });
      const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
      // The operator's side: traffic meter, limits and refusal counts (the relay shares all three).
      const operatorStore = openOperatorStore({ path: join(config.dataDir, "tickets.db") });
      const meter = createTrafficMeter({ clock, store: operatorStore });
      const limits = createLimits({ config: config.limits, clock, store: operatorStore, activeSessions: () => sessions.countActive(clock.now() - SESSION_ACTIVE_MS) });
      const refusals = createRefusalCounts();
      const funds = createFundsCache({ read: (s) => broker.getSender(s), clock, ttlMs: config.fundsTtlSeconds * 1000 });
      const outstanding = store.outstandingWinners();
      const domainSeparator = domainSeparatorBytes(ticketDomain(offer.chainId, offer.broker));
      const signerThreads = config.signerThreads ?? Math.min(4, availableParallelism() - 1);
      const signers = signerThreads > 0 ? startSignerPool({ threads: signerThreads, domainSeparator }) : undefined;
      const intake = createTicketIntake({ store, funds, offer, domainSeparator, clock, outstanding, ...(signers ? { signers } : {}) });
      const paymentGate = createPaymentGate({ sessions, intake, store, offer, clock, onRefusal: refusals.record });
      // Without per-byte limits the edge keeps the plain gate and no pacer: the hot path is unchanged.
      const gate = limits.pacer === undefined ? paymentGate : limitedGate(paymentGate, limits, refusals.record);
      const api = createPaymentApi({
        offer, sessions, intake, store, funds, chainLastNonce: (s) => broker.lastNonce(s), clock, status,
        availability: limits.availability, admitSession: () => limits.admit("session"), onRefusal: refusals.record,
      });
      const edge = createEdge({ cacheDir: config.cacheDir, maxCacheBytes: Number(config.maxCacheBytes), origins: config.origins, gate, pacer: limits.pacer, meter });
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
      const admin = createOperatorAdmin({
        config: config.admin, dataDir: config.dataDir, provider: recipient, url: () => url,
        offer: { pricePerGiB: offer.pricePerGiB, faceValue: offer.faceValue, winProb: offer.winProb, expectedValue: offer.expectedValue },
        store, sessions, meter, limits, edge, refusals,
        // Issue 11 adds reachability to /status; the dashboard shows it from there ("unknown" until then).
        reachability: () => (status() as { reachability?: Reachability }).reachability,
        publicClient: deps.publicClient, walletClient: deps.walletClient, deployment, clock, log,
      });
      parts = { store, sessions, intake, redeemer, edge, broker, signers, operatorStore, meter, limits, admin };
      const s = createServer((req, res) => {
        api.handle(req, res).then(
          (handled) => {
            if (!handled) edge.handle(req, res);
          },
          () => res.destroy(),
        );
      });
      server = s;
      url = await listen(s, config.host, config.port);
      // Served counters are flushed in batches; tickets are group-committed at intake, before the reply.
      flushTimer = setInterval(() => {
        sessions.flush();
        meter.flush();
        limits.flush();
      }, 1000);
      // Idle sessions (7 days) are forgotten; checking every ten minutes is plenty at that scale.
      idleTimer = setInterval(() => {
        const n = sessions.forgetIdle();
        if (n > 0) log(`node: forgot ${n} session(s) idle for 7 days`);
      }, 600_000);
      idleTimer.unref();
      redeemer.start();
      const adminUrl = await admin.start();
      log(`node: ${recipient} serving on ${url} (price ${offer.pricePerGiB} wei/GiB, face ${offer.faceValue}, winProb ${offer.winProb})${adminUrl ? `; admin on ${adminUrl}` : ""}`);
      return url;
    },
    /** Stops accepting requests, waits for the redeemer, flushes counters and closes the store. */
    async stop(): Promise<void> {
      if (flushTimer !== undefined) clearInterval(flushTimer);
      if (idleTimer !== undefined) clearInterval(idleTimer);
      flushTimer = idleTimer = undefined;
      const s = server;
      server = undefined;
      if (s !== undefined) await closeServer(s);
      if (parts !== undefined) {
        await parts.admin.stop();
        await parts.redeemer.stop();
        await parts.edge.stop();
        await parts.intake.close();
        await parts.signers?.close();
        parts.sessions.flush();
        parts.meter.flush();
        parts.limits.flush();
        parts.operatorStore.close();
        parts.store.close();
        parts = undefined;
      }
    },
    status,
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
