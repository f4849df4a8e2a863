// One headline figure of a bench script, in a form bench/run.ts collects into the benchmark table:
// a bench prints its figures for people as it likes, then one `BENCH_RESULT <json>` line per
// headline figure (ours, the reference measured in the same run, the goal).
import { z } from "zod";

/** The prefix of the line that carries one figure on a bench script's stdout. */
export const BENCH_RESULT_PREFIX = "BENCH_RESULT ";

const figure = z.number(); // zod 4 refuses NaN and Infinity

/** What `reportResult` prints and `parseBenchResults` reads back. */
export const benchResultSchema = z.object({
  /** Stable name of the figure, e.g. "paid 1 MiB vs nginx (wrk)": rows of repeats are matched by it. */
  name: z.string().min(1),
  /** Our figure. */
  ours: figure,
  /** The reference's figure in the same run (nginx, a direct connection, an anchor); null when there is none. */
  reference: figure.nullable().optional(),
  /** What the reference is ("nginx (wrk)", "direct", "Orchid, quoted"). */
  vs: z.string().optional(),
  /** Unit of `ours` and `reference` ("MB/s", "gas", "s", "MiB"). */
  unit: z.string(),
  /** The goal: ">= 0.8x" (on the ratio), "<= 10000" or "<= 10 s" (on ours, in `unit`), "0.9..1.1x". */
  goal: z.string().optional(),
  /** Smaller is better (gas, seconds, RSS); a bare-number goal then means "<=". */
  lowerIsBetter: z.boolean().optional(),
  /** ours / reference as the script measured it (e.g. the median of per-round ratios); default ours / reference. */
  ratio: figure.nullable().optional(),
  /** One short remark for the table ("extrapolated from 1,000 providers"). */
  note: z.string().optional(),
});

/** One headline figure of a bench run. */
export type BenchResult = z.infer<typeof benchResultSchema>;

/** Prints one figure as a `BENCH_RESULT <json>` line for bench/run.ts (NaN and Infinity become null). */
export function reportResult(result: BenchResult, write: (line: string) => void = (line) => console.log(line)): void {
  write(`${BENCH_RESULT_PREFIX}${JSON.stringify(result, (_key, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? null : value))}`);
}

/** The figures in a bench script's output, and a message for every BENCH_RESULT line that is not one. */
export function parseBenchResults(output: string): { results: BenchResult[]; errors: string[] } {
  const results: BenchResult[] = [];
  const errors: string[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith(BENCH_RESULT_PREFIX)) continue;
    const text = line.slice(BENCH_RESULT_PREFIX.length).trim();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      errors.push(`not JSON: ${text.slice(0, 120)}`);
      continue;
    }
    const parsed = benchResultSchema.safeParse(json);
    if (parsed.success) results.push(parsed.data);
    else errors.push(`${parsed.error.issues.map((i) => `${i.path.join(".") || "line"}: ${i.message}`).join("; ")} in ${text.slice(0, 120)}`);
  }
  return { results, errors };
}
