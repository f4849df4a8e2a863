import { test } from "node:test";
import assert from "node:assert/strict";
import { createTokenBucket } from "./tokenBucket.ts";

test("takes within the burst go at once; beyond it, takers wait for the rate in arrival order", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const bucket = createTokenBucket({ ratePerSecond: 1000, burstBytes: 500, clock: Date });
  let done: string[] = [];
  await bucket.take(500); // the burst
  const a = bucket.take(1000).then(() => done.push("a"));
  const b = bucket.take(500).then(() => done.push("b"));
  assert.equal(bucket.backlogSeconds(), 1.5);
  t.mock.timers.tick(999);
  await Promise.resolve();
  assert.deepEqual(done, []);
  t.mock.timers.tick(1);
  await a;
  assert.deepEqual(done, ["a"]);
  t.mock.timers.tick(500);
  await b;
  assert.deepEqual(done, ["a", "b"]);
  // Idle time refills up to the burst, never beyond.
  t.mock.timers.tick(10_000);
  assert.equal(bucket.backlogSeconds(), 0);
  done = [];
  await bucket.take(500);
  const c = bucket.take(100).then(() => done.push("c"));
  t.mock.timers.tick(100);
  await c;
  assert.deepEqual(done, ["c"]);
});

test("an aborted wait rejects with the signal's reason and gives its bytes back", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  const bucket = createTokenBucket({ ratePerSecond: 1000, burstBytes: 0, clock: Date });
  const controller = new AbortController();
  const waiting = bucket.take(2000, controller.signal);
  assert.equal(bucket.backlogSeconds(), 2);
  controller.abort(new Error("client left"));
  await assert.rejects(waiting, /client left/);
  assert.equal(bucket.backlogSeconds(), 0);
});
