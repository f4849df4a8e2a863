import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Service } from "../protocol/wire.ts";
import { openConnection } from "./payments/ticketStore.ts";

// What the operator's views need to survive a restart and the ticket store does not hold: bytes
// served per hour and service (the traffic charts) and the quota usage of each quota period. A
// sibling of the ticket store on the same SQLite file (its own connection, WAL): one file to back
// up, and these writes never share a transaction with ticket commits. synchronous=NORMAL: a power
// loss can drop the last second of counters, which are statistics, not money.

/** Bytes of one service in one hour (unix ms of the hour's start / 3,600,000). */
export type TrafficRow = { hour: number; service: Service; bytes: bigint };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS traffic_hours (hour INTEGER NOT NULL, service TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (hour, service));
CREATE TABLE IF NOT EXISTS quota_periods (period_start INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);
`;

/** The operator store; every method is synchronous (node:sqlite). */
export type OperatorStore = ReturnType<typeof openOperatorStore>;

/** Opens (creating its tables if needed) the operator store in the SQLite file at `path`. */
export function openOperatorStore({ path }: { path: string }) {
  mkdirSync(dirname(path), { recursive: true });
  const db = openConnection(path, "NORMAL");
  db.exec(SCHEMA);
  const addTraffic = db.prepare(`INSERT INTO traffic_hours (hour, service, bytes) VALUES (?, ?, ?) ON CONFLICT (hour, service) DO UPDATE SET bytes = bytes + excluded.bytes`);
  const trafficSince = db.prepare(`SELECT hour, service, bytes FROM traffic_hours WHERE hour >= ? ORDER BY hour`);
  const trafficTotals = db.prepare(`SELECT service, SUM(bytes) AS bytes FROM traffic_hours GROUP BY service`);
  const quotaUsed = db.prepare(`SELECT bytes FROM quota_periods WHERE period_start = ?`);
  const saveQuota = db.prepare(`INSERT INTO quota_periods (period_start, bytes) VALUES (?, ?) ON CONFLICT (period_start) DO UPDATE SET bytes = excluded.bytes`);
  for (const s of [trafficSince, trafficTotals, quotaUsed]) s.setReadBigInts(true);
  return {
    /** Adds bytes to hourly counters, in one transaction. */
    addTraffic(rows: readonly TrafficRow[]): void {
      if (rows.length === 0) return;
      db.exec("BEGIN IMMEDIATE");
      try {
        for (const r of rows) addTraffic.run(r.hour, r.service, r.bytes);
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
    /** Hourly counters from `hour` on. */
    trafficSince(hour: number): TrafficRow[] {
      return (trafficSince.all(hour) as { hour: bigint; service: Service; bytes: bigint }[]).map((r) => ({ hour: Number(r.hour), service: r.service, bytes: r.bytes }));
    },
    /** All-time bytes per service. */
    trafficTotals(): Record<Service, bigint> {
      const totals: Record<Service, bigint> = { cdn: 0n, relay: 0n };
      for (const r of trafficTotals.all() as { service: Service; bytes: bigint }[]) totals[r.service] = r.bytes;
      return totals;
    },
    /** Bytes used in the quota period starting at `periodStart` (unix ms), 0 if none recorded. */
    quotaUsed(periodStart: number): bigint {
      return ((quotaUsed.get(periodStart) as { bytes: bigint } | undefined)?.bytes) ?? 0n;
    },
    /** Records the bytes used in the quota period starting at `periodStart`. */
    saveQuotaUsed(periodStart: number, bytes: bigint): void {
      saveQuota.run(periodStart, bytes);
    },
    /** Closes the connection. */
    close(): void {
      if (db.isOpen) db.close();
    },
  };
}
