// The benchmark table's logic (bench/run.ts): BENCH_RESULT lines, goals, medians over repeats and
// the rendered table. The benches themselves are timed by `npm run bench`, never here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBenchResults, reportResult, type BenchResult } from "../../bench/lib/benchResult.ts";
import { BenchGoalError, meetsGoal, parseGoal } from "../../bench/lib/benchGoal.ts";
import { formatFigure, formatMarkdownTable, formatTextTable } from "../../bench/lib/benchTable.ts";
import { summarizeRuns } from "../../bench/lib/summarizeRuns.ts";

const printed = (r: BenchResult): string => {
  let line = "";
  reportResult(r, (l) => (line = l));
  return line;
};

test("reportResult lines come back from a script's output; other lines are ignored", () => {
  const a: BenchResult = { name: "paid 1 MiB (wrk)", ours: 381.5, reference: 920, vs: "nginx (wrk)", unit: "MB/s", goal: ">= 0.8x", ratio: 0.41 };
  const b: BenchResult = { name: "gas per ticket", ours: 9_873, reference: 33_000, unit: "gas", goal: "<= 10000", lowerIsBetter: true };
  const output = ["load average before: 8.7", printed(a), "obj1m.bin nginx (wrk) 920", printed(b), ""].join("\n");
  const { results, errors } = parseBenchResults(output);
  assert.deepEqual(errors, []);
  assert.deepEqual(results, [a, b]);
});

test("a figure that is not a number is reported as an error, not as a figure", () => {
  // NaN reference (no baseline in this run) becomes null and is fine; NaN ours is a broken figure.
  const ok = parseBenchResults(printed({ name: "x", ours: 1, reference: Number.NaN, unit: "MB/s" }));
  assert.deepEqual(ok.results, [{ name: "x", ours: 1, reference: null, unit: "MB/s" }]);
  const bad = parseBenchResults([printed({ name: "y", ours: Number.NaN, unit: "MB/s" }), "BENCH_RESULT {not json", 'BENCH_RESULT {"name":"z","ours":"12","unit":"s"}'].join("\n"));
  assert.deepEqual(bad.results, []);
  assert.equal(bad.errors.length, 3);
  assert.match(bad.errors[0]!, /ours/);
  assert.match(bad.errors[1]!, /not JSON/);
  assert.match(bad.errors[2]!, /ours/);
});

test("goals: on the ratio with x, on the figure in its unit otherwise, bands, bare numbers by direction", () => {
  assert.deepEqual(parseGoal(">= 0.8x"), { on: "ratio", op: ">=", value: 0.8 });
  assert.deepEqual(parseGoal("<= 10000"), { on: "ours", op: "<=", value: 10_000 });
  assert.deepEqual(parseGoal("<= 10,000 gas"), { on: "ours", op: "<=", value: 10_000, unit: "gas" });
  assert.deepEqual(parseGoal("<= 10 s"), { on: "ours", op: "<=", value: 10, unit: "s" });
  assert.deepEqual(parseGoal("0.9..1.1x"), { on: "ratio", op: "range", min: 0.9, max: 1.1 });
  assert.deepEqual(parseGoal("≥ 0.6x"), { on: "ratio", op: ">=", value: 0.6 });
  assert.deepEqual(parseGoal("64", true), { on: "ours", op: "<=", value: 64 });
  assert.deepEqual(parseGoal("64"), { on: "ours", op: ">=", value: 64 });
  for (const bad of ["fast", ">= x", "1.1..0.9x", ""]) assert.throws(() => parseGoal(bad), BenchGoalError, bad);
});

test("meetsGoal compares the ratio or the figure, boundaries included, and says when it cannot tell", () => {
  const fig = (ours: number, ratio: number | null, goal?: string, unit = "MB/s") => meetsGoal({ ours, ratio, unit, goal });
  assert.deepEqual(fig(100, 0.8, ">= 0.8x"), { met: true });
  assert.deepEqual(fig(100, 0.79, ">= 0.8x"), { met: false });
  assert.deepEqual(fig(10_000, 0.3, "<= 10000", "gas"), { met: true });
  assert.deepEqual(fig(10_001, 0.3, "<= 10000", "gas"), { met: false });
  assert.deepEqual(fig(9.9, 50, "<= 10 s", "s"), { met: true });
  assert.deepEqual(fig(248, 4000, "<= 10 s", "s"), { met: false });
  assert.deepEqual(fig(17.7, 1.11, "0.9..1.1x"), { met: false });
  assert.deepEqual(fig(16.5, 1.03, "0.9..1.1x"), { met: true });
  assert.deepEqual(fig(1, 1), { met: undefined });
  assert.equal(fig(9_000, 0.5, "<= 10 s", "ms").met, undefined);
  assert.match(fig(9_000, 0.5, "<= 10 s", "ms").problem!, /in s, the figure in ms/);
  assert.match(fig(100, null, ">= 0.8x").problem!, /no reference/);
  assert.match(fig(100, 1, "quick").problem!, /Cannot read the goal "quick"/);
});

