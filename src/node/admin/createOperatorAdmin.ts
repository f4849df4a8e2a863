import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import type { Edge } from "../edge/createEdge.ts";
import { SESSION_ACTIVE_MS, type Limits } from "../limits/createLimits.ts";
import type { SessionBook } from "../payments/sessionBook.ts";
import type { TicketStore } from "../payments/ticketStore.ts";
import type { TrafficMeter } from "../trafficMeter.ts";
import { createEarningsIndexer } from "../operator/earningsIndexer.ts";
import type { RefusalCounts } from "../operator/refusalCounts.ts";
import { createOperatorReporter, type OperatorReport, type Reachability } from "../operator/operatorReport.ts";
import { readRewards } from "../operator/readRewards.ts";
import { claimRewards, withdrawVested } from "../operator/rewardActions.ts";
import { summarizeEarnings } from "../operator/summarizeEarnings.ts";
import { createTicketDays } from "../operator/ticketDays.ts";
import { createAdminServer } from "./createAdminServer.ts";
import { resolveAdminToken } from "./adminToken.ts";

/** The admin listener's settings (node config `admin`); `portDefaulted`: the port was not configured (node port + 1). */
export type AdminConfig = { enabled: boolean; host: string; port: number; portDefaulted?: boolean; token?: string | undefined };

/** What the operator's views read and act through: the node's parts and its chain clients. */
export type OperatorAdminParameters = {
  config: AdminConfig;
  dataDir: string;
  provider: Address;
  /** The node's consumer-facing URL (known once it listens). */
  url: () => string;
  offer: OperatorReport["node"]["offer"];
  store: TicketStore;
  sessions: SessionBook;
  meter: TrafficMeter;
  limits: Limits;
  edge: Edge;
  refusals: RefusalCounts;
  /** Reachability as /status reports it (issue 11), when the node knows it. */
  reachability: () => Reachability | undefined;
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  deployment: Deployment;
  clock: { now(): number };
  log: (line: string) => void;
};

/**
 * The operator's side of a node: the report (one calculation of every figure), the Prometheus
 * metrics and the admin listener that serves them with the dashboard and the reward actions.
 */
export function createOperatorAdmin(p: OperatorAdminParameters) {
  const indexer = createEarningsIndexer({ publicClient: p.publicClient, deployment: p.deployment, provider: p.provider });
  const ticketDays = createTicketDays({ store: p.store });
  const rewards = (index: Parameters<typeof readRewards>[0]["index"]) => readRewards({ publicClient: p.publicClient, deployment: p.deployment, provider: p.provider, index });
  const reporter = createOperatorReporter({
    clock: p.clock, provider: p.provider, url: p.url, offer: p.offer,
    storeStats: () => p.store.stats(),
    ticketDays: () => ticketDays.update(),
    sessions: () => {
      let open = 0;
      for (const _ of p.sessions.all()) open++;
      return { open, active: p.sessions.countActive(p.clock.now() - SESSION_ACTIVE_MS) };
    },
    traffic: () => p.meter.snapshot(),
    limits: () => p.limits.state(),
    availability: () => p.limits.availability(),
    edge: () => p.edge.stats(),
    reachability: p.reachability,
    syncEarnings: () => indexer.sync(),
    readRewards: rewards,
  });
  // One action at a time: a double click must not send two claims.
  let acting: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = acting.then(fn, fn);
    acting = run.catch(() => {});
    return run.finally(() => reporter.invalidate());
  };
  const clients = { publicClient: p.publicClient, walletClient: p.walletClient, deployment: p.deployment };
  let server: ReturnType<typeof createAdminServer> | undefined;
  let metrics: { stop(): void } | undefined;
  let token: string | undefined;

  return {
    reporter,
    /** Starts the admin listener (if enabled); resolves with its URL, or undefined. */
    async start(): Promise<string | undefined> {
      if (!p.config.enabled) return undefined;
      // Loaded only with the listener: prom-client and the page cost a node without it nothing.
      const [{ createNodeMetrics }, { loadDashboardAssets }] = await Promise.all([import("../operator/nodeMetrics.ts"), import("../../dashboard/assets.ts")]);
      const m = createNodeMetrics({ report: () => reporter.report(), refusals: p.refusals });
      metrics = m;
      let assets: ReturnType<typeof loadDashboardAssets> | undefined;
      token = await resolveAdminToken({ host: p.config.host, configured: p.config.token, dataDir: p.dataDir });
      server = createAdminServer({
        // The page's assets are read and gzipped on the first request for one, not at start.
        host: p.config.host, port: p.config.port, token, assets: { get: (path) => (assets ??= loadDashboardAssets()).get(path) }, log: p.log,
        routes: {
          report: () => reporter.report(),
          earnings: async (range) => summarizeEarnings((await indexer.sync()).rows, range),
          claim: () => exclusive(async () => claimRewards({ ...clients, epochs: (await rewards(await indexer.sync())).claimable.map((c) => c.epoch) })),
          withdraw: () => exclusive(async () => withdrawVested({ ...clients, withdrawable: (await rewards(await indexer.sync())).vesting.withdrawable })),
          metrics: () => m.render(),
        },
      });
      try {
        return await server.start();
      } catch (error) {
        // The default port (the node's + 1) may be taken; a configured one is the operator's to fix.
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || !p.config.portDefaulted) throw error;
        p.log(`admin: port ${p.config.port} is in use; the admin listener takes a free port instead (set admin.port to choose one)`);
        return server.start(0);
      }
    },
    /** Stops the listener and the event-loop monitor. */
    async stop(): Promise<void> {
      metrics?.stop();
      await server?.stop();
      server = undefined;
    },
    /** URLs for people: the dashboard (with the token in its fragment when one is needed) and /metrics. */
    urls(): { admin: string; dashboard: string; metrics: string; tokenRequired: boolean } | undefined {
      if (server === undefined) return undefined;
      const admin = server.url;
      return { admin, dashboard: `${admin}/${token === undefined ? "" : `#token=${encodeURIComponent(token)}`}`, metrics: `${admin}/metrics`, tokenRequired: token !== undefined };
    },
  };
}
