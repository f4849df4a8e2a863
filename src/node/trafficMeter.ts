import type { Service } from "../protocol/wire.ts";
import type { TrafficRow } from "./operatorStore.ts";

/** Where the meter keeps hourly counters across restarts (the operator store). */
export type TrafficStore = {
  addTraffic(rows: readonly TrafficRow[]): void;
  trafficSince(hour: number): TrafficRow[];
  trafficTotals(): Record<Service, bigint>;
};

/** Bytes by service in one interval starting at `t` (unix ms). */
export type TrafficPoint = { t: number; cdn: bigint; relay: bigint };

/** What the meter reports: all-time totals, the last hour by minute, the last days by UTC day. */
export type TrafficSnapshot = { totals: Record<Service, bigint>; minutes: TrafficPoint[]; days: TrafficPoint[] };

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Minutes kept in memory for the live chart. */
export const METER_MINUTES = 60;

/** The node's traffic meter. */
export type TrafficMeter = ReturnType<typeof createTrafficMeter>;

/**
 * Counts bytes served by service over time: every paced or unpaced writer (the edge for "cdn", the
 * relay for "relay") calls `record` once per response or tunnel chunk with the bytes that actually
 * went out. Minutes live in memory (a ring, no allocation per record); hours go to the store on
 * `flush` (about once a second), so day totals and all-time totals survive a restart.
 */
export function createTrafficMeter({ clock, store }: { clock: { now(): number }; store: TrafficStore }) {
  const totals = store.trafficTotals();
  const ring: TrafficPoint[] = Array.from({ length: METER_MINUTES }, () => ({ t: -1, cdn: 0n, relay: 0n }));
  // Unflushed bytes of the current hour (and of an hour that ended since the last flush).
  let pending: TrafficRow[] = [];
  let pendingHour = -1;
  const pendingBytes: Record<Service, bigint> = { cdn: 0n, relay: 0n };

  const closeHour = (): void => {
    for (const service of ["cdn", "relay"] as const) {
      if (pendingBytes[service] > 0n) pending.push({ hour: pendingHour, service, bytes: pendingBytes[service] });
      pendingBytes[service] = 0n;
    }
  };

  const flush = (): void => {
    if (pendingHour >= 0) closeHour();
    const rows = pending;
    pending = [];
    store.addTraffic(rows);
  };

  return {
    /** Counts `bytes` sent for `service` now. */
    record(service: Service, bytes: bigint): void {
      if (bytes <= 0n) return;
      const now = clock.now();
      const minute = Math.floor(now / MINUTE);
      const slot = ring[minute % METER_MINUTES]!;
      if (slot.t !== minute * MINUTE) {
        slot.t = minute * MINUTE;
        slot.cdn = slot.relay = 0n;
      }
      slot[service] += bytes;
      const hour = Math.floor(now / HOUR);
      if (hour !== pendingHour) {
        if (pendingHour >= 0) closeHour();
        pendingHour = hour;
      }
      pendingBytes[service] += bytes;
      totals[service] += bytes;
    },
    /** Writes the counted hours to the store. */
    flush,
    /** Totals, the last METER_MINUTES minutes and the last `days` UTC days (oldest first, zeros included). */
    snapshot(days = 30): TrafficSnapshot {
      const now = clock.now();
      const thisMinute = Math.floor(now / MINUTE);
      const minutes: TrafficPoint[] = [];
      for (let m = thisMinute - METER_MINUTES + 1; m <= thisMinute; m++) {
        const slot = ring[m % METER_MINUTES]!;
        minutes.push(slot.t === m * MINUTE ? { ...slot } : { t: m * MINUTE, cdn: 0n, relay: 0n });
      }
      flush();
      const firstDay = Math.floor(now / DAY) - days + 1;
      const byDay: TrafficPoint[] = Array.from({ length: days }, (_, i) => ({ t: (firstDay + i) * DAY, cdn: 0n, relay: 0n }));
      for (const r of store.trafficSince((firstDay * DAY) / HOUR)) {
        const d = byDay[Math.floor((r.hour * HOUR) / DAY) - firstDay];
        if (d !== undefined) d[r.service] += r.bytes;
      }
      return { totals: { ...totals }, minutes, days: byDay };
    },
  };
}
