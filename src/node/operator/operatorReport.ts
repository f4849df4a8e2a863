import type { Address } from "viem";
import type { OfferAvailability, Service } from "../../protocol/wire.ts";
import type { EdgeStats } from "../edge/createEdge.ts";
import type { LimitStatus } from "../limits/createLimits.ts";
import type { StoreStats } from "../payments/ticketStore.ts";
import type { TrafficSnapshot } from "../trafficMeter.ts";
import type { EarningRow, EarningsIndex } from "./earningsIndexer.ts";
import type { RewardsSnapshot } from "./readRewards.ts";
import { summarizeEarnings, utcDay, type EarningsDay, type EarningsTotals } from "./summarizeEarnings.ts";
import type { TicketDay } from "./ticketDays.ts";

/** Whether consumers on the internet can reach the node (issue 11 adds it to /status); "unknown" until then. */
export type Reachability = { state: "reachable" | "not-reachable" | "unknown"; reason?: string | undefined; [k: string]: unknown };

/** The dashboard's top row; `bandmint node status` prints exactly these figures. */
export type OperatorSummary = {
  provider: Address;
  state: "serving" | "unavailable";
  unavailable: { limit: string; reason: string; retryAfterSeconds: number } | undefined;
  reachability: Reachability;
  activeSessions: number;
  openSessions: number;
  /** Bytes served today (UTC) and ever, all services. */
  servedToday: bigint;
  servedTotal: bigint;
  /** Tokens received for tickets today (UTC) and ever (net of burn and treasury). */
  netToday: bigint;
  netTotal: bigint;
  /** Expected value of every ticket accepted, and the gross its redeemed winners paid. */
  expected: bigint;
  realised: bigint;
  claimable: bigint;
  withdrawable: bigint;
  pendingWinners: number;
};

/** Expected next to realised value, and the one line that explains the gap. */
export type Variance = { tickets: number; expectedWinners: number; stddevWinners: number; winners: number; line: string };

/**
 * Every figure the dashboard, `node status`, `bandmint earnings` and /metrics show, computed in one
 * place (this module) from the node's stores and the chain's events. Token wei and bytes are bigint.
 */
export type OperatorReport = {
  generatedAt: number;
  summary: OperatorSummary;
  node: { provider: Address; url: string; offer: { pricePerGiB: bigint; faceValue: bigint; winProb: bigint; expectedValue: bigint } };
  traffic: TrafficSnapshot & { today: Record<Service, bigint> };
  tickets: { received: number; winners: number; byState: StoreStats["byState"]; days: TicketDay[] };
  earnings: { days: EarningsDay[]; totals: EarningsTotals; expected: bigint; won: bigint; realised: bigint; variance: Variance };
  rewards: RewardsSnapshot | undefined;
  redemptions: { transactions: number; gasUsed: bigint; gasCost: bigint };
  limits: LimitStatus[];
  availability: OfferAvailability;
  reachability: Reachability;
  edge: EdgeStats & { cacheHitRatio: number | undefined };
  /** Set when the chain could not be read: chain figures are then from the last successful read. */
  chainError: string | undefined;
};

/** What the report is computed from. */
export type OperatorReportInputs = {
  now: number;
  provider: Address;
  url: string;
  offer: OperatorReport["node"]["offer"];
  storeStats: StoreStats;
  ticketDays: TicketDay[];
  sessions: { open: number; active: number };
  traffic: TrafficSnapshot;
  limits: LimitStatus[];
  availability: OfferAvailability;
  edge: EdgeStats;
  reachability: Reachability | undefined;
  earningRows: readonly EarningRow[];
  rewards: RewardsSnapshot | undefined;
  chainError: string | undefined;
};

/** The line under "expected vs realised": why the two differ, in numbers. */
export function varianceLine(tickets: number, p: number, pq: number, winners: number): Variance {
  const sd = Math.sqrt(pq);
  let line: string;
  if (tickets === 0) line = "No tickets yet: value is realised when winning tickets are redeemed.";
  else if (sd === 0) line = `All ${tickets} tickets were certain to win: realised value follows expected value exactly, once redeemed.`;
  else {
    const z = (winners - p) / sd;
    line =
      `${tickets} tickets at these odds give ${p.toFixed(1)} ± ${sd.toFixed(1)} winners; ${winners} won ` +
      `(${z >= 0 ? "+" : ""}${z.toFixed(1)} σ): tickets are a lottery, so realised value swings around expected value and evens out over many tickets.`;
  }
  return { tickets, expectedWinners: p, stddevWinners: sd, winners, line };
}

