// Folds the figures of repeated bench runs into one row per figure: the medians of ours, of the
// reference and of the per-run ratios (so a busy moment hits both sides of a ratio), and the goal.
import type { BenchResult } from "./benchResult.ts";
import { meetsGoal } from "./benchGoal.ts";
import { median } from "./processStats.ts";

/** The figures one run of one bench script printed. */
export type BenchRun = { bench: string; repeat: number; results: BenchResult[] };

/** One figure over all its runs. */
export type SummaryRow = {
  bench: string;
  name: string;
  unit: string;
  vs?: string;
  goal?: string;
  lowerIsBetter?: boolean;
  note?: string;
  /** Medians over the runs (ratio: of the per-run ratios); null where no run had one. */
  ours: number;
  reference: number | null;
  ratio: number | null;
  /** Whether the medians meet the goal; undefined when there is no goal or it cannot be told (`problem` says why). */
  met: boolean | undefined;
  problem?: string;
  runs: { repeat: number; ours: number; reference: number | null; ratio: number | null }[];
};

/** The ratio of one run: the script's own when it gave one, else ours / reference. */
export function runRatio(r: BenchResult): number | null {
  if (r.ratio !== undefined && r.ratio !== null) return r.ratio;
  if (r.reference === undefined || r.reference === null || r.reference === 0) return null;
  return r.ours / r.reference;
}

const medianOrNull = (xs: (number | null)[]): number | null => {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : median(present);
};

/** One row per (bench, figure name), in the order the figures first appeared. */
export function summarizeRuns(runs: BenchRun[]): SummaryRow[] {
  const groups = new Map<string, { bench: string; last: BenchResult; runs: SummaryRow["runs"] }>();
  for (const run of runs) {
    for (const r of run.results) {
      const key = `${run.bench}\u0000${r.name}`;
      const group = groups.get(key) ?? { bench: run.bench, last: r, runs: [] };
      group.last = r;
      group.runs.push({ repeat: run.repeat, ours: r.ours, reference: r.reference ?? null, ratio: runRatio(r) });
      groups.set(key, group);
    }
  }
  return [...groups.values()].map(({ bench, last, runs: samples }) => {
    const ours = median(samples.map((s) => s.ours));
    const ratio = medianOrNull(samples.map((s) => s.ratio));
    const { met, problem } = meetsGoal({ ours, ratio, unit: last.unit, goal: last.goal, lowerIsBetter: last.lowerIsBetter });
    return {
      bench, name: last.name, unit: last.unit, vs: last.vs, goal: last.goal, lowerIsBetter: last.lowerIsBetter, note: last.note,
      ours, reference: medianOrNull(samples.map((s) => s.reference)), ratio, met, problem,
      runs: samples,
    };
  });
}
