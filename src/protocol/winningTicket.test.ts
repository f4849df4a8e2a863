import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concat, encodePacked, hexToBigInt, keccak256, numberToHex, type Hex } from "viem";
import { InvalidRecipientRandError, InvalidTicketError, TicketNotWinningError } from "./errors.ts";
import { MAX_WIN_PROB } from "./ticket.ts";
import { assertRecipientRand, assertWinningTicket, expectedValue, isWinningTicket, recipientRandHash, ticketDraw } from "./winningTicket.ts";
import { hexBytes, uint256 } from "./testing/arbitraries.ts";

test("recipientRandHash is keccak256(abi.encodePacked(uint256 rand)) (property)", () => {
  fc.assert(fc.property(uint256, (rand) => {
    assert.equal(recipientRandHash(rand), keccak256(encodePacked(["uint256"], [rand])));
  }), { numRuns: 300 });
  assert.equal(recipientRandHash(0n), keccak256(`0x${"00".repeat(32)}`));
  assert.throws(() => recipientRandHash(-1n), InvalidRecipientRandError);
  assert.throws(() => recipientRandHash(2n ** 256n), InvalidRecipientRandError);
});

test("assertRecipientRand accepts the committed rand only", () => {
  const committed = recipientRandHash(42n);
  assert.doesNotThrow(() => assertRecipientRand(42n, committed));
  assert.doesNotThrow(() => assertRecipientRand(42n, committed.toUpperCase().replace("0X", "0x") as Hex));
  assert.throws(() => assertRecipientRand(43n, committed), (e: unknown) =>
    e instanceof InvalidRecipientRandError && e.recipientRandHash === committed && e.computedHash === recipientRandHash(43n));
});

test("ticketDraw hashes signature bytes then the 32-byte rand (property)", () => {
  fc.assert(fc.property(fc.oneof(hexBytes(65), hexBytes(64)), uint256, (sig, rand) => {
    const expected = hexToBigInt(keccak256(concat([sig, numberToHex(rand, { size: 32 })])));
    assert.equal(ticketDraw(sig, rand), expected);
  }), { numRuns: 300 });
  assert.throws(() => ticketDraw("0x123", 1n), InvalidTicketError);
});

test("isWinningTicket: draw < winProb, with the exact boundary", () => {
  const sig = `0x${"ab".repeat(65)}` as Hex;
  const draw = ticketDraw(sig, 7n);
  assert.equal(isWinningTicket(sig, 7n, draw), false, "draw == winProb loses");
  assert.equal(isWinningTicket(sig, 7n, draw + 1n), true, "draw == winProb - 1 wins");
  assert.equal(isWinningTicket(sig, 7n, 0n), false, "winProb 0 never wins");
  assert.equal(isWinningTicket(sig, 7n, MAX_WIN_PROB), true);
  assert.doesNotThrow(() => assertWinningTicket(sig, 7n, draw + 1n));
  assert.throws(() => assertWinningTicket(sig, 7n, draw), (e: unknown) => e instanceof TicketNotWinningError && e.draw === draw && e.winProb === draw);
});

test("the win rate matches winProb / 2^256 (statistical, fixed seed)", () => {
  // 4000 draws at p = 1/4: mean 1000, sd ~27.4; a 6-sigma window cannot fail by chance in practice.
  const rng = fc.sample(hexBytes(65), { seed: 1234, numRuns: 4000 });
  const wins = rng.filter((sig) => isWinningTicket(sig, 99n, 2n ** 254n)).length;
  assert.ok(wins > 835 && wins < 1165, `wins=${wins}`);
});

test("expectedValue is floor(faceValue * winProb / 2^256)", () => {
  assert.equal(expectedValue(10n ** 18n, 2n ** 255n), 5n * 10n ** 17n);
  assert.equal(expectedValue(10n ** 18n, 0n), 0n);
  assert.equal(expectedValue(10n ** 18n, MAX_WIN_PROB), 10n ** 18n - 1n);
  assert.equal(expectedValue(3n, 2n ** 255n), 1n);
  fc.assert(fc.property(uint256, uint256, (fv, wp) => {
    const ev = expectedValue(fv, wp);
    assert.ok(ev * 2n ** 256n <= fv * wp && fv * wp < (ev + 1n) * 2n ** 256n);
  }));
});