/** Computes the report from its inputs (pure: the same inputs give the same figures). */
export function computeOperatorReport(i: OperatorReportInputs): OperatorReport {
  const earnings = summarizeEarnings(i.earningRows);
  const today = utcDay(Math.floor(i.now / 1000));
  const todayEarnings = earnings.days.find((d) => d.day === today);
  const todayTraffic = i.traffic.days.at(-1);
  const servedToday = todayTraffic !== undefined && utcDay(todayTraffic.t / 1000) === today ? { cdn: todayTraffic.cdn, relay: todayTraffic.relay } : { cdn: 0n, relay: 0n };
  let expected = 0n;
  let won = 0n;
  let p = 0;
  let pq = 0;
  let winners = 0;
  let tickets = 0;
  for (const d of i.ticketDays) {
    expected += d.expected;
    won += d.won;
    p += d.p;
    pq += d.pq;
    winners += d.winners;
    tickets += d.tickets;
  }
  const reachability: Reachability = i.reachability ?? { state: "unknown" };
  const hits = i.edge.memoryHits + i.edge.diskHits;
  const r = i.storeStats.redeemed;
  return {
    generatedAt: i.now,
    summary: {
      provider: i.provider,
      state: i.availability.available ? "serving" : "unavailable",
      unavailable: i.availability.available ? undefined : i.availability.unavailable,
      reachability,
      activeSessions: i.sessions.active,
      openSessions: i.sessions.open,
      servedToday: servedToday.cdn + servedToday.relay,
      servedTotal: i.traffic.totals.cdn + i.traffic.totals.relay,
      netToday: todayEarnings?.net ?? 0n,
      netTotal: earnings.totals.net,
      expected,
      realised: earnings.totals.gross,
      claimable: i.rewards?.claimableTotal ?? 0n,
      withdrawable: i.rewards?.vesting.withdrawable ?? 0n,
      pendingWinners: i.storeStats.byState.pending + i.storeStats.byState.submitted,
    },
    node: { provider: i.provider, url: i.url, offer: i.offer },
    traffic: { ...i.traffic, today: servedToday },
    tickets: { received: i.storeStats.tickets, winners: i.storeStats.winners, byState: i.storeStats.byState, days: i.ticketDays },
    earnings: { days: earnings.days, totals: earnings.totals, expected, won, realised: earnings.totals.gross, variance: varianceLine(tickets, p, pq, winners) },
    rewards: i.rewards,
    redemptions: { transactions: r.transactions, gasUsed: r.gasUsed, gasCost: r.gasCost },
    limits: i.limits,
    availability: i.availability,
    reachability,
    edge: { ...i.edge, cacheHitRatio: hits + i.edge.originFetches === 0 ? undefined : hits / (hits + i.edge.originFetches) },
    chainError: i.chainError,
  };
}

/** Where a running node's reporter gathers its inputs from. */
export type OperatorReporterSources = Omit<OperatorReportInputs, "now" | "url" | "storeStats" | "ticketDays" | "sessions" | "traffic" | "limits" | "availability" | "edge" | "reachability" | "earningRows" | "rewards" | "chainError"> & {
  clock: { now(): number };
  url(): string;
  storeStats(): StoreStats;
  ticketDays(): TicketDay[];
  sessions(): { open: number; active: number };
  traffic(): TrafficSnapshot;
  limits(): LimitStatus[];
  availability(): OfferAvailability;
  edge(): EdgeStats;
  reachability(): Reachability | undefined;
  /** Reads new chain events (incremental). */
  syncEarnings(): Promise<EarningsIndex>;
  readRewards(index: EarningsIndex): Promise<RewardsSnapshot>;
};

/**
 * The running node's report: gathers the inputs and computes them, at most once per `ttlMs`
 * (the dashboard, `node status` and a Prometheus scrape share one computation). A chain outage
 * leaves the chain figures at their last successful read and says so in `chainError`.
 */
export function createOperatorReporter(s: OperatorReporterSources, { ttlMs = 2000 }: { ttlMs?: number } = {}) {
  let cached: { at: number; report: Promise<OperatorReport> } | undefined;
  let lastRewards: RewardsSnapshot | undefined;
  let lastRows: readonly EarningRow[] = [];

  async function build(): Promise<OperatorReport> {
    let chainError: string | undefined;
    try {
      const index = await s.syncEarnings();
      lastRows = index.rows;
      lastRewards = await s.readRewards(index);
    } catch (error) {
      chainError = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
    }
    return computeOperatorReport({
      now: s.clock.now(), provider: s.provider, url: s.url(), offer: s.offer,
      storeStats: s.storeStats(), ticketDays: s.ticketDays(), sessions: s.sessions(), traffic: s.traffic(),
      limits: s.limits(), availability: s.availability(), edge: s.edge(), reachability: s.reachability(),
      earningRows: lastRows, rewards: lastRewards, chainError,
    });
  }

  return {
    /** The current report (cached for ttlMs). */
    report(): Promise<OperatorReport> {
      const now = s.clock.now();
      if (cached === undefined || now - cached.at >= ttlMs) {
        const report = build();
        cached = { at: now, report };
        report.catch(() => (cached = undefined));
      }
      return cached.report;
    },
    /** Forgets the cached report (after a claim or withdrawal changed the chain). */
    invalidate(): void {
      cached = undefined;
    },
  };
}
