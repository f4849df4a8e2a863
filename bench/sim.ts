// Times the tokenomics simulator on the scale goal: ten years of daily epochs (3,650) with 100,000
// providers, grouped in cohorts and simulated one by one. Prints figures; asserts nothing (speed
// belongs here, not in tests).
//   npx node bench/sim.ts [--runs 3]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createPrng } from "../src/tokenomics/createPrng.ts";
import { loadModel } from "../src/tokenomics/parseModel.ts";
import type { Model } from "../src/tokenomics/modelSchema.ts";
import { simulate, type SimResult } from "../src/tokenomics/simulate.ts";
import { reportResult } from "./lib/benchResult.ts";

// How many times the 100,000-provider individual run repeats (its median is the figure).
const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const model = await loadModel(new URL("../models/bandmint.yaml", import.meta.url).pathname);

type Timing = { median: number; min: number; cpu: number; result: SimResult };

/** Runs `m` `runs` times; wall-clock median and min, and the CPU time of the median run (user + system). */
function time(label: string, m: Model, runs: number, extra: (t: Timing) => string = () => ""): Timing {
  const samples: { ms: number; cpu: number; result: SimResult }[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const result = simulate(m);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    samples.push({ ms, cpu: (c.user + c.system) / 1000, result });
  }
  samples.sort((a, b) => a.ms - b.ms);
  const mid = samples[Math.floor(samples.length / 2)];
  if (mid === undefined) throw new Error("no runs");
  const t = { median: mid.ms, min: samples[0]?.ms ?? NaN, cpu: mid.cpu, result: mid.result };
  console.log(
    `${label.padEnd(50)} median ${t.median.toFixed(0).padStart(6)} ms  (min ${t.min.toFixed(0)}, cpu ${t.cpu.toFixed(0)} ms, runs ${runs}, providers at end ${t.result.summary.finalProviders.toLocaleString("en")})${extra(t)}`,
  );
  return t;
}

const providers = model.providers.cohorts.reduce((n, c) => n + c.count, 0);
const load = loadavg().map((l) => l.toFixed(2)).join(" ");
console.log(`bandmint sim bench: ${model.epochs} epochs, node ${process.version}, load average ${load} (2 cores: above ~1 the figures are shared-machine figures)`);

const cohort = time(`cohorts: ${providers.toLocaleString("en")} providers in ${model.providers.cohorts.length} cohorts`, model, 3);

// Every provider on its own (providers.mode: individual): winning tickets drawn per provider and
// epoch, money per provider exact in wei, p10/p50/p90 of monthly earnings per class.
const individual = time(`per provider: ${providers.toLocaleString("en")} individual providers`, { ...model, providers: { ...model.providers, mode: "individual" } }, Number(values.runs), (t) => {
  const providerEpochs = t.result.rows.reduce((n, r) => n + r.providers, 0);
  return `\n${"".padEnd(50)} -> ${((t.median * 1e6) / providerEpochs).toFixed(1)} ns per provider-epoch (${(providerEpochs / 1e6).toFixed(0)}M provider-epochs), ${(t.median / cohort.median).toFixed(0)}x the cohort run; goal <= 10,000 ms`;
});
for (const c of individual.result.summary.payouts.classes) {
  const last = c.months.at(-1);
  const tokens = (v: bigint | undefined) => (Number(v ?? 0n) / 1e18).toFixed(2);
  console.log(`${"".padEnd(50)}    ${c.sizes.join("/")} (${c.cohort}) month ${c.months.length}: p10 ${tokens(last?.p10)}  p50 ${tokens(last?.p50)}  p90 ${tokens(last?.p90)} tokens`);
}

// The reference, in the same run: per-provider simulation as it was before individual mode, one
// cohort per provider (exact bigint per provider and epoch, Pareto weights), extrapolated to 100,000.
function onePerCohort(n: number): Model {
  const prng = createPrng(7);
  const cohorts = Array.from({ length: n }, (_, i) => ({
    name: `p${i}`,
    count: 1,
    weight: Math.max(1, Math.round(1 / (1 - prng.next()) ** (1 / 1.5))), // Pareto, alpha 1.5
    stake: 0n,
  }));
  return { ...model, providers: { ...model.providers, annualGrowth: 0, annualChurn: 0, cohorts } };
}
const n = 200;
const reference = time(`reference: ${n} providers as one cohort each`, onePerCohort(n), 1);
const extrapolated = (reference.median / n) * 100_000;
console.log(`${"".padEnd(50)} -> ~${(extrapolated / 1000).toFixed(0)} s for 100,000 that way; individual mode is ${(extrapolated / individual.median).toFixed(0)}x faster`);
// Headline figure for `npm run bench` (issue 13: 100,000 individual providers x 3,650 epochs in <= 10 s).
reportResult({
  name: `sim ${providers.toLocaleString("en")} individual providers x ${model.epochs.toLocaleString("en")} epochs`, ours: individual.median / 1000, reference: extrapolated / 1000,
  vs: "one cohort each, extrapolated", unit: "s", goal: "<= 10 s", lowerIsBetter: true,
});
