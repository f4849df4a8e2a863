import { createCohortLedger } from "./createCohortLedger.ts";
import { createIndividualLedger, type IndividualLedgerOptions } from "./createIndividualLedger.ts";
import { createPrng } from "./createPrng.ts";
import type { Model } from "./modelSchema.ts";
import type { Payouts } from "./monthlyPayouts.ts";
import { noWinProbability } from "./noWinProbability.ts";
import type { RewardRule } from "./providerLedger.ts";
import { BPS, emissionAt, epochBudget, mintableUnderCap, providerReward, type RewardSchedule } from "./rewardMath.ts";

const WEI = 10n ** 18n;
const SECONDS_PER_YEAR = 365 * 86_400;
const GIB_BYTES = 2 ** 30;

/**
 * One epoch of a run. Money columns are bigint wei (token) or bigint micro-fiat (`...FiatMicro`,
 * 1e-6 of the fiat unit); ratios and the token's fiat price are numbers.
 */
export type EpochRow = {
  epoch: number;
  /** Fiat price of one token during the epoch. */
  tokenPrice: number;
  /** Honest providers active in the epoch. */
  providers: number;
  /** Honest traffic, GiB. */
  demandGiB: bigint;
  /** Price of one GiB in wei at this epoch's token price. */
  priceWeiPerGiB: bigint;
  /** Value paid through the broker (honest + self-dealt). */
  paid: bigint;
  burned: bigint;
  /** Treasury share of this epoch's fees. */
  treasuryIn: bigint;
  /** What the schedule offers this epoch (emission, or the inflation mint for that basis). */
  emission: bigint;
  /** Rewards granted before the supply-cap clamp (emission, or less when the k x burn cap binds). */
  budget: bigint;
  minted: bigint;
  /** Total supply at the end of the epoch (genesis + minted - burned). */
  supply: bigint;
  /** Treasury balance at the end of the epoch. */
  treasury: bigint;
  /** Minted rewards not yet vested. */
  locked: bigint;
  /** The k x burned cap (or the burnAndMint usage cap) was below the emission. */
  kCapBinds: boolean;
  /** A mint was clamped by the token's supply cap. */
  supplyCapBinds: boolean;
  /** (1 + (minted - burned) / supply)^(epochs per year) - 1. */
  netInflationAnnualised: number;
  /** An honest provider's revenue per GiB: its share of fees, and rewards. Wei. */
  feesPerGiB: bigint;
  rewardsPerGiB: bigint;
  /** feesPerGiB + rewardsPerGiB in micro-fiat at this epoch's token price. */
  revenuePerGiBFiatMicro: bigint;
  /** The self-dealing attacker: value it paid itself, what that cost (fees lost, overhead), rewards it got. */
  attackerPaid: bigint;
  attackerCost: bigint;
  attackerReward: bigint;
  /** (attackerReward - attackerCost) / attackerCost; null when there is no attacker or no cost. */
  attackerReturn: number | null;
  /** P(no winning ticket in a week) for a provider moving smallProvider.gibPerEpoch. */
  smallProviderNoWinWeek: number;
};

/** Aggregates of a run, for summary.json and the evaluator. */
export type SimSummary = {
  name: string;
  /** How providers were simulated: cohort (expected values) or individual (each provider's lottery). */
  mode: Model["providers"]["mode"];
  basis: Model["rewards"]["basis"];
  kBps: string;
  seed: number;
  epochs: number;
  epochLengthSeconds: number;
  cap: bigint;
  genesisSupply: bigint;
  finalSupply: bigint;
  maxSupply: bigint;
  totalMinted: bigint;
  totalBurned: bigint;
  totalTreasury: bigint;
  finalLocked: bigint;
  /** First epoch whose rewards the k x burn (or usage) cap limited, and the share of epochs it did. */
  firstKCapBindEpoch: number | null;
  kCapBindShare: number;
  /** First epoch whose mint the supply cap clamped. */
  firstSupplyCapBindEpoch: number | null;
  /** Net supply growth over the last year of the run, annualised. */
  longRunInflation: number;
  /**
   * The attacker over the run. `return` is (reward - cost) / cost summed over the run;
   * `worstEpochReturn` the best single epoch for the attacker, which is what an attacker who
   * chooses when to attack gets (null when no epoch had an attack with a cost).
   */
  attacker: { paid: bigint; cost: bigint; reward: bigint; return: number | null; worstEpochReturn: number | null; identities: number; selfDealing: number };
  smallProviderNoWinWeek: { first: number; max: number; last: number };
  tokenPrice: { first: number; last: number; min: number; max: number };
  revenuePerGiBFiatMicro: { first: bigint; last: bigint };
  finalProviders: number;
  /** Monthly earnings of small, median and large providers (p10/p50/p90 across providers in individual mode). */
  payouts: Payouts;
};

