// Times the tokenomics simulator on the scale goal: ten years of daily epochs (3,650) with 100,000
// providers. Prints figures; asserts nothing (speed belongs here, not in tests).
//   npx node bench/sim.ts
import { createPrng } from "../src/tokenomics/createPrng.ts";
import { loadModel } from "../src/tokenomics/parseModel.ts";
import type { Model } from "../src/tokenomics/modelSchema.ts";
import { simulate } from "../src/tokenomics/simulate.ts";
import { reportResult } from "./lib/benchResult.ts";

const model = await loadModel(new URL("../models/bandmint.yaml", import.meta.url).pathname);

function time(label: string, m: Model, runs = 3): number {
  const times: number[] = [];
  let providers = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = simulate(m);
    times.push(performance.now() - t0);
    providers = r.summary.finalProviders;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  console.log(`${label.padEnd(58)} median ${median.toFixed(0).padStart(6)} ms  (min ${(times[0] ?? NaN).toFixed(0)}, runs ${runs}, providers at end ${providers})`);
  return median;
}

const providers = model.providers.cohorts.reduce((n, c) => n + c.count, 0);
console.log(`bandmint sim bench: ${model.epochs} epochs, node ${process.version}`);
const cohortMs = time(`cohorts: ${providers.toLocaleString("en")} providers in ${model.providers.cohorts.length} cohorts`, model);

// Per-provider variant: every provider its own cohort (count 1) with a heavy-tailed weight, so
// every fee split and reward is computed per provider in bigint. O(epochs x providers).
function individual(n: number): Model {
  const prng = createPrng(7);
  const cohorts = Array.from({ length: n }, (_, i) => ({
    name: `p${i}`,
    count: 1,
    weight: Math.max(1, Math.round(1 / (1 - prng.next()) ** (1 / 1.5))), // Pareto, alpha 1.5
    stake: 0n,
  }));
  return { ...model, providers: { ...model.providers, annualGrowth: 0, annualChurn: 0, cohorts } };
}
let extrapolatedMs = NaN;
for (const n of [200, 1_000]) {
  const ms = time(`per provider: ${n.toLocaleString("en")} individual providers`, individual(n), 1);
  console.log(`${"".padEnd(58)} -> ${((ms / n) * 1000).toFixed(1)} us per provider per run; 100,000 would take ~${((ms / n) * 100_000 / 1000).toFixed(0)} s`);
  extrapolatedMs = (ms / n) * 100_000;
}
// Headline figure for `npm run bench` (issue 13: 100,000 individual providers x 3,650 epochs in <= 10 s).
reportResult({
  name: `sim 100,000 individual providers x ${model.epochs.toLocaleString("en")} epochs`, ours: extrapolatedMs / 1000, reference: cohortMs / 1000,
  vs: `${providers.toLocaleString("en")} in cohorts`, unit: "s", goal: "<= 10 s", lowerIsBetter: true, note: "extrapolated from 1,000",
});
