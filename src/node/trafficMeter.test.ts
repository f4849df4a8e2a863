import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openOperatorStore } from "./operatorStore.ts";
import { createTrafficMeter } from "./trafficMeter.ts";

test("the meter counts bytes by service per minute and per day, and its totals survive a restart", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bm-meter-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "tickets.db");
  const clock = { t: Date.parse("2025-05-01T23:58:30Z"), now() { return this.t; } };
  let store = openOperatorStore({ path });
  let meter = createTrafficMeter({ clock, store });
  meter.record("cdn", 100n);
  meter.record("relay", 7n);
  clock.t += 60_000; // next minute
  meter.record("cdn", 50n);
  clock.t += 120_000; // next day (UTC), next hour
  meter.record("cdn", 1n << 40n); // a TiB: bigints all the way
  const snap = meter.snapshot(3);
  assert.deepEqual(snap.totals, { cdn: 150n + (1n << 40n), relay: 7n });
  assert.deepEqual(snap.minutes.slice(-4).map((m) => [m.cdn, m.relay]), [[100n, 7n], [50n, 0n], [0n, 0n], [1n << 40n, 0n]]);
  assert.equal(snap.minutes.length, 60);
  assert.deepEqual(snap.days.map((d) => [new Date(d.t).toISOString().slice(0, 10), d.cdn, d.relay]), [
    ["2025-04-30", 0n, 0n], ["2025-05-01", 150n, 7n], ["2025-05-02", 1n << 40n, 0n],
  ]);
  meter.record("relay", 3n);
  meter.flush();
  store.close();
  store = openOperatorStore({ path });
  meter = createTrafficMeter({ clock, store });
  const again = meter.snapshot(3);
  assert.deepEqual(again.totals, { cdn: 150n + (1n << 40n), relay: 10n });
  assert.deepEqual(again.days.map((d) => d.relay), [0n, 7n, 3n]);
  // The minutes were memory only: a restarted node starts its live chart empty.
  assert.ok(again.minutes.every((m) => m.cdn === 0n && m.relay === 0n));
  store.close();
});
