import type { Model } from "./modelSchema.ts";
import { endsMonth, MONTH_SECONDS, payoutClasses, type PayoutMonth } from "./monthlyPayouts.ts";
import type { EpochMarket, ProviderLedger, RewardRule } from "./providerLedger.ts";
import { mintableUnderCap, providerReward, splitFee, type FeeSplit } from "./rewardMath.ts";

/**
 * The cohort ledger: every provider of a cohort has the same weight, so one provider's fee split
 * and reward are computed exactly in bigint (with rewardMath, the contracts' arithmetic) and
 * multiplied by the cohort's count. O(cohorts) per epoch, whatever the number of providers; a
 * provider is paid the expected value of its tickets (the lottery's spread is the individual
 * ledger's business).
 */
export function createCohortLedger(model: Model): ProviderLedger {
  const burnBps = BigInt(model.fees.burnBps);
  const treasuryBps = BigInt(model.fees.treasuryBps);
  const weights = model.providers.cohorts.map((c) => BigInt(c.weight));
  const attack = model.attackers;
  const attackerPaysFees = model.rewards.basis !== "selfReported"; // self-reported volume needs no payment at all
  const classes = payoutClasses(model);
  const months: PayoutMonth[][] = classes.map(() => []);
  const monthSums = classes.map(() => 0n);

  let epoch = 0;
  let counts: readonly number[] = [];
  let perProvider: bigint[] = [];
  let splits: FeeSplit[] = [];
  let perIdentity = 0n;
  let ids = 0n;
  let attackerSplit: FeeSplit = { burn: 0n, treasury: 0n, recipient: 0n };
  let burned = 0n;
  let reported = 0n;
  let owed: bigint[] = [];

  return {
    pay(m: EpochMarket) {
      epoch = m.epoch;
      counts = m.counts;
      ids = BigInt(m.identities);
      // Honest traffic split across cohorts by count x weight; the attacker's over its identities.
      const honestValue = m.demandGiB * m.priceWeiPerGiB;
      let weightTotal = 0n;
      weights.forEach((w, i) => (weightTotal += BigInt(counts[i] ?? 0) * w));
      perProvider = weights.map((w) => (weightTotal === 0n ? 0n : (honestValue * w) / weightTotal));
      perIdentity = ids === 0n ? 0n : (m.attackerGiB * m.priceWeiPerGiB) / ids;

      let paid = 0n;
      let honestFees = 0n;
      let treasuryIn = 0n;
      burned = 0n;
      splits = perProvider.map((p, i) => {
        const n = BigInt(counts[i] ?? 0);
        const s = splitFee(p, burnBps, treasuryBps);
        paid += p * n;
        burned += s.burn * n;
        treasuryIn += s.treasury * n;
        honestFees += s.recipient * n;
        return s;
      });
      reported = paid + perIdentity * ids;
      attackerSplit = splitFee(perIdentity, burnBps, treasuryBps);
      let attackerCost = attack.overheadPerGiB * m.attackerGiB + attack.costPerIdentityPerEpoch * ids;
      if (attackerPaysFees) {
        paid += perIdentity * ids;
        burned += attackerSplit.burn * ids;
        treasuryIn += attackerSplit.treasury * ids;
        attackerCost += (attackerSplit.burn + attackerSplit.treasury) * ids;
      }
      return { paid, burned, treasuryIn, honestFees, attackerPaid: perIdentity * ids, attackerCost };
    },

    entitle(rule: RewardRule) {
      // A cohort's one provider burns (or reports) its own fee split's, as the broker books it.
      const share = (burn: bigint, value: bigint): bigint =>
        rule.usage === null ? 0n : rule.usage.by === "burn" ? providerReward(rule.usage.pool, burn, burned) : providerReward(rule.usage.pool, value, reported);
      owed = splits.map((s, i) => share(s.burn, perProvider[i] ?? 0n) + (rule.fixed[i] ?? 0n));
      const attackerShare = rule.usage !== null && (rule.usage.by === "report" || attackerPaysFees) ? share(attackerSplit.burn, perIdentity) : 0n;
      let honest = 0n;
      owed.forEach((r, i) => (honest += r * BigInt(counts[i] ?? 0)));
      return { honest, attacker: (attackerShare + rule.fixedAttacker) * ids };
    },

    settle(headroom: bigint) {
      // Cohorts claim in order; under the supply cap the last ones get what is left.
      let minted = 0n;
      let clamped = false;
      const perProviderReward = owed.map((r, i) => {
        const n = BigInt(counts[i] ?? 0);
        const m = mintableUnderCap(r * n, headroom, minted);
        if (m < r * n) clamped = true;
        minted += m;
        return m === r * n || n === 0n ? r : m / n;
      });
      classes.forEach((c, k) => {
        monthSums[k] = (monthSums[k] ?? 0n) + (splits[c.cohort]?.recipient ?? 0n) + (perProviderReward[c.cohort] ?? 0n);
      });
      if (endsMonth(epoch, model.epochLengthSeconds)) {
        classes.forEach((c, k) => {
          const v = monthSums[k] ?? 0n;
          const list = months[k];
          list?.push({ month: list.length, providers: counts[c.cohort] ?? 0, p10: v, p50: v, p90: v, mean: v, zeroShare: v === 0n ? 1 : 0 });
          monthSums[k] = 0n;
        });
      }
      return { minted, clamped };
    },

    payouts() {
      return {
        mode: "cohort",
        monthSeconds: MONTH_SECONDS,
        classes: classes.map((c, k) => {
          const cohort = model.providers.cohorts[c.cohort];
          return { sizes: c.sizes, cohort: cohort?.name ?? "", weight: cohort?.weight ?? 1, months: months[k] ?? [] };
        }),
      };
    },
  };
}
