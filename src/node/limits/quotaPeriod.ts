import { daysInMonth, zonedParts, zonedToUtc } from "./zonedTime.ts";

/** A monthly quota period: [start, end) in unix ms. */
export type QuotaPeriod = { start: number; end: number };

/**
 * The monthly quota period containing `ms`: it starts at local midnight of day `resetDay` (1-31;
 * in a shorter month, its last day) in `timeZone` and ends at the next such midnight.
 */
export function quotaPeriod(ms: number, resetDay: number, timeZone: string): QuotaPeriod {
  const z = zonedParts(ms, timeZone);
  const startOf = (year: number, month: number): number => {
    // Normalise month 0 and 13 to the neighbouring years.
    const y = year + Math.floor((month - 1) / 12);
    const m = ((((month - 1) % 12) + 12) % 12) + 1;
    return zonedToUtc(y, m, Math.min(resetDay, daysInMonth(y, m)), 0, 0, timeZone);
  };
  const thisMonth = startOf(z.year, z.month);
  return thisMonth <= ms
    ? { start: thisMonth, end: startOf(z.year, z.month + 1) }
    : { start: startOf(z.year, z.month - 1), end: thisMonth };
}
