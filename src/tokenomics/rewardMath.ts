import { BaseError } from "../protocol/errors.ts";

/**
 * The reward arithmetic of contracts/Rewards.sol, contracts/Vesting.sol and the fee split of the
 * TicketBroker, in pure bigint. Every function here is a bit-for-bit mirror of the Solidity
 * (same operations, same floor at the same place); rewardMath.diff.test.ts checks that against
 * the deployed contracts. Change one side only together with the other.
 */

/** Basis-point denominator (10_000 = 100%). */
export const BPS = 10_000n;

/** Fixed-point unit of the decay factor (1e27, "ray"): enough precision for ~90 halvings. */
export const RAY = 10n ** 27n;

/**
 * The deploy-time reward schedule.
 * - `initialEmission`: tokens (wei) per epoch in the first decay period.
 * - `decayPeriodEpochs`: epochs per decay period (> 0).
 * - `decayBps`: share of the emission retained from one period to the next (5000 = halving, 10000 = flat).
 * - `kBps`: usage rewards of an epoch are capped at kBps/10000 x the value burned in it (< 10000 on chain).
 * - `cap`: the token's hard supply cap; mints are clamped to `cap - totalSupply`.
 * - `vestingEpochs`: a claimed reward vests linearly over this many epochs (0 = immediately).
 */
export type RewardSchedule = {
  initialEmission: bigint;
  decayPeriodEpochs: bigint;
  decayBps: bigint;
  kBps: bigint;
  cap: bigint;
  vestingEpochs: bigint;
};

/** How a paid face value is divided by the TicketBroker. */
export type FeeSplit = { burn: bigint; treasury: bigint; recipient: bigint };

/** A schedule field is out of the range the Rewards contract accepts. */
export class InvalidRewardScheduleError extends BaseError {
  override name = "InvalidRewardScheduleError";
  field: keyof RewardSchedule;
  value: bigint;
  constructor({ field, value, reason }: { field: keyof RewardSchedule; value: bigint; reason: string }) {
    super(`Invalid reward schedule: ${field} = ${value} ${reason}.`);
    this.field = field;
    this.value = value;
  }
}

/** An argument of the reward arithmetic is out of range (negative, or a split above 100%). */
export class RewardMathError extends BaseError {
  override name = "RewardMathError";
  field: string;
  value: bigint;
  constructor({ field, value, reason }: { field: string; value: bigint; reason: string }) {
    super(`Invalid reward math input: ${field} = ${value} ${reason}.`);
    this.field = field;
    this.value = value;
  }
}

const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * Throws InvalidRewardScheduleError unless the schedule is one the Rewards constructor accepts
 * (the same checks; the first failing field is reported). Pass `{ allowUncappedK: true }` to
 * model k >= 1, which the contract rejects, e.g. to show that self-dealing then pays.
 */
export function validateSchedule(schedule: RewardSchedule, options: { allowUncappedK?: boolean } = {}): void {
  for (const field of Object.keys(schedule) as (keyof RewardSchedule)[]) {
    const value = schedule[field];
    if (value < 0n || value > MAX_UINT256) {
      throw new InvalidRewardScheduleError({ field, value, reason: "is not a uint256" });
    }
  }
  if (schedule.decayPeriodEpochs === 0n) {
    throw new InvalidRewardScheduleError({ field: "decayPeriodEpochs", value: 0n, reason: "must be > 0" });
  }
  if (schedule.decayBps > BPS) {
    throw new InvalidRewardScheduleError({ field: "decayBps", value: schedule.decayBps, reason: "must be <= 10000" });
  }
  if (schedule.cap > (1n << 128n) - 1n) {
    throw new InvalidRewardScheduleError({ field: "cap", value: schedule.cap, reason: "must fit in a uint128 (Vesting's amount width)" });
  }
  if (schedule.vestingEpochs > (1n << 64n) - 1n) {
    throw new InvalidRewardScheduleError({ field: "vestingEpochs", value: schedule.vestingEpochs, reason: "must fit in a uint64" });
  }
  if (!options.allowUncappedK && schedule.kBps >= BPS) {
    throw new InvalidRewardScheduleError({
      field: "kBps",
      value: schedule.kBps,
      reason: "must be < 10000 (k < 1, or self-dealing pays)",
    });
  }
}

function nonNegative(field: string, value: bigint): void {
  if (value < 0n) throw new RewardMathError({ field, value, reason: "must be >= 0" });
}

/**
 * The decay factor of `epoch` in RAY fixed point: (decayBps/10000)^n with n = floor(epoch /
 * decayPeriodEpochs), by exponentiation by squaring with a floor after every multiplication
 * (EmissionLib.decayFactor). Exact when decayBps is 10000 (RAY) or n is 0.
 */
export function decayFactorAt(schedule: RewardSchedule, epoch: bigint): bigint {
  nonNegative("epoch", epoch);
  let n = epoch / schedule.decayPeriodEpochs;
  let x = (schedule.decayBps * RAY) / BPS; // exact: RAY is a multiple of BPS
  let z = RAY;
  while (n > 0n) {
    if (x === 0n) return 0n; // a remaining set bit of n will multiply z by 0
    if ((n & 1n) === 1n) z = (z * x) / RAY;
    n >>= 1n;
    if (n > 0n) x = (x * x) / RAY;
  }
  return z;
}

