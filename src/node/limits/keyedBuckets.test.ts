import { test } from "node:test";
import assert from "node:assert/strict";
import { createKeyedBuckets } from "./keyedBuckets.ts";

test("keyed buckets: a burst per key, refilled at the rate up to the burst", () => {
  const clock = { t: 0, now: () => clock.t };
  const b = createKeyedBuckets<string>({ burst: 2, perSecond: 0.25, clock });
  assert.deepEqual([b.take("a"), b.take("a"), b.take("a")], [true, true, false]);
  assert.equal(b.retryAfterSeconds("a"), 4);
  assert.equal(b.retryAfterSeconds("b"), 0, "keys are independent");
  clock.t += 3_999;
  assert.equal(b.take("a"), false);
  clock.t += 1;
  assert.deepEqual([b.take("a"), b.take("a")], [true, false]);
  clock.t += 3_600_000;
  assert.deepEqual([b.take("a"), b.take("a"), b.take("a")], [true, true, false], "never more than the burst");
  assert.throws(() => createKeyedBuckets({ burst: 0, perSecond: 1, clock }), RangeError);
});
