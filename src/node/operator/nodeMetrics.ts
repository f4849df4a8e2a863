type IntervalHistogram = ReturnType<typeof import("node:perf_hooks").monitorEventLoopDelay>;
import type { Counter, Gauge, Registry } from "prom-client";
import type { OperatorReport } from "./operatorReport.ts";
import type { RefusalCounts } from "./refusalCounts.ts";

const n = (v: bigint | number): number => Number(v);

/**
 * The node's Prometheus metrics (prom-client, a registry of its own so several nodes can share a
 * process): every figure comes from the operator report (one calculation), plus refusals by reason
 * and the event loop's delay measured since the previous scrape (from the second scrape on: the
 * first starts the histogram). `stop()` disables it, so a stopped node leaves nothing running.
 */
export function createNodeMetrics({ report, refusals, rss = () => process.memoryUsage.rss() }: {
  report: () => Promise<OperatorReport>;
  refusals: RefusalCounts;
  rss?: () => number;
}) {
  let loop: IntervalHistogram | undefined;
  let stopped = false;
  // prom-client (with the https, tls and zlib it loads for its push gateway, ~4 MB) and the
  // registry are made on the first scrape: a node nobody scrapes never holds them.
  let made: Promise<Registry> | undefined;
  const make = async (): Promise<Registry> => {
    const { Counter, Gauge, Registry } = await import("prom-client");
    // The event-loop histogram (node:perf_hooks, a 20 ms timer) runs from the first scrape on: a
    // node nobody scrapes does not wake 50 times a second to measure a delay nobody reads.
    if (!stopped) {
      const { monitorEventLoopDelay } = await import("node:perf_hooks");
      loop = monitorEventLoopDelay({ resolution: 20 });
      loop.enable();
    }
    const registry = new Registry();
    const registers = [registry];
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, r: OperatorReport) => void) =>
      new Gauge({ name, help, labelNames, registers, async collect() { this.reset(); fill(this, await report()); } });
    const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, r: OperatorReport) => void) =>
      new Counter({ name, help, labelNames, registers, async collect() { this.reset(); fill(this, await report()); } });

    counter("bandmint_served_bytes_total", "Body bytes served, by service.", ["service"], (c, r) => {
      for (const service of ["cdn", "relay"] as const) c.inc({ service }, n(r.traffic.totals[service]));
    });
    gauge("bandmint_sessions", "Payment sessions: open (known to the node) and active (recent traffic).", ["state"], (g, r) => {
      g.set({ state: "open" }, r.summary.openSessions);
      g.set({ state: "active" }, r.summary.activeSessions);
    });
    gauge("bandmint_tickets", "Stored tickets by outcome (losing, pending, submitted, confirmed, failed).", ["outcome"], (g, r) => {
      for (const [outcome, count] of Object.entries(r.tickets.byState)) g.set({ outcome }, count);
    });
    new Counter({
      name: "bandmint_refusals_total", help: "Requests refused, by reason (error name, and the limit for LimitReachedError).", labelNames: ["reason"], registers,
      collect() {
        this.reset();
        for (const [reason, count] of refusals.counts()) this.inc({ reason }, count);
      },
    });
    counter("bandmint_redemption_transactions_total", "Confirmed redemption transactions.", [], (c, r) => c.inc(r.redemptions.transactions));
    counter("bandmint_redemption_gas_used_total", "Gas used by confirmed redemption transactions.", [], (c, r) => c.inc(n(r.redemptions.gasUsed)));
    counter("bandmint_redemption_gas_cost_wei_total", "Fees of confirmed redemption transactions, native wei.", [], (c, r) => c.inc(n(r.redemptions.gasCost)));
    gauge("bandmint_earnings_wei", "Earnings from the chain's events, token wei (gas in native wei): gross, burn, treasury, net, reward, withdrawn, gas.", ["kind"], (g, r) => {
      const t = r.earnings.totals;
      for (const kind of ["gross", "burn", "treasury", "net", "reward", "withdrawn", "gas"] as const) g.set({ kind }, n(t[kind]));
    });
    gauge("bandmint_expected_value_wei", "Expected value of every ticket accepted, token wei.", [], (g, r) => g.set(n(r.earnings.expected)));
    gauge("bandmint_rewards_wei", "Rewards: claimable, withdrawable (vested) and locked (vesting), token wei.", ["state"], (g, r) => {
      g.set({ state: "claimable" }, n(r.rewards?.claimableTotal ?? 0n));
      g.set({ state: "withdrawable" }, n(r.rewards?.vesting.withdrawable ?? 0n));
      g.set({ state: "locked" }, n(r.rewards?.vesting.locked ?? 0n));
    });
    gauge("bandmint_cache_hit_ratio", "Chunks served from memory or disk over all chunk loads (origin fetches included).", [], (g, r) => {
      if (r.edge.cacheHitRatio !== undefined) g.set(r.edge.cacheHitRatio);
    });
    gauge("bandmint_available", "1 when the node takes new sessions, 0 while a limit holds.", [], (g, r) => g.set(r.availability.available ? 1 : 0));
    gauge("bandmint_limit_holding", "1 while the limit holds (new work refused or, for rate, queued over the backlog bound).", ["limit"], (g, r) => {
      for (const l of r.limits) g.set({ limit: l.limit }, l.holding ? 1 : 0);
    });
    gauge("bandmint_limit_used_ratio", "Quota used / quota, active sessions / maxSessions.", ["limit"], (g, r) => {
      for (const l of r.limits) {
        if (l.limit === "quota") g.set({ limit: "quota" }, Number(l.used) / Number(l.bytes));
        if (l.limit === "sessions") g.set({ limit: "sessions" }, l.active / l.max);
      }
    });
    new Gauge({
      name: "bandmint_event_loop_lag_seconds", help: "Event loop delay since the previous scrape (p50, p99, max).", labelNames: ["quantile"], registers,
      collect() {
        this.reset();
        // Nothing measured yet (the first scrape starts the histogram): no figure rather than a 0.
        if (loop === undefined || loop.count === 0) return;
        this.set({ quantile: "0.5" }, loop.percentile(50) / 1e9);
        this.set({ quantile: "0.99" }, loop.percentile(99) / 1e9);
        this.set({ quantile: "1" }, loop.max / 1e9);
        loop.reset();
      },
    });
    new Gauge({ name: "bandmint_process_resident_memory_bytes", help: "Resident set size of the node process.", registers, collect() { this.set(rss()); } });
    return registry;
  };
  return {
    /** Stops measuring the event loop's delay (it starts with the first scrape). */
    stop(): void {
      stopped = true;
      loop?.disable();
    },
    /** The exposition text and its content type. */
    async render(): Promise<{ body: string; contentType: string }> {
      const registry = await (made ??= make());
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
