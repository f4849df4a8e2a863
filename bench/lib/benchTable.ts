// The benchmark table of bench/run.ts, as aligned text for the terminal and as markdown.
import type { SummaryRow } from "./summarizeRuns.ts";

/** A bench script run that did not give its figures: exit code or signal, and the end of its stderr. */
export type BenchFailure = { bench: string; repeat: number; exitCode: number | null; signal: string | null; reason: string; stderrTail: string };

/** A figure with as many digits as the noise deserves (+-30 % here): 3 significant, thousands grouped. */
export function formatFigure(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

const HEADER = ["bench", "figure", "ours", "reference", "ratio", "goal", "met", "runs (ours)"] as const;
const RIGHT = new Set([2, 3, 4]);

/** The cells of the table: one row per figure, then one per failed bench. */
function cells(rows: SummaryRow[], failures: BenchFailure[]): string[][] {
  const out = rows.map((r) => [
    r.bench,
    r.note === undefined ? r.name : `${r.name} (${r.note})`,
    `${formatFigure(r.ours)} ${r.unit}`,
    r.reference === null ? "—" : `${formatFigure(r.reference)} ${r.unit}${r.vs === undefined ? "" : ` ${r.vs}`}`,
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}x`,
    r.goal ?? "",
    r.met === undefined ? (r.problem === undefined ? "" : `? ${r.problem}`) : r.met ? "yes" : "NO",
    r.runs.length > 1 ? r.runs.map((s) => formatFigure(s.ours)).join(" ") : "",
  ]);
  const failed = new Map<string, BenchFailure[]>();
  for (const f of failures) failed.set(f.bench, [...(failed.get(f.bench) ?? []), f]);
  for (const [bench, fs] of failed) {
    const f = fs[0]!;
    const how = f.signal !== null ? `signal ${f.signal}` : `exit ${f.exitCode}`;
    out.push([bench, `FAILED: ${f.reason} (${how}; run ${fs.map((x) => x.repeat).join(", ")})`, "", "", "", "", "FAILED", ""]);
  }
  return out;
}

/** The table as aligned plain text. */
export function formatTextTable(rows: SummaryRow[], failures: BenchFailure[]): string {
  const all = [[...HEADER], ...cells(rows, failures)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(all[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}

/** The table as markdown, with the end of the stderr of every failed run below it. */
export function formatMarkdownTable(rows: SummaryRow[], failures: BenchFailure[]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  const lines = [
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map((_, i) => (RIGHT.has(i) ? "---:" : "---")).join("|")}|`,
    ...cells(rows, failures).map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
  for (const f of failures) {
    lines.push("", `**${f.bench}, run ${f.repeat}: ${f.reason}** (${f.signal !== null ? `signal ${f.signal}` : `exit ${f.exitCode}`}); end of its stderr:`, "", "```", f.stderrTail.trimEnd(), "```");
  }
  return lines.join("\n");
}