/** A run's per-epoch rows and its summary. */
export type SimResult = { rows: EpochRow[]; summary: SimSummary };

/** The rewardMath schedule of a model (kBps "none" becomes 0 here and is handled by the caller). */
export function rewardScheduleOf(model: Model): RewardSchedule {
  return {
    initialEmission: model.emission.initial,
    decayPeriodEpochs: BigInt(model.emission.decayPeriodEpochs),
    decayBps: BigInt(model.emission.decayBps),
    kBps: model.rewards.kBps === "none" ? 0n : BigInt(model.rewards.kBps),
    cap: model.token.cap,
    vestingEpochs: BigInt(model.rewards.vestingEpochs),
  };
}

/** Rounds x to an integer, up with probability frac(x): unbiased counts from fractional rates. */
function stochasticRound(x: number, u: number): number {
  const whole = Math.floor(x);
  return whole + (u < x - whole ? 1 : 0);
}

/** Number(a) / Number(b) for ratios of bigints; 0 when b is 0. */
function ratio(a: bigint, b: bigint): number {
  return b === 0n ? 0 : Number(a) / Number(b);
}

/** Options of a run: `signal` aborts it; `individual` tunes the individual ledger (tests). */
export type SimulateOptions = { signal?: AbortSignal; individual?: IndividualLedgerOptions };

/**
 * Runs a model for `model.epochs` epochs. Deterministic for a model (and its seed).
 *
 * The world (arrivals and churn, demand, token price, emission, the reward rule, the supply cap,
 * vesting) is simulated here; the providers' side is a ledger chosen by `providers.mode`:
 * - `cohort` (createCohortLedger): every provider of a cohort is paid the expected value of its
 *   traffic, computed once per cohort exactly in bigint and multiplied by the count. O(epochs x
 *   cohorts), independent of the number of providers.
 * - `individual` (createIndividualLedger): every provider on its own, with the number of winning
 *   tickets it gets in each epoch drawn from the ticket lottery, money per provider exact in wei,
 *   and the distribution of monthly earnings per provider class. O(epochs x providers).
 *
 * Randomness (demand noise, token-price walk, arrivals and churn) is drawn in a fixed order that
 * does not depend on the attacker or the mode, so two runs of one model that differ only in the
 * attack (or the mode) see the same honest world (common random numbers) and their difference is
 * the attack's (or the lottery's) effect.
 */
