import assert from "node:assert/strict";
import { test } from "node:test";
import { noWinProbability } from "./noWinProbability.ts";

const GIB = 2 ** 30;

test("P(no win) = (1 - ev/faceValue)^tickets", () => {
  // 1 GiB at 1e15 wei/GiB in 1 MiB tickets: ev = ceil(1e15 / 1024), 1024 tickets, face 1e18.
  const ev = Math.ceil(1e15 / 1024);
  const expected = (1 - ev / 1e18) ** 1024;
  const p = noWinProbability({ bytes: GIB, pricePerGiB: 10n ** 15n, bytesPerTicket: 1n << 20n, faceValue: 10n ** 18n });
  assert.ok(Math.abs(p - expected) < 1e-12, `${p} vs ${expected}`);
});

test("more traffic or a lower face value means less chance of a dry week", () => {
  const base = { bytes: 7 * GIB, pricePerGiB: 10n ** 17n, bytesPerTicket: 1n << 20n, faceValue: 10n ** 18n };
  const p = noWinProbability(base);
  assert.ok(p > 0 && p < 1);
  assert.ok(noWinProbability({ ...base, bytes: 70 * GIB }) < p);
  assert.ok(noWinProbability({ ...base, faceValue: 10n ** 17n }) < p);
});

test("a ticket worth its face value always wins; no traffic never does", () => {
  assert.equal(noWinProbability({ bytes: GIB, pricePerGiB: 10n ** 18n * 1024n, bytesPerTicket: 1n << 20n, faceValue: 10n ** 18n }), 0);
  assert.equal(noWinProbability({ bytes: 0, pricePerGiB: 1n, bytesPerTicket: 1n, faceValue: 1n }), 1);
});
