import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createHoursSchedule, parseHoursWindow } from "./hoursSchedule.ts";
import { quotaPeriod } from "./quotaPeriod.ts";
import { isTimeZone, zonedParts, zonedToUtc } from "./zonedTime.ts";

const at = (iso: string) => Date.parse(iso);

test("wall clock in a zone and back, across daylight saving time", () => {
  assert.deepEqual(zonedParts(at("2025-01-15T12:34:56Z"), "Europe/Berlin"), { year: 2025, month: 1, day: 15, hour: 13, minute: 34, second: 56 });
  assert.equal(zonedToUtc(2025, 1, 15, 13, 34, "Europe/Berlin"), at("2025-01-15T12:34:00Z"));
  assert.equal(zonedToUtc(2025, 7, 15, 13, 34, "Europe/Berlin"), at("2025-07-15T11:34:00Z"));
  assert.equal(zonedToUtc(2025, 7, 15, 8, 0, "America/New_York"), at("2025-07-15T12:00:00Z"));
  assert.equal(zonedToUtc(2025, 12, 32, 0, 0, "UTC"), at("2026-01-01T00:00:00Z"));
  assert.equal(zonedToUtc(2025, 3, 1, 0, 0, "Asia/Kolkata"), at("2025-02-28T18:30:00Z"));
  assert.ok(isTimeZone("Europe/Berlin"));
  assert.ok(!isTimeZone("Mars/Olympus"));
});

test("an hours schedule in a time zone opens, closes and says when it changes", () => {
  const s = createHoursSchedule(["22:00-06:00"].map(parseHoursWindow), "America/New_York");
  // 23:00 in New York (EDT, UTC-4) is 03:00 UTC the next day: open until 06:00 local = 10:00 UTC.
  assert.deepEqual(s.at(at("2025-07-16T03:00:00Z")), { open: true, until: at("2025-07-16T10:00:00Z") });
  // Noon local: closed until 22:00 local = 02:00 UTC.
  assert.deepEqual(s.at(at("2025-07-15T16:00:00Z")), { open: false, until: at("2025-07-16T02:00:00Z") });
  // In winter (EST, UTC-5) the same local hours are an hour later in UTC.
  assert.deepEqual(s.at(at("2025-01-15T17:00:00Z")), { open: false, until: at("2025-01-16T03:00:00Z") });
  const allDay = createHoursSchedule([parseHoursWindow("00:00-24:00")], "Europe/Berlin");
  assert.deepEqual(allDay.at(at("2025-01-15T17:00:00Z")), { open: true, until: Infinity });
  const two = createHoursSchedule(["08:00-12:00", "12:00-18:00"].map(parseHoursWindow), "UTC");
  assert.deepEqual(two.at(at("2025-01-15T09:00:00Z")), { open: true, until: at("2025-01-15T18:00:00Z") });
  assert.throws(() => parseHoursWindow("8-12"), /not a window/);
  assert.throws(() => parseHoursWindow("10:00-10:00"), /empty/);
});

test("quota periods start at local midnight of the reset day, clamped to short months", () => {
  assert.deepEqual(quotaPeriod(at("2025-03-10T00:00:00Z"), 1, "UTC"), { start: at("2025-03-01T00:00:00Z"), end: at("2025-04-01T00:00:00Z") });
  assert.deepEqual(quotaPeriod(at("2025-03-10T00:00:00Z"), 15, "UTC"), { start: at("2025-02-15T00:00:00Z"), end: at("2025-03-15T00:00:00Z") });
  // Reset day 31: February's period starts on the 28th.
  assert.deepEqual(quotaPeriod(at("2025-03-10T00:00:00Z"), 31, "UTC"), { start: at("2025-02-28T00:00:00Z"), end: at("2025-03-31T00:00:00Z") });
  // January 1st, 00:30 in Berlin is still December in UTC: the period is January's.
  assert.deepEqual(quotaPeriod(at("2024-12-31T23:30:00Z"), 1, "Europe/Berlin"), { start: at("2024-12-31T23:00:00Z"), end: at("2025-01-31T23:00:00Z") });
  assert.deepEqual(quotaPeriod(at("2025-01-10T00:00:00Z"), 20, "UTC"), { start: at("2024-12-20T00:00:00Z"), end: at("2025-01-20T00:00:00Z") });
});

test("UTC, computed without Intl, agrees with Intl's Etc/UTC", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
      assert.deepEqual(zonedParts(ms, "UTC"), zonedParts(ms, "Etc/UTC"));
    }),
  );
  assert.ok(isTimeZone("UTC"));
});