export function simulate(model: Model, options: SimulateOptions = {}): SimResult {
  const prng = createPrng(model.seed);
  const schedule = rewardScheduleOf(model);
  const basis = model.rewards.basis;
  const uncapped = model.rewards.kBps === "none";
  const epochsPerYear = SECONDS_PER_YEAR / model.epochLengthSeconds;
  const epochsPerWeek = (7 * 86_400) / model.epochLengthSeconds;
  const vestingEpochs = model.rewards.vestingEpochs;
  const ledger = model.providers.mode === "individual" ? createIndividualLedger(model, options.individual) : createCohortLedger(model);

  const counts = model.providers.cohorts.map((c) => c.count);
  const stakes = model.providers.cohorts.map((c) => c.stake);
  const arrivals = counts.map(() => 0);
  const departures = counts.map(() => 0);
  const arrivalRate = (1 + model.providers.annualGrowth) ** (1 / epochsPerYear) - 1;
  const churnRate = 1 - (1 - model.providers.annualChurn) ** (1 / epochsPerYear);
  const demandGrowth = (1 + model.demand.annualGrowth) ** (1 / epochsPerYear);
  const sigma = model.demand.noise;

  const attack = model.attackers;
  const attackerActive = attack.selfDealing > 0;
  const identities = attackerActive ? attack.sybilIdentities : 0;
  const ids = BigInt(identities);
  const selfDealingPpm = BigInt(Math.round(attack.selfDealing * 1e6));

  const price = model.tokenPrice;
  let walk = 0;
  const supply0 = model.token.genesisSupply;
  const demand0 = Math.max(model.demand.initialGiBPerEpoch, 1e-9);

  const rows: EpochRow[] = [];
  const mintedHistory: bigint[] = [];
  let supply = supply0;
  let treasury = 0n;
  let maxSupply = supply;
  const totals = { minted: 0n, burned: 0n, attackerPaid: 0n, attackerCost: 0n, attackerReward: 0n };
  let firstKCap: number | null = null;
  let firstSupplyCap: number | null = null;
  let kCapEpochs = 0;
  let vestA = 0n;
  let vestB = 0n;
  let cachedPeriod = -1;
  let periodEmission = 0n;
  let periodSchedule = schedule;

  for (let t = 0; t < model.epochs; t++) {
    if ((t & 255) === 0) options.signal?.throwIfAborted();

    // --- the honest world: providers, demand, token price (fixed draw order, see above) ---
    if (t > 0) {
      counts.forEach((count, i) => {
        arrivals[i] = stochasticRound(count * arrivalRate, prng.next());
        departures[i] = stochasticRound(count * churnRate, prng.next());
        counts[i] = Math.max(0, count + (arrivals[i] ?? 0) - (departures[i] ?? 0));
      });
    }
    const demandNoise = sigma > 0 ? Math.exp(sigma * prng.gaussian() - (sigma * sigma) / 2) : 1;
    const demandGiBNumber = model.demand.initialGiBPerEpoch * demandGrowth ** t * demandNoise;
    const demandGiB = BigInt(Math.round(demandGiBNumber));
    const shock = prng.gaussian();
    let tokenPrice: number;
    if (price.kind === "series") {
      const pos = t / price.stepEpochs;
      const i = Math.min(Math.floor(pos), price.values.length - 1);
      const a = price.values[i] ?? 1;
      const b = price.values[Math.min(i + 1, price.values.length - 1)] ?? a;
      tokenPrice = i >= price.values.length - 1 ? a : a + (b - a) * (pos - i);
    } else {
      walk += price.volatility * shock * Math.sqrt(model.epochLengthSeconds / 86_400);
      tokenPrice =
        price.initial *
        Math.max(ratio(supply, supply0), 1e-9) ** -price.supplyElasticity *
        Math.max(demandGiBNumber / demand0, 1e-9) ** price.demandElasticity *
        Math.exp(walk);
    }
    // The price as an integer of nano-fiat, so that fiat <-> wei conversions stay in bigint.
    const tokenPriceNano = BigInt(Math.max(1, Math.round(tokenPrice * 1e9)));
    const priceWeiPerGiB = model.pricing.unit === "token" ? model.pricing.perGiB : (model.pricing.perGiB * WEI) / tokenPriceNano;
    const faceValue = model.tickets.unit === "token" ? model.tickets.faceValue : (model.tickets.faceValue * WEI) / tokenPriceNano;

    // --- payments: honest traffic and the attacker's, booked by the ledger ---
    const attackerGiB = (demandGiB * selfDealingPpm) / 1_000_000n;
    const pay = ledger.pay({ epoch: t, arrivals, departures, counts, demandGiB, priceWeiPerGiB, faceValue, attackerGiB, identities });
    const { paid, burned, treasuryIn, honestFees, attackerCost } = pay;
    const supplyAfterBurn = supply - burned;

    // --- the reward rule of the basis; the ledger shares it among providers ---
    const period = Math.floor(t / model.emission.decayPeriodEpochs);
    if (period !== cachedPeriod) {
      // Emission changes only at period boundaries; the exponentiation runs once per period.
      // The flat schedule at epoch 0 makes epochBudget's own emissionAt exact and O(1).
      cachedPeriod = period;
      periodEmission = emissionAt(schedule, BigInt(t));
      periodSchedule = { ...schedule, initialEmission: periodEmission, decayBps: BPS };
    }
    let emission = periodEmission;
    let budget: bigint;
    let kCapBinds = false;
    let rule: RewardRule;
    const none = counts.map(() => 0n);
    if (basis === "paid") {
      // bandmint's contracts: budget min(emission, k x burned), shared by what each provider's
      // redemptions burned.
      budget = uncapped ? emission : epochBudget(periodSchedule, 0n, burned);
      kCapBinds = budget < emission;
      rule = { usage: { pool: budget, by: "burn" }, fixed: none, fixedAttacker: 0n };
    } else if (basis === "selfReported") {
      // Volume is whatever providers report: the honest report their paid value, the attacker its fake volume.
      budget = emission;
      rule = { usage: { pool: budget, by: "report" }, fixed: none, fixedAttacker: 0n };
    } else if (basis === "burnAndMint") {
      // Helium-like: usage rewards = value burned, capped at usageCapBps of emission; the rest of
      // the emission goes to availability (proof-of-coverage) rewards, equal per identity.
      const usageCap = (emission * BigInt(model.rewards.usageCapBps)) / BPS;
      const usagePool = burned < usageCap ? burned : usageCap;
      kCapBinds = burned > usageCap;
      const availabilityPool = emission - usagePool;
      let identityTotal = ids;
      for (const n of counts) identityTotal += BigInt(n);
      const availability = providerReward(availabilityPool, identityTotal === 0n ? 0n : 1n, identityTotal);
      budget = emission;
      rule = { usage: { pool: usagePool, by: "burn" }, fixed: counts.map(() => availability), fixedAttacker: availability };
    } else {
      // Livepeer-like: inflation of the supply paid to stake, whatever the usage.
      emission = (supplyAfterBurn * BigInt(model.rewards.inflationBps) * BigInt(model.epochLengthSeconds)) / (BPS * BigInt(SECONDS_PER_YEAR));
      budget = emission;
      let stakeTotal = 0n;
      counts.forEach((n, i) => (stakeTotal += BigInt(n) * (stakes[i] ?? 0n)));
      // The attacker stakes nothing: self-dealing earns no inflation.
      rule = { usage: null, fixed: stakes.map((s) => providerReward(budget, s, stakeTotal)), fixedAttacker: 0n };
    }
    if (kCapBinds) {
      kCapEpochs++;
      firstKCap ??= t;
    }
    const owed = ledger.entitle(rule);

    // --- mint under the supply cap; the attacker claims first (the conservative order for the check) ---
    const attackerReward = mintableUnderCap(owed.attacker, model.token.cap, supplyAfterBurn);
    let supplyCapBinds = attackerReward < owed.attacker;
    const headroom = model.token.cap > supplyAfterBurn + attackerReward ? model.token.cap - (supplyAfterBurn + attackerReward) : 0n;
    const honest = ledger.settle(headroom);
    if (honest.clamped) supplyCapBinds = true;
    const honestRewards = honest.minted;
    const minted = attackerReward + honestRewards;
    if (supplyCapBinds) firstSupplyCap ??= t;

    const supplyBefore = supply;
    supply = supplyAfterBurn + minted;
    if (supply > maxSupply) maxSupply = supply;
    treasury += treasuryIn;
    totals.minted += minted;
    totals.burned += burned;

    // A tranche minted in epoch s is claimed at the start of s + 1 and vests linearly from there
    // (rewardMath.vestedAmount): at the end of epoch t, (t - s) / V of it is vested. Summed over the
    // window with running sums, locked = sum m_s (V - t + s) / V = ((V - t) A + B) / V with
    // A = sum m_s and B = sum m_s s: O(1) per epoch instead of O(V). It floors once on the
    // aggregate where the contract floors per claim, so it can differ by < 1 wei per claim.
    mintedHistory.push(minted);
    let locked = 0n;
    if (vestingEpochs > 0) {
      vestA += minted;
      vestB += minted * BigInt(t);
      const leaving = t - vestingEpochs;
      if (leaving >= 0) {
        const m = mintedHistory[leaving] ?? 0n;
        vestA -= m;
        vestB -= m * BigInt(leaving);
      }
      locked = ((BigInt(vestingEpochs) - BigInt(t)) * vestA + vestB) / BigInt(vestingEpochs);
    }

    const attackerPaid = pay.attackerPaid;
    totals.attackerPaid += attackerPaid;
    totals.attackerCost += attackerCost;
    totals.attackerReward += attackerReward;
    const feesPerGiB = demandGiB === 0n ? 0n : honestFees / demandGiB;
    const rewardsPerGiB = demandGiB === 0n ? 0n : honestRewards / demandGiB;
    let providers = 0;
    for (const n of counts) providers += n;

    rows.push({
      epoch: t,
      tokenPrice,
      providers,
      demandGiB,
      priceWeiPerGiB,
      paid,
      burned,
      treasuryIn,
      emission,
      budget,
      minted,
      supply,
      treasury,
      locked,
      kCapBinds,
      supplyCapBinds,
      netInflationAnnualised: (1 + ratio(minted - burned, supplyBefore)) ** epochsPerYear - 1,
      feesPerGiB,
      rewardsPerGiB,
      revenuePerGiBFiatMicro: ((feesPerGiB + rewardsPerGiB) * tokenPriceNano) / (WEI * 1000n),
      attackerPaid,
      attackerCost,
      attackerReward,
      attackerReturn: attackerActive && attackerCost > 0n ? ratio(attackerReward - attackerCost, attackerCost) : null,
      smallProviderNoWinWeek: noWinProbability({
        bytes: model.smallProvider.gibPerEpoch * epochsPerWeek * GIB_BYTES,
        pricePerGiB: priceWeiPerGiB,
        bytesPerTicket: BigInt(model.tickets.bytesPerTicket),
        faceValue,
      }),
    });
  }

  const summary = summarize(model, rows, { ...totals, treasury, maxSupply, firstKCap, firstSupplyCap, kCapEpochs, identities, epochsPerYear });
  return { rows, summary: { ...summary, payouts: ledger.payouts() } };
}

