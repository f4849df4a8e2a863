import { BPS, emissionAt, epochBudget, mintableUnderCap, providerReward, splitFee, type RewardSchedule } from "./rewardMath.ts";
import { createPrng } from "./createPrng.ts";
import type { Model } from "./modelSchema.ts";
import { noWinProbability } from "./noWinProbability.ts";

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

/**
 * Runs a model for `model.epochs` epochs. Deterministic for a model (and its seed).
 *
 * Providers are simulated as cohorts: every provider of a cohort has the same weight, so the
 * simulator computes one provider's fee split and reward exactly in bigint (with rewardMath, the
 * contracts' arithmetic) and multiplies by the cohort's count. Cost is O(epochs x cohorts),
 * independent of the number of providers; a model with one provider per cohort is an exact
 * per-provider simulation at O(epochs x providers).
 *
 * Randomness (demand noise, token-price walk, arrivals and churn) is drawn in a fixed order that
 * does not depend on the attacker, so two runs of one model that differ only in the attack see
 * the same honest world (common random numbers) and their difference is the attack's effect.
 */
export function simulate(model: Model, options: { signal?: AbortSignal } = {}): SimResult {
  const prng = createPrng(model.seed);
  const schedule = rewardScheduleOf(model);
  const basis = model.rewards.basis;
  const uncapped = model.rewards.kBps === "none";
  const burnBps = BigInt(model.fees.burnBps);
  const treasuryBps = BigInt(model.fees.treasuryBps);
  const epochsPerYear = SECONDS_PER_YEAR / model.epochLengthSeconds;
  const epochsPerWeek = (7 * 86_400) / model.epochLengthSeconds;
  const vestingEpochs = model.rewards.vestingEpochs;

  const cohorts = model.providers.cohorts.map((c) => ({ count: c.count, weight: BigInt(c.weight), stake: c.stake }));
  const arrivalRate = (1 + model.providers.annualGrowth) ** (1 / epochsPerYear) - 1;
  const churnRate = 1 - (1 - model.providers.annualChurn) ** (1 / epochsPerYear);
  const demandGrowth = (1 + model.demand.annualGrowth) ** (1 / epochsPerYear);
  const sigma = model.demand.noise;

  const attack = model.attackers;
  const attackerActive = attack.selfDealing > 0;
  const identities = attackerActive ? attack.sybilIdentities : 0;
  const selfDealingPpm = BigInt(Math.round(attack.selfDealing * 1e6));
  const attackerPaysFees = basis !== "selfReported"; // self-reported volume needs no payment at all

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
      for (const c of cohorts) {
        const arrivals = stochasticRound(c.count * arrivalRate, prng.next());
        const departures = stochasticRound(c.count * churnRate, prng.next());
        c.count = Math.max(0, c.count + arrivals - departures);
      }
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

    // --- payments: honest traffic split across cohorts by count x weight, plus the attacker ---
    const honestValue = demandGiB * priceWeiPerGiB;
    let weightTotal = 0n;
    for (const c of cohorts) weightTotal += BigInt(c.count) * c.weight;
    const perProvider = cohorts.map((c) => (weightTotal === 0n ? 0n : (honestValue * c.weight) / weightTotal));
    const attackerGiB = (demandGiB * selfDealingPpm) / 1_000_000n;
    const attackerValue = attackerGiB * priceWeiPerGiB;
    const perIdentity = identities === 0 ? 0n : attackerValue / BigInt(identities);

    let paid = 0n;
    let burned = 0n;
    let treasuryIn = 0n;
    let honestFees = 0n;
    const splits = perProvider.map((p, i) => {
      const n = BigInt(cohorts[i]?.count ?? 0);
      const s = splitFee(p, burnBps, treasuryBps);
      paid += p * n;
      burned += s.burn * n;
      treasuryIn += s.treasury * n;
      honestFees += s.recipient * n;
      return s;
    });
    const attackerSplit = splitFee(perIdentity, burnBps, treasuryBps);
    const ids = BigInt(identities);
    let attackerCost = attack.overheadPerGiB * attackerGiB + attack.costPerIdentityPerEpoch * ids;
    if (attackerPaysFees) {
      paid += perIdentity * ids;
      burned += attackerSplit.burn * ids;
      treasuryIn += attackerSplit.treasury * ids;
      attackerCost += (attackerSplit.burn + attackerSplit.treasury) * ids;
    }
    const supplyAfterBurn = supply - burned;

    // --- rewards, per basis; per-provider amounts are rewardMath's, multiplied by counts ---
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
    let honestPerProvider: bigint[];
    let attackerPerIdentity: bigint;
    if (basis === "paid") {
      // bandmint's contracts: budget min(emission, k x burned), shared by what each provider's
      // redemptions burned (a cohort's one-provider burn is its fee split's, as the broker books it).
      budget = uncapped ? emission : epochBudget(periodSchedule, 0n, burned);
      kCapBinds = budget < emission;
      honestPerProvider = splits.map((s) => providerReward(budget, s.burn, burned));
      attackerPerIdentity = providerReward(budget, attackerSplit.burn, burned);
    } else if (basis === "selfReported") {
      // Volume is whatever providers report: the honest report their paid value, the attacker its fake volume.
      budget = emission;
      const reported = paid + perIdentity * ids;
      honestPerProvider = perProvider.map((p) => providerReward(budget, p, reported));
      attackerPerIdentity = providerReward(budget, perIdentity, reported);
    } else if (basis === "burnAndMint") {
      // Helium-like: usage rewards = value burned, capped at usageCapBps of emission; the rest of
      // the emission goes to availability (proof-of-coverage) rewards, equal per identity.
      const usageCap = (emission * BigInt(model.rewards.usageCapBps)) / BPS;
      const usagePool = burned < usageCap ? burned : usageCap;
      kCapBinds = burned > usageCap;
      const availabilityPool = emission - usagePool;
      let identityTotal = ids;
      for (const c of cohorts) identityTotal += BigInt(c.count);
      const availability = providerReward(availabilityPool, identityTotal === 0n ? 0n : 1n, identityTotal);
      budget = emission;
      honestPerProvider = splits.map((s) => providerReward(usagePool, s.burn, burned) + availability);
      attackerPerIdentity = (attackerPaysFees ? providerReward(usagePool, attackerSplit.burn, burned) : 0n) + availability;
    } else {
      // Livepeer-like: inflation of the supply paid to stake, whatever the usage.
      emission = (supplyAfterBurn * BigInt(model.rewards.inflationBps) * BigInt(model.epochLengthSeconds)) / (BPS * BigInt(SECONDS_PER_YEAR));
      budget = emission;
      let stakeTotal = 0n;
      for (const c of cohorts) stakeTotal += BigInt(c.count) * c.stake;
      honestPerProvider = cohorts.map((c) => providerReward(budget, c.stake, stakeTotal));
      attackerPerIdentity = 0n; // the attacker stakes nothing: self-dealing earns no inflation
    }
    if (kCapBinds) {
      kCapEpochs++;
      firstKCap ??= t;
    }

    // --- mint under the supply cap; the attacker claims first (the conservative order for the check) ---
    let minted = 0n;
    let supplyCapBinds = false;
    const mint = (amount: bigint): bigint => {
      const m = mintableUnderCap(amount, model.token.cap, supplyAfterBurn + minted);
      if (m < amount) supplyCapBinds = true;
      minted += m;
      return m;
    };
    const attackerReward = mint(attackerPerIdentity * ids);
    let honestRewards = 0n;
    honestPerProvider.forEach((r, i) => {
      honestRewards += mint(r * BigInt(cohorts[i]?.count ?? 0));
    });
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

    const attackerPaid = perIdentity * ids; // what the identities actually paid (floor per identity)
    totals.attackerPaid += attackerPaid;
    totals.attackerCost += attackerCost;
    totals.attackerReward += attackerReward;
    const feesPerGiB = demandGiB === 0n ? 0n : honestFees / demandGiB;
    const rewardsPerGiB = demandGiB === 0n ? 0n : honestRewards / demandGiB;
    let providers = 0;
    for (const c of cohorts) providers += c.count;

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
        faceValue: model.tickets.unit === "token" ? model.tickets.faceValue : (model.tickets.faceValue * WEI) / tokenPriceNano,
      }),
    });
  }

  return { rows, summary: summarize(model, rows, { ...totals, treasury, maxSupply, firstKCap, firstSupplyCap, kCapEpochs, identities, epochsPerYear }) };
}

function summarize(
  model: Model,
  rows: EpochRow[],
  t: {
    minted: bigint; burned: bigint; attackerPaid: bigint; attackerCost: bigint; attackerReward: bigint; treasury: bigint;
    maxSupply: bigint; firstKCap: number | null; firstSupplyCap: number | null; kCapEpochs: number; identities: number; epochsPerYear: number;
  },
): SimSummary {
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
