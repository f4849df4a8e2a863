import type { Model } from "./modelSchema.ts";

/** A reporting month: a twelfth of a 365-day year (30.42 days), so ten years are 120 months. */
export const MONTH_SECONDS = (365 * 86_400) / 12;

/** The month an epoch falls in (by its start time); with epochs of a month or longer, each epoch is its own month. */
export function monthOfEpoch(epoch: number, epochLengthSeconds: number): number {
  return Math.floor((epoch * epochLengthSeconds) / MONTH_SECONDS);
}

/** Whether `epoch` is the last epoch of its month (the next epoch starts another one). */
export function endsMonth(epoch: number, epochLengthSeconds: number): boolean {
  return monthOfEpoch(epoch + 1, epochLengthSeconds) !== monthOfEpoch(epoch, epochLengthSeconds);
}

/**
 * What the providers of one class earned in one month: fees (the recipient share of the tickets
 * they won) plus the rewards granted for the month's epochs (before vesting), in wei. In
 * individual mode these are exact order statistics over the providers present for the whole month
 * (nearest rank: p-th = the ceil(p × providers)-th smallest) and the floor of their exact mean; in
 * cohort mode every provider of a cohort earns the same, so all four are that one amount.
 */
export type PayoutMonth = {
  month: number;
  /** Providers the figures are over (individual: present the whole month; cohort: at the month's end). */
  providers: number;
  p10: bigint;
  p50: bigint;
  p90: bigint;
  mean: bigint;
  /** Share of those providers that earned nothing in the month. */
  zeroShare: number;
};

/** The small, median and large provider classes: one cohort each (a cohort fills several roles when there are fewer than three). */
export type PayoutClass = { sizes: ("small" | "median" | "large")[]; cohort: string; weight: number; months: PayoutMonth[] };

/** Per-provider monthly earnings of a run, for summary.json and the report. */
export type Payouts = { mode: Model["providers"]["mode"]; monthSeconds: number; classes: PayoutClass[] };

/**
 * The cohorts that stand for small, median and large providers: the cohorts ordered by weight
 * (traffic per provider), the first, the middle (floor((n - 1) / 2)) and the last. Returns cohort
 * indices with their roles, each cohort once.
 */
export function payoutClasses(model: Model): { cohort: number; sizes: PayoutClass["sizes"] }[] {
  const order = model.providers.cohorts.map((c, i) => ({ i, w: c.weight })).sort((a, b) => a.w - b.w || a.i - b.i);
  const roles: [PayoutClass["sizes"][number], number][] = [
    ["small", order[0]?.i ?? 0],
    ["median", order[Math.floor((order.length - 1) / 2)]?.i ?? 0],
    ["large", order.at(-1)?.i ?? 0],
  ];
  const out: { cohort: number; sizes: PayoutClass["sizes"] }[] = [];
  for (const [size, cohort] of roles) {
    const existing = out.find((o) => o.cohort === cohort);
    if (existing === undefined) out.push({ cohort, sizes: [size] });
    else existing.sizes.push(size);
  }
  return out;
}