function summarize(
  model: Model,
  rows: EpochRow[],
  t: {
    minted: bigint; burned: bigint; attackerPaid: bigint; attackerCost: bigint; attackerReward: bigint; treasury: bigint;
    maxSupply: bigint; firstKCap: number | null; firstSupplyCap: number | null; kCapEpochs: number; identities: number; epochsPerYear: number;
  },
): Omit<SimSummary, "payouts"> {
  const first = rows[0];
  const last = rows.at(-1);
  if (first === undefined || last === undefined) throw new Error("simulate: a model has at least one epoch");
  const window = Math.min(rows.length, Math.max(1, Math.round(t.epochsPerYear)));
  const startSupply = rows.length > window ? (rows[rows.length - window - 1]?.supply ?? model.token.genesisSupply) : model.token.genesisSupply;
  let maxNoWin = 0;
  let worstEpochReturn: number | null = null;
  let minPrice = Infinity;
  let maxPrice = 0;
  for (const r of rows) {
    if (r.smallProviderNoWinWeek > maxNoWin) maxNoWin = r.smallProviderNoWinWeek;
    if (r.tokenPrice < minPrice) minPrice = r.tokenPrice;
    if (r.tokenPrice > maxPrice) maxPrice = r.tokenPrice;
    if (r.attackerReturn !== null && (worstEpochReturn === null || r.attackerReturn > worstEpochReturn)) worstEpochReturn = r.attackerReturn;
  }
  return {
    name: model.name,
    mode: model.providers.mode,
    basis: model.rewards.basis,
    kBps: String(model.rewards.kBps),
    seed: model.seed,
    epochs: model.epochs,
    epochLengthSeconds: model.epochLengthSeconds,
    cap: model.token.cap,
    genesisSupply: model.token.genesisSupply,
    finalSupply: last.supply,
    maxSupply: t.maxSupply,
    totalMinted: t.minted,
    totalBurned: t.burned,
    totalTreasury: t.treasury,
    finalLocked: last.locked,
    firstKCapBindEpoch: t.firstKCap,
    kCapBindShare: t.kCapEpochs / rows.length,
    firstSupplyCapBindEpoch: t.firstSupplyCap,
    longRunInflation: ratio(last.supply, startSupply) ** (t.epochsPerYear / window) - 1,
    attacker: {
      paid: t.attackerPaid,
      cost: t.attackerCost,
      reward: t.attackerReward,
      return: model.attackers.selfDealing > 0 && t.attackerCost > 0n ? ratio(t.attackerReward - t.attackerCost, t.attackerCost) : null,
      worstEpochReturn,
      identities: t.identities,
      selfDealing: model.attackers.selfDealing,
    },
    smallProviderNoWinWeek: { first: first.smallProviderNoWinWeek, max: maxNoWin, last: last.smallProviderNoWinWeek },
    tokenPrice: { first: first.tokenPrice, last: last.tokenPrice, min: minPrice, max: maxPrice },
    revenuePerGiBFiatMicro: { first: first.revenuePerGiBFiatMicro, last: last.revenuePerGiBFiatMicro },
    finalProviders: last.providers,
  };
}