test("repeats fold into medians of ours, of the reference and of the per-run ratios", () => {
  const r = (ours: number, reference: number | null, extra: Partial<BenchResult> = {}): BenchResult => ({ name: "relay alone", ours, reference, unit: "MB/s", goal: ">= 0.8x", ...extra });
  const rows = summarizeRuns([
    { bench: "relay", repeat: 1, results: [r(10, 10), { name: "ttfb", ours: 5, reference: 2, unit: "ms", lowerIsBetter: true }] },
    { bench: "relay", repeat: 2, results: [r(20, 10)] },
    { bench: "relay", repeat: 3, results: [r(30, 60)] },
    // The same name in another bench is another figure.
    { bench: "paid", repeat: 1, results: [r(1, 2, { ratio: 0.9 })] },
  ]);
  assert.deepEqual(rows.map((x) => [x.bench, x.name]), [["relay", "relay alone"], ["relay", "ttfb"], ["paid", "relay alone"]]);
  const [relay, ttfb, paid] = rows;
  // Per-run ratios 1, 2, 0.5: their median is 1, not median(ours) / median(reference) = 2.
  assert.equal(relay!.ours, 20);
  assert.equal(relay!.reference, 10);
  assert.equal(relay!.ratio, 1);
  assert.equal(relay!.met, true);
  assert.deepEqual(relay!.runs.map((s) => s.ratio), [1, 2, 0.5]);
  assert.equal(ttfb!.ratio, 2.5);
  assert.equal(ttfb!.met, undefined);
  // A script's own ratio (its median of per-round ratios) wins over ours / reference.
  assert.equal(paid!.ratio, 0.9);
  assert.equal(paid!.met, true);
  // Without a reference in any run there is no ratio, and a ratio goal cannot be told.
  const [alone] = summarizeRuns([{ bench: "b", repeat: 1, results: [r(5, null), r(7, null)] }]);
  assert.equal(alone!.ours, 6);
  assert.equal(alone!.ratio, null);
  assert.equal(alone!.met, undefined);
});

test("the table has a row per figure and a FAILED row per failed bench, aligned, and markdown keeps the stderr", () => {
  const rows = summarizeRuns([{ bench: "gas", repeat: 1, results: [{ name: "gas per ticket", ours: 9_873, reference: 33_000, vs: "quoted", unit: "gas", goal: "<= 10000", lowerIsBetter: true }] }]);
  const failures = [{ bench: "relay", repeat: 2, exitCode: 1, signal: null, reason: "the script failed", stderrTail: "Error: relay run counted 5 bytes | fewer" }];
  const text = formatTextTable(rows, failures).split("\n");
  assert.equal(text.length, 4);
  assert.match(text[2]!, /^gas\s+gas per ticket\s+9,873 gas\s+33,000 gas quoted\s+0\.30x\s+<= 10000\s+yes$/);
  assert.match(text[3]!, /^relay\s+FAILED: the script failed \(exit 1; run 2\)\s+FAILED$/);
  // Columns line up: the ratio column ends at the same place in the header and the figure row.
  assert.equal(text[0]!.indexOf("ratio") + "ratio".length, text[2]!.indexOf("0.30x") + "0.30x".length);
  const md = formatMarkdownTable(rows, failures);
  assert.match(md, /^\| bench \| figure \| ours \| reference \| ratio \| goal \| met \| runs \(ours\) \|$/m);
  assert.match(md, /\| relay \| FAILED: the script failed \(exit 1; run 2\) \|/);
  assert.ok(md.includes("counted 5 bytes | fewer"), "the stderr tail is kept verbatim in a code block");
  assert.deepEqual([formatFigure(9873.4), formatFigure(381.46), formatFigure(80.84), formatFigure(0.3012), formatFigure(null)], ["9,873", "381", "80.8", "0.30", "—"]);
});
