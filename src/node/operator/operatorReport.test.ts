import { test } from "node:test";
import assert from "node:assert/strict";
import type { EarningRow } from "./earningsIndexer.ts";
import { computeOperatorReport, varianceLine } from "./operatorReport.ts";
import { summarizeEarnings } from "./summarizeEarnings.ts";

const row = (kind: EarningRow["kind"], time: number, o: Partial<EarningRow>): EarningRow => ({
  kind, time, block: 1n, epoch: 0n, txHash: "0x01", logIndex: 0, ticketHash: undefined, sender: undefined, nonce: undefined,
  gross: 0n, burn: 0n, treasury: 0n, net: 0n, reward: 0n, withdrawn: 0n, gas: 0n, ...o,
});
const day1 = Date.parse("2025-05-01T12:00:00Z") / 1000;
const day2 = Date.parse("2025-05-02T12:00:00Z") / 1000;
const rows = [
  row("ticket", day1, { gross: 100n, burn: 20n, treasury: 5n, net: 75n, gas: 3n }),
  row("ticket", day2, { gross: 100n, burn: 20n, treasury: 5n, net: 75n, gas: 2n }),
  row("reward", day2, { reward: 16n, gas: 1n }),
  row("withdraw", day2, { withdrawn: 4n, gas: 1n }),
];

test("earnings are summed per UTC day and in total, each column one thing; a range selects by time", () => {
  const s = summarizeEarnings(rows);
  assert.deepEqual(s.totals, { tickets: 2, gross: 200n, burn: 40n, treasury: 10n, net: 150n, reward: 16n, withdrawn: 4n, gas: 7n });
  assert.deepEqual(s.days.map((d) => [d.day, d.tickets, d.net, d.gas]), [["2025-05-01", 1, 75n, 3n], ["2025-05-02", 1, 75n, 4n]]);
  assert.deepEqual(summarizeEarnings(rows, { from: day2 }).totals.net, 75n);
  assert.deepEqual(summarizeEarnings(rows, { to: day2 }).rows.length, 1);
});

test("the variance line says how far the draws are from expectation", () => {
  assert.match(varianceLine(0, 0, 0, 0).line, /No tickets yet/);
  assert.match(varianceLine(6, 6, 0, 6).line, /certain to win/);
  const v = varianceLine(1000, 10, 9.9, 4);
  assert.equal(v.expectedWinners, 10);
  assert.match(v.line, /10\.0 ± 3\.1 winners; 4 won \(-1\.9 σ\)/);
});

test("the summary (the dashboard's top row) takes today's figures and the first limit that holds", () => {
  const traffic = { totals: { cdn: 30n, relay: 12n }, minutes: [], days: [{ t: Date.parse("2025-05-02T00:00:00Z"), cdn: 10n, relay: 2n }] };
  const r = computeOperatorReport({
    now: Date.parse("2025-05-02T18:00:00Z"), provider: "0x0000000000000000000000000000000000000001", url: "http://n",
    offer: { pricePerGiB: 1n, faceValue: 1n, winProb: 1n, expectedValue: 0n },
    storeStats: { tickets: 3, winners: 2, byState: { losing: 1, pending: 1, submitted: 0, confirmed: 1, failed: 0 }, redeemed: { paid: 0n, burned: 0n, treasury: 0n, gasUsed: 5n, gasCost: 6n, transactions: 1 } },
    ticketDays: [{ day: "2025-05-02", tickets: 3, winners: 2, expected: 250n, won: 200n, p: 2.5, pq: 0.5 }],
    sessions: { open: 4, active: 1 }, traffic, limits: [],
    availability: { available: false, unavailable: { limit: "quota", reason: "used", retryAfterSeconds: 9 } },
    edge: { requests: 0, bytesServed: 0n, memoryHits: 3, diskHits: 1, originFetches: 4, originRequests: 4, cacheBytes: 0, cacheChunks: 0 },
    reachability: undefined, earningRows: rows, rewards: undefined, chainError: undefined,
  });
  assert.equal(r.summary.state, "unavailable");
  assert.deepEqual(r.summary.unavailable, { limit: "quota", reason: "used", retryAfterSeconds: 9 });
  assert.deepEqual(r.summary.reachability, { state: "unknown" });
  assert.deepEqual([r.summary.servedToday, r.summary.servedTotal, r.summary.netToday, r.summary.netTotal], [12n, 42n, 75n, 150n]);
  assert.deepEqual([r.summary.expected, r.summary.realised, r.earnings.won], [250n, 200n, 200n]);
  assert.equal(r.summary.pendingWinners, 1);
  assert.equal(r.edge.cacheHitRatio, 0.5);
});
