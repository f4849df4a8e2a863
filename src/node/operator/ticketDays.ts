import { expectedValue } from "../../protocol/winningTicket.ts";
import { utcDay } from "./summarizeEarnings.ts";

/** Tickets accepted in one UTC day, and what they were worth in expectation. Token wei. */
export type TicketDay = {
  day: string;
  tickets: number;
  winners: number;
  /** Σ faceValue × winProb / 2^256 over the day's tickets: what the price says was earned. */
  expected: bigint;
  /** Face value of the day's winning tickets: what the draws gave. */
  won: bigint;
  /** Σ p and Σ p(1 - p) of the draws (floats: a statistic, not money), for the variance line. */
  p: number;
  pq: number;
};

/** The slice of the ticket store this reads. */
export type TicketScanner = {
  scanTickets(afterId: number, limit: number): { id: number; receivedAt: number; faceValue: bigint; winProb: bigint; winning: boolean }[];
};

const TWO_256 = 2 ** 256;

/**
 * Per-day ticket figures, kept up to date incrementally: `update()` reads only the tickets stored
 * since the last call (by row id), so the dashboard's refresh costs O(new tickets), not O(all).
 */
export function createTicketDays({ store, batch = 10_000 }: { store: TicketScanner; batch?: number }) {
  const days = new Map<string, TicketDay & { weighted: bigint }>();
  let lastId = 0;
  return {
    /** Reads new tickets; returns the days, oldest first. */
    update(): TicketDay[] {
      for (;;) {
        const rows = store.scanTickets(lastId, batch);
        for (const t of rows) {
          const day = utcDay(Math.floor(t.receivedAt / 1000));
          let d = days.get(day);
          if (d === undefined) days.set(day, (d = { day, tickets: 0, winners: 0, expected: 0n, won: 0n, p: 0, pq: 0, weighted: 0n }));
          d.tickets += 1;
          // Σ face × winProb, floored once per day (not per ticket) so many small tickets do not round away.
          d.weighted += t.faceValue * t.winProb;
          d.expected = expectedValue(1n, d.weighted);
          const p = Number(t.winProb) / TWO_256;
          d.p += p;
          d.pq += p * (1 - p);
          if (t.winning) {
            d.winners += 1;
            d.won += t.faceValue;
          }
          lastId = t.id;
        }
        if (rows.length < batch) break;
      }
      return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)).map(({ weighted: _w, ...d }) => d);
    },
  };
}
