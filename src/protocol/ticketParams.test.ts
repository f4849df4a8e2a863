import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TicketParamsError } from "./errors.ts";
import { GIB, priceOfBytes, ticketParams } from "./ticketParams.ts";
import { MAX_UINT256, MAX_WIN_PROB } from "./ticket.ts";

const TWO_256 = 2n ** 256n;

test("priceOfBytes rounds up", () => {
  assert.equal(GIB, 1073741824n);
  assert.equal(priceOfBytes(10n ** 18n, GIB), 10n ** 18n);
  assert.equal(priceOfBytes(1n, 1n), 1n);
  assert.equal(priceOfBytes(1n, GIB + 1n), 2n);
  assert.equal(priceOfBytes(0n, 5n), 0n);
  assert.equal(priceOfBytes(7n, 0n), 0n);
  assert.throws(() => priceOfBytes(-1n, 1n), TicketParamsError);
  assert.throws(() => priceOfBytes(1n, -1n), TicketParamsError);
});

test("ticketParams worked example", () => {
  // 0.01 token/GiB, 1 MiB per ticket, face value 0.001 token.
  const p = ticketParams({ pricePerGiB: 10n ** 16n, bytesPerTicket: 2n ** 20n, faceValue: 10n ** 15n });
  assert.equal(p.expectedValue, 9765625000000n);
  assert.equal(p.faceValue, 10n ** 15n);
  assert.equal(p.winProb, (9765625000000n * TWO_256 + 10n ** 15n - 1n) / 10n ** 15n);
});

test("ticketParams raises faceValue when the price of a ticket exceeds it", () => {
  const p = ticketParams({ pricePerGiB: 10n ** 18n, bytesPerTicket: GIB, faceValue: 10n ** 17n });
  assert.deepEqual(p, { faceValue: 10n ** 18n, winProb: MAX_WIN_PROB, expectedValue: 10n ** 18n });
  const equal = ticketParams({ pricePerGiB: 10n ** 18n, bytesPerTicket: GIB, faceValue: 10n ** 18n });
  assert.deepEqual(equal, { faceValue: 10n ** 18n, winProb: MAX_WIN_PROB, expectedValue: 10n ** 18n });
});

test("ticketParams rejects zero, negative and overflowing inputs", () => {
  for (const field of ["pricePerGiB", "bytesPerTicket", "faceValue"] as const) {
    for (const value of [0n, -1n]) {
      const input = { pricePerGiB: 1n, bytesPerTicket: 1n, faceValue: 1n, [field]: value };
      assert.throws(() => ticketParams(input), (e: unknown) => e instanceof TicketParamsError && e.field === field && e.value === value);
    }
  }
  assert.throws(() => ticketParams({ pricePerGiB: 1n, bytesPerTicket: 1n, faceValue: TWO_256 }), TicketParamsError);
  assert.throws(() => ticketParams({ pricePerGiB: TWO_256, bytesPerTicket: GIB, faceValue: 1n }), (e: unknown) => e instanceof TicketParamsError && e.field === "bytesPerTicket");
});

const inputs = fc.record({
  pricePerGiB: fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 24n }), fc.bigInt({ min: 1n, max: 1000n })),
  bytesPerTicket: fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 40n }), fc.bigInt({ min: 1n, max: 4096n })),
  faceValue: fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 100n }), fc.constant(MAX_UINT256)),
});

test("tickets are never worth less than the bytes, and at most 1 wei + faceValue/2^256 more (property)", () => {
  fc.assert(fc.property(inputs, ({ pricePerGiB, bytesPerTicket, faceValue }) => {
    const p = ticketParams({ pricePerGiB, bytesPerTicket, faceValue });
    assert.ok(p.winProb >= 0n && p.winProb <= MAX_WIN_PROB);
    assert.ok(p.faceValue >= faceValue);
    assert.equal(p.expectedValue, priceOfBytes(pricePerGiB, bytesPerTicket));
    // All in units of 2^-256 · 2^-30 wei, so every quantity is an exact integer.
    const ticketValue = p.faceValue * p.winProb * GIB;
    const exactPrice = pricePerGiB * bytesPerTicket * TWO_256;
    // winProb = 2^256 - 1 stands for certainty: it falls short of 2^256 by one part, so credit it back.
    const certaintyCredit = p.winProb === MAX_WIN_PROB ? p.faceValue * GIB : 0n;
    assert.ok(ticketValue + certaintyCredit >= exactPrice, "ticket worth less than the bytes");
    assert.ok(ticketValue - exactPrice <= TWO_256 * GIB + p.faceValue * GIB, "ticket overpays by more than the rounding bound");
    // The face value is only raised when one ticket must carry more than it.
    if (p.faceValue !== faceValue) assert.equal(p.faceValue, p.expectedValue);
  }), { numRuns: 2000 });
});
