import type { Payouts } from "./monthlyPayouts.ts";

/**
 * What the epoch loop (simulate) tells a ledger about an epoch: provider counts after this
 * epoch's arrivals and departures (per cohort), the honest traffic and its prices, the attacker's
 * traffic. Money is wei.
 */
export type EpochMarket = {
  epoch: number;
  arrivals: readonly number[];
  departures: readonly number[];
  counts: readonly number[];
  demandGiB: bigint;
  priceWeiPerGiB: bigint;
  /** The model's ticket face value at this epoch's token price, before ticketParams may raise it. */
  faceValue: bigint;
  attackerGiB: bigint;
  identities: number;
};

/** An epoch's payments through the broker (honest and self-dealt), as the loop books them. */
export type EpochPayments = {
  paid: bigint;
  burned: bigint;
  treasuryIn: bigint;
  /** The providers' share of honest payments (paid - burn - treasury). */
  honestFees: bigint;
  /** What the attacker's identities paid themselves (or, when it pays nothing, reported). */
  attackerPaid: bigint;
  attackerCost: bigint;
};

/**
 * How an epoch's rewards are shared: `usage.pool` in proportion to what each provider burned
 * (`by: "burn"`, rewardMath.providerReward) or reported (`"report"`), plus a fixed amount per
 * provider of each cohort (`fixed`: availability per identity, or a stake share) and per attacker
 * identity (`fixedAttacker`).
 */
export type RewardRule = { usage: { pool: bigint; by: "burn" | "report" } | null; fixed: readonly bigint[]; fixedAttacker: bigint };

/**
 * The providers' side of a run. simulate() owns the world (arrivals, demand, prices, emission,
 * supply) and asks a ledger, each epoch: what was paid (`pay`), what everyone is owed under the
 * reward rule (`entitle`: honest total and attacker total), and, after the attacker's mint, to
 * grant the honest rewards within `headroom` under the supply cap (`settle`). Two ledgers:
 * createCohortLedger (one exact provider per cohort, times its count) and createIndividualLedger
 * (every provider on its own, with lottery-drawn winning tickets).
 */
export type ProviderLedger = {
  pay(market: EpochMarket): EpochPayments;
  entitle(rule: RewardRule): { honest: bigint; attacker: bigint };
  /** Grants honest rewards (at most `headroom`); returns what to mint and whether the cap cut anything. */
  settle(headroom: bigint): { minted: bigint; clamped: boolean };
  /** Monthly earnings of the small, median and large provider classes (complete months only). */
  payouts(): Payouts;
};
