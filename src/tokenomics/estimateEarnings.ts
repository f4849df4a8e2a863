import { GIB, priceOfBytes, ticketParams } from "../protocol/ticketParams.ts";
import { noWinProbability } from "./noWinProbability.ts";
import { epochBudget, providerReward, splitFee, type RewardSchedule } from "./rewardMath.ts";

// "Should I run a node?" in numbers: what a node with a given upload and uptime can expect to move
// and earn in a month at the market's current prices and demand. The market (listings) and the
// demand (value paid per epoch, from the broker's ledger) are read from the chain by the caller;
// the reward is the Rewards contract's own arithmetic (rewardMath, shared with the simulator).
// Money stays bigint; only the lottery's spread is a float (a probability).

/** Seconds in the month the estimate is for (30 days). */
export const MONTH_SECONDS = 2_592_000n;

/** What the estimate is made from. */
export type EstimateEarningsParameters = {
  uploadMbps: number;
  hoursPerDay: number;
  /** Our price (wei per GiB) and ticket terms. */
  pricePerGiB: bigint;
  bytesPerTicket: bigint;
  faceValue: bigint;
  /** Other providers' listings. */
  offers: readonly { pricePerGiB: bigint; capacityMbps: bigint }[];
  /** Value paid and burned in recent epochs (all providers), one entry per epoch. */
  epochs: readonly { paid: bigint; burned: bigint }[];
  epochLengthSeconds: bigint;
  currentEpoch: bigint;
  burnBps: bigint;
  treasuryBps: bigint;
  schedule: RewardSchedule;
};

/** A low / expected / high triple. */
export type Span = { low: bigint; expected: bigint; high: bigint };

/** The estimate: bytes and money per month, and what makes it vary. */
export type EarningsEstimate = {
  /** Bytes the upload can move in a month at the given hours. */
  capacityBytes: bigint;
  /** Paid bytes per month across the whole network (at the market's median price). */
  demandBytes: Span;
  /** Our share of demand in basis points: our average bandwidth over everyone's listed capacity. */
  shareBps: bigint;
  /** Our paid bytes per month: share of demand, capped by capacity. */
  bytes: Span;
  /** Our earnings per month: face value redeemed (gross), after the broker's burn and treasury shares (net), and usage rewards. */
  gross: bigint;
  net: bigint;
  rewards: bigint;
  /** Net + rewards, over the demand range and the ticket lottery (±2σ of the number of winners). */
  total: Span;
  marketMedian: bigint | undefined;
  lottery: { tickets: bigint; expectedWinners: number; sigmaWinners: number; pNoWin: number };
};

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const median = (xs: bigint[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[(xs.length - 1) >> 1];

/** Estimates a month of a node's traffic and earnings (see the module comment). */
export function estimateEarnings(p: EstimateEarningsParameters): EarningsEstimate {
  // 1 Mbps moves 10^6 / 8 bytes a second; milli-Mbps and whole minutes keep the product integral.
  const milliMbps = BigInt(Math.round(p.uploadMbps * 1000));
  const minutesPerDay = BigInt(Math.round(p.hoursPerDay * 60));
  const capacityBytes = (milliMbps * 1000n * 60n * minutesPerDay * 30n) / 8n;
  const marketMedian = p.offers.length === 0 ? undefined : median(p.offers.map((o) => o.pricePerGiB));
  const demandPrice = marketMedian ?? p.pricePerGiB;
  const perMonth = (perEpoch: bigint) => (perEpoch * MONTH_SECONDS) / p.epochLengthSeconds;
  const paid = p.epochs.map((e) => e.paid);
  const mean = paid.length === 0 ? 0n : paid.reduce((a, b) => a + b, 0n) / BigInt(paid.length);
  const toBytes = (value: bigint) => (demandPrice === 0n ? 0n : perMonth((value * GIB) / demandPrice));
  const demandBytes: Span = {
    low: toBytes(paid.length === 0 ? 0n : paid.reduce((a, b) => min(a, b))),
    expected: toBytes(mean),
    high: toBytes(paid.reduce((a, b) => (a > b ? a : b), 0n)),
  };
  // Share by bandwidth, averaged over the day (listings are taken as available around the clock).
  const ours = BigInt(Math.round(p.uploadMbps * p.hoursPerDay * 1000 / 24));
  const theirs = p.offers.reduce((a, o) => a + o.capacityMbps * 1000n, 0n);
  const shareBps = ours === 0n ? 0n : (ours * 10_000n) / (ours + theirs);
  const take = (d: bigint) => min(capacityBytes, (d * shareBps) / 10_000n);
  const bytes: Span = { low: take(demandBytes.low), expected: take(demandBytes.expected), high: take(demandBytes.high) };

  const burnBps = p.burnBps;
  const netOf = (b: bigint) => {
    const g = priceOfBytes(p.pricePerGiB, b);
    const f = splitFee(g, burnBps, p.treasuryBps);
    return { gross: g, net: f.recipient, burn: f.burn };
  };
  // Usage rewards: the epoch's budget (min(emission, k x burned)) shared by burn; our traffic is a
  // share of the same demand, so the network's burn does not grow by ours.
  const burnedMean = p.epochs.length === 0 ? 0n : p.epochs.reduce((a, e) => a + e.burned, 0n) / BigInt(p.epochs.length);
  const rewardsFor = (monthBytes: bigint) => {
    const ourBurnPerEpoch = (netOf(monthBytes).burn * p.epochLengthSeconds) / MONTH_SECONDS;
    const total = burnedMean > ourBurnPerEpoch ? burnedMean : ourBurnPerEpoch;
    return perMonth(providerReward(epochBudget(p.schedule, p.currentEpoch, total), ourBurnPerEpoch, total));
  };
  const expected = netOf(bytes.expected);
  const rewards = rewardsFor(bytes.expected);

  // The lottery: n tickets, each winning with p; winners ~ Binomial(n, p).
  const tickets = bytes.expected / p.bytesPerTicket;
  const { winProb } = p.pricePerGiB > 0n ? ticketParams({ pricePerGiB: p.pricePerGiB, bytesPerTicket: p.bytesPerTicket, faceValue: p.faceValue }) : { winProb: 0n };
  const pWin = Number(winProb) / 2 ** 256;
  const expectedWinners = Number(tickets) * pWin;
  const sigmaWinners = Math.sqrt(Number(tickets) * pWin * (1 - pWin));
  const spreadBps = expectedWinners > 0 ? BigInt(Math.round(Math.min(1, (2 * sigmaWinners) / expectedWinners) * 10_000)) : 0n;
  const total: Span = {
    low: (netOf(bytes.low).net * (10_000n - spreadBps)) / 10_000n + rewardsFor(bytes.low),
    expected: expected.net + rewards,
    high: (netOf(bytes.high).net * (10_000n + spreadBps)) / 10_000n + rewardsFor(bytes.high),
  };
  return {
    capacityBytes, demandBytes, shareBps, bytes, gross: expected.gross, net: expected.net, rewards, total, marketMedian,
    lottery: {
      tickets, expectedWinners, sigmaWinners,
      pNoWin: noWinProbability({ bytes: Number(bytes.expected), pricePerGiB: p.pricePerGiB, bytesPerTicket: p.bytesPerTicket, faceValue: p.faceValue }),
    },
  };
}