/** Tokens (wei) the schedule emits for `epoch`: floor(initialEmission x decayFactor / RAY). */
export function emissionAt(schedule: RewardSchedule, epoch: bigint): bigint {
  return (schedule.initialEmission * decayFactorAt(schedule, epoch)) / RAY;
}

/**
 * The usage-reward budget of `epoch`: min(emission(epoch), floor(burned x kBps / 10000)).
 * The k x burned cap is the self-dealing bound (docs: design.md "The self-dealing bound"):
 * paying yourself X burns b·X and returns at most k·b·X < b·X.
 */
export function epochBudget(schedule: RewardSchedule, epoch: bigint, burned: bigint): bigint {
  nonNegative("burned", burned);
  const emission = emissionAt(schedule, epoch);
  const usageCap = (burned * schedule.kBps) / BPS;
  return emission < usageCap ? emission : usageCap;
}

/**
 * A provider's reward for an epoch: floor(budget x burnedByProvider / burnedTotal), 0 if nothing
 * was burned (EmissionLib.providerReward). Shares follow the value each provider's redemptions
 * burned, not the value paid: the broker floors the burn per ticket, so a share by paid value would
 * let dust tickets (below 10000 / burnBps wei, burning nothing) earn from other providers' burn.
 * With budget <= floor(k x burnedTotal) the result is <= k x burnedByProvider, whatever the
 * rounding: the self-dealing bound holds per provider, exactly.
 */
export function providerReward(budget: bigint, burnedByProvider: bigint, burnedTotal: bigint): bigint {
  nonNegative("budget", budget);
  nonNegative("burnedByProvider", burnedByProvider);
  if (burnedByProvider > burnedTotal) {
    throw new RewardMathError({ field: "burnedByProvider", value: burnedByProvider, reason: `exceeds burnedTotal ${burnedTotal}` });
  }
  if (burnedTotal === 0n) return 0n;
  return (budget * burnedByProvider) / burnedTotal;
}

/** What a mint of `amount` actually mints under the cap: min(amount, cap - totalSupply), 0 at the cap. */
export function mintableUnderCap(amount: bigint, cap: bigint, totalSupply: bigint): bigint {
  nonNegative("amount", amount);
  const headroom = cap > totalSupply ? cap - totalSupply : 0n;
  return amount < headroom ? amount : headroom;
}

/**
 * The vested part of a tranche of `amount` granted in epoch `startEpoch`, seen in `currentEpoch`:
 * linear in whole epochs, floor(amount x elapsed / vestingEpochs) with elapsed = currentEpoch -
 * startEpoch, all of it once elapsed >= vestingEpochs. Nothing vests in the claim's own epoch.
 */
export function vestedAmount(amount: bigint, startEpoch: bigint, currentEpoch: bigint, vestingEpochs: bigint): bigint {
  nonNegative("amount", amount);
  nonNegative("vestingEpochs", vestingEpochs);
  if (currentEpoch <= startEpoch) return vestingEpochs === 0n ? amount : 0n;
  const elapsed = currentEpoch - startEpoch;
  if (elapsed >= vestingEpochs) return amount;
  return (amount * elapsed) / vestingEpochs;
}

/** One grant held by Vesting: `amount` vesting from epoch `startEpoch`. */
export type VestingTranche = { amount: bigint; startEpoch: bigint };

/**
 * What Vesting reports as vested for a provider's tranches at `currentEpoch`: fully vested tranches
 * (currentEpoch >= startEpoch + vestingEpochs) count whole, the open ones are floored once on
 * their sum, floor(sum amount·(currentEpoch - startEpoch) / vestingEpochs). For one tranche this
 * is `vestedAmount`; for several it exceeds the sum of per-tranche floors by < 1 wei per open
 * tranche (the price of Vesting's O(1) running sums). Open tranches must start <= currentEpoch.
 */
export function vestedTotal(tranches: readonly VestingTranche[], currentEpoch: bigint, vestingEpochs: bigint): bigint {
  nonNegative("vestingEpochs", vestingEpochs);
  let settled = 0n;
  let openWeighted = 0n;
  for (const { amount, startEpoch } of tranches) {
    nonNegative("amount", amount);
    if (currentEpoch >= startEpoch + vestingEpochs) settled += amount;
    else if (currentEpoch > startEpoch) openWeighted += amount * (currentEpoch - startEpoch);
  }
  return settled + (vestingEpochs === 0n ? 0n : openWeighted / vestingEpochs);
}

/**
 * The broker's split of one ticket's paid value: burn and treasury are floored, the recipient gets
 * the rest (so rounding dust goes to the provider and the three always sum to `paid`). The broker
 * splits each ticket and sums, so for a batch apply this per ticket, not to the batch total: a
 * ticket below 10000 / burnBps wei burns nothing (and so earns no reward share: providerReward).
 */
export function splitFee(paid: bigint, burnBps: bigint, treasuryBps: bigint): FeeSplit {
  nonNegative("paid", paid);
  nonNegative("burnBps", burnBps);
  nonNegative("treasuryBps", treasuryBps);
  if (burnBps + treasuryBps > BPS) {
    throw new RewardMathError({ field: "burnBps + treasuryBps", value: burnBps + treasuryBps, reason: "must be <= 10000" });
  }
  const burn = (paid * burnBps) / BPS;
  const treasury = (paid * treasuryBps) / BPS;
  return { burn, treasury, recipient: paid - burn - treasury };
}
