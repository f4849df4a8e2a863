import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ticketParams } from "../protocol/ticketParams.ts";
import { IndividualModeLimitError } from "./createIndividualLedger.ts";
import type { Model } from "./modelSchema.ts";
import { endsMonth } from "./monthlyPayouts.ts";
import { parseModelText } from "./parseModel.ts";
import { providerReward, splitFee } from "./rewardMath.ts";
import { toJsonValue } from "./serializeRun.ts";
import { simulate, type EpochRow, type SimResult } from "./simulate.ts";

const WEI = 10n ** 18n;

const preset = (name: string, epochs: number, mode: Model["providers"]["mode"] = "individual"): Model => {
  const file = new URL(`../../models/${name}.yaml`, import.meta.url).pathname;
  const model = parseModelText(readFileSync(file, "utf8"), file);
  return { ...model, epochs, providers: { ...model.providers, mode } };
};

const inMode = (model: Model, mode: Model["providers"]["mode"]): Model => ({ ...model, providers: { ...model.providers, mode } });

/** Winning tickets behind an individual-mode row: what was paid over the face value of that epoch's tickets. */
function winsOf(model: Model, row: EpochRow): number {
  const nano = BigInt(Math.max(1, Math.round(row.tokenPrice * 1e9)));
  const face = model.tickets.unit === "token" ? model.tickets.faceValue : (model.tickets.faceValue * WEI) / nano;
  const { faceValue } = ticketParams({ pricePerGiB: row.priceWeiPerGiB, bytesPerTicket: BigInt(model.tickets.bytesPerTicket), faceValue: face });
  return Number(row.paid / faceValue);
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

test("cohort and individual runs of one model agree: same world and emission, burn and mint within the lottery's sampling error, mean payouts equal the cohort payout", () => {
  for (const [name, scale] of [["bandmint", 1], ["helium-like", 1], ["self-reported", 10], ["livepeer-like", 10]] as const) {
    // The paid bases at full scale (100,000 providers); the others at a tenth, to keep the test quick.
    const full = preset(name, 365);
    const model: Model = { ...full, providers: { ...full.providers, cohorts: full.providers.cohorts.map((c) => ({ ...c, count: Math.ceil(c.count / scale) })) } };
    const cohort = simulate(inMode(model, "cohort"));
    const individual = simulate(model);
    assert.equal(individual.summary.mode, "individual");
    let varianceTotal = 0;
    for (let t = 0; t < model.epochs; t++) {
      const c = cohort.rows[t];
      const i = individual.rows[t];
      assert.ok(c !== undefined && i !== undefined);
      // The honest world is drawn from the same stream in the same order (common random numbers).
      assert.equal(i.providers, c.providers, `${name} epoch ${t}`);
      assert.equal(i.demandGiB, c.demandGiB, `${name} epoch ${t}`);
      if (model.rewards.basis !== "inflation") assert.equal(i.emission, c.emission, `${name} epoch ${t}`);
      // The price only feels the supply, which differs by the lottery's noise on the burn.
      assert.ok(Math.abs(i.tokenPrice / c.tokenPrice - 1) < 1e-4, `${name} epoch ${t}: price ${i.tokenPrice} vs ${c.tokenPrice}`);
      // Burn: the count of winning tickets W is a sum of binomials, sd <= sqrt(W) tickets.
      const wins = winsOf(model, i);
      const sd = wins === 0 ? 0 : Number(i.burned) / Math.sqrt(wins);
      varianceTotal += sd * sd;
      assert.ok(Math.abs(Number(i.burned - c.burned)) <= 6 * sd + 1e-4 * Number(c.burned), `${name} epoch ${t}: burned ${i.burned} vs ${c.burned} (sd ${sd})`);
      // Mint: k x burned where the k cap binds in both, the same emission (to floor dust) where it binds in neither.
      const dust = BigInt(i.providers + 1);
      if (i.kCapBinds && c.kCapBinds && model.rewards.basis === "paid") {
        assert.ok(abs(i.minted - c.minted) <= abs(i.burned - c.burned) + dust, `${name} epoch ${t}: minted ${i.minted} vs ${c.minted}`);
      } else if (!i.kCapBinds && !c.kCapBinds && model.rewards.basis !== "inflation") {
        assert.ok(abs(i.minted - c.minted) <= dust, `${name} epoch ${t}: minted ${i.minted} vs ${c.minted}`);
      }
    }
    const burnSd = Math.sqrt(varianceTotal);
    const ci = cohort.summary;
    const ii = individual.summary;
    assert.ok(Math.abs(Number(ii.totalBurned - ci.totalBurned)) <= 5 * burnSd + 1e-4 * Number(ci.totalBurned), `${name}: total burned`);
    assert.ok(Math.abs(Number(ii.finalSupply - ci.finalSupply)) <= 10 * burnSd + 1e-6 * Number(ci.finalSupply), `${name}: final supply ${ii.finalSupply} vs ${ci.finalSupply}`);

    // Per class and month: the mean of individual payouts is the cohort's payout within 5 standard
    // errors (sd estimated from p10..p90, 2.563 sd for a normal), plus 1e-4 for the price feedback.
    assert.equal(ii.payouts.mode, "individual");
    assert.equal(ci.payouts.mode, "cohort");
    assert.deepEqual(
      ii.payouts.classes.map((k) => [k.cohort, k.sizes]),
      ci.payouts.classes.map((k) => [k.cohort, k.sizes]),
    );
    ii.payouts.classes.forEach((k, j) => {
      const months = ci.payouts.classes[j]?.months ?? [];
      assert.equal(k.months.length, 12, `${name} ${k.cohort}`);
      k.months.forEach((m, month) => {
        const expected = months[month]?.mean ?? 0n;
        assert.ok(m.p10 <= m.p50 && m.p50 <= m.p90, `${name} ${k.cohort} month ${month}`);
        assert.ok(m.providers > 0 && m.providers <= (months[month]?.providers ?? 0), `${name} ${k.cohort} month ${month}: ${m.providers} providers`);
        const se = Number(m.p90 - m.p10) / 2.563 / Math.sqrt(m.providers);
        assert.ok(
          Math.abs(Number(m.mean - expected)) <= 5 * se + 1e-4 * Number(expected),
          `${name} ${k.cohort} month ${month}: mean ${m.mean} vs cohort ${expected} (se ${se})`,
        );
      });
    });
    // The bound holds per realization: the attacker's best epoch never pays (paid basis).
    if (model.rewards.basis === "paid") assert.ok((ii.attacker.worstEpochReturn ?? 0) < 0);
  }
});

test("individual mode is deterministic by seed, and the seed moves each provider's lottery", () => {
  const model = { ...preset("bandmint", 62), providers: { ...preset("bandmint", 62).providers, cohorts: [{ name: "home", count: 5000, weight: 1, stake: 0n }, { name: "pro", count: 300, weight: 10, stake: 0n }] } };
  const json = (r: SimResult) => JSON.stringify(toJsonValue(r));
  assert.equal(json(simulate(model)), json(simulate(model)));
  const a = simulate(model).summary.payouts.classes[0]?.months[0];
  const b = simulate({ ...model, seed: model.seed + 1 }).summary.payouts.classes[0]?.months[0];
  assert.ok(a !== undefined && b !== undefined);
  assert.notDeepEqual([a.p10, a.p50, a.p90, a.mean], [b.p10, b.p50, b.p90, b.mean]);
});

/**
 * Every ticket wins (the face value is raised to the ticket's value) and every provider sends a
 * whole number of tickets: no randomness left, so each provider's earnings are known to the wei.
 */
function certainModel(): Model {
  const base = preset("bandmint", 61);
  return {
    ...base,
    // 61 daily epochs: months 0 (epochs 0-30) and 1 (31-60), both complete.
    emission: { initial: WEI + 12_345n, decayPeriodEpochs: 365, decayBps: 10_000 },
    demand: { initialGiBPerEpoch: 91, annualGrowth: 0, noise: 0 },
    pricing: { unit: "token", perGiB: 5n * 10n ** 17n },
    tickets: { unit: "token", faceValue: 1n, bytesPerTicket: 2 ** 30 },
    tokenPrice: { kind: "series", values: [0.05], stepEpochs: 1 },
    providers: {
      mode: "individual",
      annualGrowth: 0,
      annualChurn: 0,
      cohorts: [
        { name: "small", count: 3, weight: 1, stake: 0n },
        { name: "large", count: 2, weight: 5, stake: 0n },
      ],
    },
    attackers: { ...base.attackers, selfDealing: 0 },
  };
}

test("with every ticket winning, each provider's monthly earnings are exact to the wei, with or without carries into bigint, and equal cohort mode's", () => {
  const model = certainModel();
  const ticket = 5n * 10n ** 17n;
  const split = splitFee(ticket, BigInt(model.fees.burnBps), BigInt(model.fees.treasuryBps));
  const tickets = { small: 7n, large: 35n }; // 91 GiB over weights 3 x 1 + 2 x 5, one GiB per ticket
  const totalTickets = 3n * tickets.small + 2n * tickets.large;
  const budget = model.emission.initial; // below k x burned: the emission binds
  const expected = { small: [0n, 0n], large: [0n, 0n] };
  for (let e = 0, month = 0; e < model.epochs; e++) {
    for (const k of ["small", "large"] as const) {
      expected[k][month] = (expected[k][month] ?? 0n) + tickets[k] * split.recipient + providerReward(budget, tickets[k] * split.burn, totalTickets * split.burn);
    }
    if (endsMonth(e, model.epochLengthSeconds)) month++;
  }
  const runs = [simulate(model), simulate(model, { individual: { exactLimit: 2 ** 38 } }), simulate(inMode(model, "cohort"))];
  for (const run of runs) {
    const [small, large] = run.summary.payouts.classes;
    assert.deepEqual(small?.sizes, ["small", "median"]);
    assert.deepEqual(large?.sizes, ["large"]);
    for (const [k, cls] of [["small", small], ["large", large]] as const) {
      assert.equal(cls?.months.length, 2);
      cls?.months.forEach((m, month) => {
        const want = expected[k][month];
        assert.deepEqual([m.p10, m.p50, m.p90, m.mean], [want, want, want, want], `${run.summary.mode} ${k} month ${month}`);
        assert.equal(m.zeroShare, 0);
      });
    }
    assert.equal(run.rows[0]?.burned, totalTickets * split.burn);
  }
  // The per-epoch totals agree exactly too: there is nothing to sample.
  assert.equal(JSON.stringify(toJsonValue(runs[0]?.rows)), JSON.stringify(toJsonValue(runs[2]?.rows)));
  // A limit below one epoch's increment is refused, not rounded.
  assert.throws(() => simulate(model, { individual: { exactLimit: 2 ** 30 } }), IndividualModeLimitError);
});

test("individual mode keeps supply under the cap when the cap cuts rewards", () => {
  const model = preset("bandmint", 120);
  const squeezed: Model = {
    ...model,
    providers: { ...model.providers, cohorts: model.providers.cohorts.map((c) => ({ ...c, count: Math.ceil(c.count / 20) })) },
    token: { cap: model.token.cap, genesisSupply: (model.token.cap * 99n) / 100n },
    emission: { ...model.emission, initial: model.token.cap / 50n },
    rewards: { ...model.rewards, kBps: "none" },
  };
  const { rows, summary } = simulate(squeezed);
  for (const r of rows) assert.ok(r.supply <= model.token.cap, `epoch ${r.epoch}`);
  assert.notEqual(summary.firstSupplyCapBindEpoch, null);
  // Pro-rata shares of the room left: at most a wei per provider short of the cap.
  assert.ok(model.token.cap - summary.maxSupply <= BigInt(summary.finalProviders + 1), `${model.token.cap - summary.maxSupply} wei short`);
});

test("an attacker too big for a table is drawn from the normal approximation, and still loses", () => {
  const model = preset("bandmint", 20);
  const { summary } = simulate({ ...model, attackers: { ...model.attackers, selfDealing: 100 } });
  assert.ok(summary.attacker.worstEpochReturn !== null && summary.attacker.worstEpochReturn < 0);
});

test("a provider with more winning tickets than the tables hold is a typed error naming the cohort", () => {
  const model = preset("bandmint", 3);
  const huge: Model = { ...model, demand: { ...model.demand, initialGiBPerEpoch: 5e7 }, providers: { ...model.providers, cohorts: [{ name: "hyperscaler", count: 1, weight: 1, stake: 0n }] } };
  assert.throws(() => simulate(huge), (e: unknown) => e instanceof IndividualModeLimitError && /cohort hyperscaler/.test(e.shortMessage) && /providers\.mode: cohort/.test(e.shortMessage));
});
