import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { Model } from "./modelSchema.ts";
import { parseModelText } from "./parseModel.ts";
import { BPS, emissionAt, epochBudget, providerReward, splitFee } from "./rewardMath.ts";
import { toJsonValue } from "./serializeRun.ts";
import { rewardScheduleOf, simulate } from "./simulate.ts";

const preset = (name: string, epochs = 730): Model => {
  const file = new URL(`../../models/${name}.yaml`, import.meta.url).pathname;
  return { ...parseModelText(readFileSync(file, "utf8"), file), epochs };
};

test("same model and seed give identical runs; another seed changes the random parts", () => {
  const model = preset("bandmint", 400);
  const a = JSON.stringify(toJsonValue(simulate(model)));
  const b = JSON.stringify(toJsonValue(simulate(model)));
  assert.equal(a, b);
  const other = simulate({ ...model, seed: model.seed + 1 }).rows;
  const first = simulate(model).rows;
  assert.notDeepEqual(other.map((r) => r.demandGiB), first.map((r) => r.demandGiB));
  assert.notDeepEqual(other.map((r) => r.tokenPrice), first.map((r) => r.tokenPrice));
  // With no noise, no churn, no growth and a fixed price there is no randomness: seeds agree.
  const calm: Model = {
    ...model,
    demand: { ...model.demand, noise: 0 },
    providers: { ...model.providers, annualGrowth: 0, annualChurn: 0 },
    tokenPrice: { kind: "series", values: [0.05], stepEpochs: 1 },
  };
  assert.equal(JSON.stringify(toJsonValue(simulate({ ...calm, seed: 1 }).rows)), JSON.stringify(toJsonValue(simulate({ ...calm, seed: 2 }).rows)));
});

test("money columns are bigint and supply = genesis + minted - burned", () => {
  const model = preset("bandmint", 365);
  const { rows, summary } = simulate(model);
  for (const key of ["paid", "burned", "minted", "supply", "treasury", "locked", "feesPerGiB", "rewardsPerGiB", "attackerCost", "attackerReward", "revenuePerGiBFiatMicro"] as const) {
    assert.equal(typeof rows[10]?.[key], "bigint", key);
  }
  assert.equal(summary.finalSupply, model.token.genesisSupply + summary.totalMinted - summary.totalBurned);
  assert.equal(rows.at(-1)?.treasury, rows.reduce((s, r) => s + r.treasuryIn, 0n));
});

test("a one-provider cohort gets exactly the contracts' reward (rewardMath) for its epoch", () => {
  const base = preset("bandmint", 3);
  const model: Model = {
    ...base,
    demand: { initialGiBPerEpoch: 1000, annualGrowth: 0, noise: 0 },
    providers: { mode: "cohort", annualGrowth: 0, annualChurn: 0, cohorts: [{ name: "solo", count: 1, weight: 1, stake: 0n }] },
    tokenPrice: { kind: "series", values: [0.05], stepEpochs: 1 },
    attackers: { ...base.attackers, selfDealing: 0 },
  };
  const row = simulate(model).rows[2];
  assert.ok(row !== undefined);
  const paid = 1000n * row.priceWeiPerGiB;
  const split = splitFee(paid, 2000n, 500n);
  const schedule = rewardScheduleOf(model);
  const expected = providerReward(epochBudget(schedule, 2n, split.burn), split.burn, split.burn);
  assert.equal(row.paid, paid);
  assert.equal(row.burned, split.burn);
  assert.equal(row.emission, emissionAt(schedule, 2n));
  assert.equal(row.minted, expected);
  assert.equal(row.rewardsPerGiB, expected / 1000n);
});

test("bandmint: self-dealing loses in every epoch and at every size; the reward stays under k x burned", () => {
  for (const selfDealing of [0.1, 1, 10]) {
    const model = preset("bandmint", 730);
    const { rows, summary } = simulate({ ...model, attackers: { ...model.attackers, selfDealing } });
    for (const r of rows) {
      assert.ok(r.attackerReturn !== null && r.attackerReturn < 0, `epoch ${r.epoch}: return ${r.attackerReturn}`);
      // The bound itself, in integers: reward <= k x (burn share of what the attacker paid).
      assert.ok(r.attackerReward * BPS * BPS <= 8000n * 2000n * r.attackerPaid, `epoch ${r.epoch}`);
    }
    assert.ok(summary.attacker.return !== null && summary.attacker.return < 0);
  }
});

test("removing the k cap lets self-dealing pay in some epoch (what the bound prevents)", () => {
  const model = preset("bandmint", 730);
  const { summary } = simulate({ ...model, rewards: { ...model.rewards, kBps: "none" } });
  assert.ok((summary.attacker.worstEpochReturn ?? -1) > 0, `best epoch ${summary.attacker.worstEpochReturn}`);
});

test("self-reported: self-dealing pays", () => {
  const { summary } = simulate(preset("self-reported", 730));
  assert.ok(summary.attacker.return !== null && summary.attacker.return > 0, `return ${summary.attacker.return}`);
});

test("supply never exceeds the cap, even when the emission would push it past", () => {
  for (const name of ["bandmint", "self-reported", "helium-like", "livepeer-like"]) {
    const model = preset(name, 730);
    // Emission of 2% of the cap per epoch from a supply at 99% of the cap, k uncapped, and no
    // burn, except a 1% burn under the paid basis: it shares rewards by burned value, so with no
    // burn at all nobody would have a share and nothing would be minted.
    const squeezed: Model = {
      ...model,
      token: { cap: model.token.cap, genesisSupply: (model.token.cap * 99n) / 100n },
      emission: { ...model.emission, initial: model.token.cap / 50n },
      rewards: { ...model.rewards, kBps: "none", inflationBps: 50_000 },
      fees: { burnBps: model.rewards.basis === "paid" ? 100 : 0, treasuryBps: 0 },
    };
    const { rows, summary } = simulate(squeezed);
    for (const r of rows) assert.ok(r.supply <= model.token.cap, `${name} epoch ${r.epoch}`);
    assert.equal(summary.maxSupply, model.token.cap, name);
    assert.notEqual(summary.firstSupplyCapBindEpoch, null, name);
  }
});

test("a Sybil split of the attacker gains nothing under the paid basis, and gains under burn-and-mint", () => {
  const model = preset("bandmint", 365);
  const one = simulate({ ...model, attackers: { ...model.attackers, selfDealing: 0.01, sybilIdentities: 1 } }).summary.attacker;
  const many = simulate({ ...model, attackers: { ...model.attackers, selfDealing: 0.01, sybilIdentities: 50 } }).summary.attacker;
  assert.ok(many.paid <= one.paid && one.paid - many.paid < 50n * 365n, "the same work, less floor dust per identity");
  assert.ok(many.reward <= one.reward, "splitting can only lose rounding dust");
  assert.ok(one.reward - many.reward < 50n * 365n, "and no more than a wei per identity per epoch");
  const helium = preset("helium-like", 365);
  const hOne = simulate({ ...helium, attackers: { ...helium.attackers, selfDealing: 0.01, sybilIdentities: 1 } }).summary.attacker;
  const hMany = simulate({ ...helium, attackers: { ...helium.attackers, selfDealing: 0.01, sybilIdentities: 50 } }).summary.attacker;
  assert.ok(hMany.reward > hOne.reward, "availability per identity rewards splitting");
});

test("the abort signal stops a run", () => {
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => simulate(preset("bandmint", 365), { signal: controller.signal }), { name: "AbortError" });
});
