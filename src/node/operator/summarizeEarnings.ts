import type { EarningRow } from "./earningsIndexer.ts";

/**
 * Sums of earning rows, column by column (token wei, `gas` native wei; see EarningRow), and
 * `tickets`, the number of redeemed winning tickets.
 */
export type EarningsTotals = { tickets: number } & Pick<EarningRow, "gross" | "burn" | "treasury" | "net" | "reward" | "withdrawn" | "gas">;

/** One UTC day of earnings (`day` = YYYY-MM-DD). */
export type EarningsDay = EarningsTotals & { day: string };

/** Rows in [from, to) (unix seconds; either open) plus their totals and their UTC days, oldest first. */
export type EarningsSummary = { rows: EarningRow[]; days: EarningsDay[]; totals: EarningsTotals };

const zero = (): EarningsTotals => ({ tickets: 0, gross: 0n, burn: 0n, treasury: 0n, net: 0n, reward: 0n, withdrawn: 0n, gas: 0n });

function add(t: EarningsTotals, r: EarningRow): void {
  if (r.kind === "ticket") t.tickets += 1;
  t.gross += r.gross;
  t.burn += r.burn;
  t.treasury += r.treasury;
  t.net += r.net;
  t.reward += r.reward;
  t.withdrawn += r.withdrawn;
  t.gas += r.gas;
}

/** The UTC day (YYYY-MM-DD) of a unix time in seconds. */
export function utcDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/**
 * The one calculation of earnings per day and in total, shared by the dashboard, `node status`,
 * `bandmint earnings` and /metrics, so that every screen shows the same numbers.
 */
export function summarizeEarnings(rows: readonly EarningRow[], range: { from?: number | undefined; to?: number | undefined } = {}): EarningsSummary {
  const selected = rows.filter((r) => (range.from === undefined || r.time >= range.from) && (range.to === undefined || r.time < range.to));
  const totals = zero();
  const days = new Map<string, EarningsDay>();
  for (const r of selected) {
    add(totals, r);
    const day = utcDay(r.time);
    let d = days.get(day);
    if (d === undefined) days.set(day, (d = { day, ...zero() }));
    add(d, r);
  }
  return { rows: selected, days: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)), totals };
}
