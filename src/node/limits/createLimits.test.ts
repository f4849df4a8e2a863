import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openOperatorStore } from "../operatorStore.ts";
import { createLimits } from "./createLimits.ts";
import { LimitReachedError } from "./limitReachedError.ts";
import { paymentErrorResponse } from "../payments/paymentErrorStatus.ts";

const at = (iso: string) => Date.parse(iso);

async function withStore(fn: (path: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), "bm-limits-"));
  try {
    await fn(join(dir, "tickets.db"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("no limits: nothing to pace, everything admitted, available", async () => {
  await withStore(async (path) => {
    const store = openOperatorStore({ path });
    const limits = createLimits({ config: { timeZone: "UTC" }, clock: Date, store, activeSessions: () => 1e6 });
    assert.equal(limits.pacer, undefined);
    limits.admit("session");
    limits.admit("content");
    assert.deepEqual(limits.availability(), { available: true });
    assert.deepEqual(limits.state(), []);
    store.close();
  });
});

test("the schedule in its time zone refuses new work and cuts paced writers outside its hours, with Retry-After", async () => {
  await withStore(async (path) => {
    const store = openOperatorStore({ path });
    const clock = { t: at("2025-07-15T16:00:00Z"), now() { return this.t; } }; // noon in New York
    const limits = createLimits({ config: { timeZone: "America/New_York", schedule: ["22:00-06:00"] }, clock, store, activeSessions: () => 0 });
    const refused = (() => { try { limits.admit("content"); } catch (e) { return e as LimitReachedError; } })();
    assert.ok(refused instanceof LimitReachedError);
    assert.equal(refused.limit, "schedule");
    assert.equal(refused.retryAfterSeconds, 10 * 3600); // opens at 22:00 local = 02:00 UTC
    const wire = paymentErrorResponse(refused);
    assert.equal(wire.status, 503);
    assert.equal(wire.body.details?.limit, "schedule");
    assert.deepEqual(limits.availability(), { available: false, unavailable: { limit: "schedule", reason: refused.reason, retryAfterSeconds: 36_000 } });
    await assert.rejects(limits.pacer!.take(1000), (e: LimitReachedError) => e.limit === "schedule");
    clock.t = at("2025-07-16T02:00:00Z");
    limits.admit("session");
    await limits.pacer!.take(1000);
    assert.deepEqual(limits.availability(), { available: true });
    assert.equal(limits.state()[0]?.limit, "schedule");
    store.close();
  });
});

test("the quota counts taken bytes minus refunds, stops one chunk past at most, persists and resets on its day", async () => {
  await withStore(async (path) => {
    let store = openOperatorStore({ path });
    const clock = { t: at("2025-03-10T12:00:00Z"), now() { return this.t; } };
    const config = { timeZone: "UTC", quota: { bytes: 2500n, resetDay: 15 } };
    let limits = createLimits({ config, clock, store, activeSessions: () => 0 });
    await limits.pacer!.take(1000);
    await limits.pacer!.take(1000);
    limits.pacer!.refund(400); // a client hung up before 400 of them went out
    await limits.pacer!.take(1000); // 2600 >= 2500 after this one: one chunk past at most
    await assert.rejects(limits.pacer!.take(1), (e: LimitReachedError) => e.limit === "quota" && e.retryAfterSeconds === 5 * 86_400 - 12 * 3600);
    assert.throws(() => limits.admit("session"), (e: LimitReachedError) => e.limit === "quota");
    const q = limits.state().find((s) => s.limit === "quota");
    assert.deepEqual(q, { limit: "quota", bytes: "2500", used: "2600", periodStart: at("2025-02-15T00:00:00Z"), periodEnd: at("2025-03-15T00:00:00Z"), holding: true });
    limits.flush();
    store.close();
    // A restart remembers the period's usage.
    store = openOperatorStore({ path });
    limits = createLimits({ config, clock, store, activeSessions: () => 0 });
    assert.equal(limits.availability().available, false);
    clock.t = at("2025-03-15T00:00:00Z");
    assert.deepEqual(limits.availability(), { available: true });
    await limits.pacer!.take(100);
    assert.equal((limits.state()[0] as { used: string }).used, "100");
    store.close();
  });
});

test("maxSessions refuses new sessions only; a rate backlog refuses new content", async () => {
  await withStore(async (path) => {
    const store = openOperatorStore({ path });
    let active = 2;
    const limits = createLimits({ config: { timeZone: "UTC", maxSessions: 2, ratePerSecond: 1000n, burstBytes: 0n }, clock: Date, store, activeSessions: () => active });
    assert.throws(() => limits.admit("session"), (e: LimitReachedError) => e.limit === "sessions");
    assert.equal(limits.availability().available, false);
    limits.admit("content");
    active = 1;
    limits.admit("session");
    // 11 s of traffic queued at 1000 B/s: new content is refused until it drains.
    const controller = new AbortController();
    const waiting = limits.pacer!.take(11_000, controller.signal);
    assert.throws(() => limits.admit("content"), (e: LimitReachedError) => e.limit === "rate" && e.retryAfterSeconds >= 10);
    limits.admit("session");
    controller.abort();
    await waiting.catch(() => {});
    limits.admit("content");
    store.close();
  });
});
