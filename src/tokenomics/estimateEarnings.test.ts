import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateEarnings, type EstimateEarningsParameters } from "./estimateEarnings.ts";
import { epochBudget, providerReward, splitFee } from "./rewardMath.ts";

const TOKEN = 10n ** 18n;
const GIB = 1n << 30n;
const base: EstimateEarningsParameters = {
  uploadMbps: 20, hoursPerDay: 8, pricePerGiB: TOKEN, bytesPerTicket: 1n << 20n, faceValue: TOKEN / 10n,
  offers: [{ pricePerGiB: TOKEN, capacityMbps: 100n }, { pricePerGiB: 2n * TOKEN, capacityMbps: 100n }, { pricePerGiB: TOKEN / 2n, capacityMbps: 100n }],
  // 1000, 3000 and 2000 tokens paid per day-long epoch across the network: 2000 GiB/day at the median price.
  epochs: [{ paid: 1000n * TOKEN, burned: 200n * TOKEN }, { paid: 3000n * TOKEN, burned: 600n * TOKEN }, { paid: 2000n * TOKEN, burned: 400n * TOKEN }],
  epochLengthSeconds: 86_400n, currentEpoch: 10n, burnBps: 2000n, treasuryBps: 500n,
  schedule: { initialEmission: 1000n * TOKEN, decayPeriodEpochs: 365n, decayBps: 5000n, kBps: 8000n, cap: 10n ** 27n, vestingEpochs: 90n },
};

test("capacity, demand share and money follow from the inputs exactly", () => {
  const e = estimateEarnings(base);
  // 20 Mbps x 8 h x 30 days = 2.5 MB/s x 864,000 s.
  assert.equal(e.capacityBytes, 2_160_000_000_000n);
  assert.equal(e.marketMedian, TOKEN);
  assert.deepEqual(e.demandBytes, { low: 30_000n * GIB, expected: 60_000n * GIB, high: 90_000n * GIB });
  // Our average bandwidth (20 Mbps x 8/24) over everyone's: 6.667 / 306.667.
  assert.equal(e.shareBps, 217n);
  assert.equal(e.bytes.expected, (60_000n * GIB * 217n) / 10_000n);
  assert.equal(e.gross, 1302n * TOKEN);
  assert.equal(e.net, splitFee(1302n * TOKEN, 2000n, 500n).recipient);
  // Rewards: the Rewards contract's arithmetic per epoch, times 30 epochs.
  const ourBurn = splitFee(1302n * TOKEN, 2000n, 500n).burn / 30n;
  assert.equal(e.rewards, 30n * providerReward(epochBudget(base.schedule, 10n, 400n * TOKEN), ourBurn, 400n * TOKEN));
  assert.ok(e.total.low < e.total.expected && e.total.expected < e.total.high);
  assert.equal(e.total.expected, e.net + e.rewards);
  // 1302 GiB = 1,333,248 tickets of 1 MiB; each is worth 1/1024 BAND against a 0.1 BAND face value.
  assert.equal(e.lottery.tickets, 1_333_248n);
  assert.ok(Math.abs(e.lottery.expectedWinners - 13_020) < 1);
  assert.equal(e.lottery.pNoWin, 0);
});

test("a small upload is capped by its capacity, and with no demand nothing is earned", () => {
  const slow = estimateEarnings({ ...base, uploadMbps: 1, hoursPerDay: 1, offers: [] });
  assert.equal(slow.shareBps, 10_000n); // alone on the market
  assert.equal(slow.bytes.expected, slow.capacityBytes);
  assert.equal(slow.capacityBytes, 13_500_000_000n);
  const idle = estimateEarnings({ ...base, epochs: [] });
  assert.deepEqual([idle.bytes.expected, idle.gross, idle.rewards, idle.total.high], [0n, 0n, 0n, 0n]);
  assert.equal(idle.lottery.pNoWin, 1);
});
