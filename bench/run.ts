// One benchmark table: runs the bench scripts one after the other (each in its own process, on
// the same Node), collects their `BENCH_RESULT` lines (bench/lib/benchResult.ts), and prints one
// row per headline figure: ours, the reference measured in the same run, the ratio, the goal and
// whether it is met, as medians over `--repeats` runs (this machine's noise is +-30 %).
//   npm run bench [-- --quick] [--repeats 3] [--only paid,relay] [--out bench-results]
// Writes DIR/bench.md and DIR/bench.json (date, commit, machine, every run's figures) and each
// run's output to DIR/logs/. A script that fails is a FAILED row with the end of its stderr; the
// runner then exits 1.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseBenchResults, type BenchResult } from "./lib/benchResult.ts";
import { formatMarkdownTable, formatTextTable, type BenchFailure } from "./lib/benchTable.ts";
import { summarizeRuns, type BenchRun } from "./lib/summarizeRuns.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** One bench script and the arguments the table runs it with. */
type BenchSpec = {
  /** Its name in `--only` and in the table (`npm run bench:<name>`). */
  name: string;
  script: string;
  /** Arguments of a full run. The runner's repeats are the rounds, so scripts that take rounds run one per repeat. */
  full: string[];
  /** Arguments of a `--quick` run (short durations, fewer sessions); null leaves it out of --quick. */
  quick: string[] | null;
  /** Its figures do not vary between runs (gas): one run whatever `--repeats` says. */
  deterministic?: boolean;
};

// Quick arguments were chosen by timing each script on this 2-core machine while other jobs ran:
// together they stay under 3 minutes. limits runs 4 s per setting because the bucket's
// quarter-second burst adds 0.25 / seconds to the measured rate. crypto is left out of --quick: its
// 1 MiB keccak cases alone take ~30 s and it has no goal.
const BENCHES: BenchSpec[] = [
  { name: "gas", script: "bench/gas.ts", full: [], quick: [], deterministic: true },
  { name: "paid", script: "bench/paid.ts", full: ["--rounds", "1"], quick: ["--rounds", "1", "--duration", "1", "--connections", "4", "--clients", "2", "--sessions", "0"] },
  { name: "client", script: "bench/client.ts", full: [], quick: ["32"] },
  { name: "relay", script: "bench/relay.ts", full: ["--rounds", "1"], quick: ["--rounds", "1", "--size-mib", "32", "--ttfb-samples", "10", "--tunnels", "20"] },
  { name: "sim", script: "bench/sim.ts", full: ["--runs", "1"], quick: ["--runs", "1"] },
  { name: "footprint", script: "bench/footprint.ts", full: ["--only", "node"], quick: ["--only", "node", "--variants", "build", "--chunks", "1", "--idle-seconds", "2"] },
  { name: "limits", script: "bench/limits.ts", full: [], quick: ["--seconds", "4", "--settings", "16"] },
  { name: "edge", script: "bench/edge.ts", full: [], quick: ["--duration", "2"] },
  { name: "crypto", script: "bench/crypto.ts", full: [], quick: null },
  // The attack bench prints its own BENCH_RESULT lines; it is run when it exists.
  { name: "attack", script: "bench/attack.ts", full: [], quick: ["--quick"] },
];

/** How long one script may run before its process group is stopped. */
const TIMEOUT_MS = { quick: 4 * 60_000, full: 30 * 60_000 };

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string" },
    only: { type: "string" },
    out: { type: "string", default: "bench-results" },
  },
});

/** Stops with a one-line message (a user mistake, not a crash). */
function usage(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const mode = values.quick ? "quick" : "full";
const repeats = Number(values.repeats ?? (values.quick ? 1 : 3));
if (!Number.isInteger(repeats) || repeats < 1) usage(`--repeats must be a whole number >= 1, not "${values.repeats}"`);
const available = BENCHES.filter((b) => existsSync(join(ROOT, b.script)));
const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "");
if (only?.length === 0) usage("--only needs bench names, e.g. --only paid,relay");
for (const name of only ?? []) {
  if (!available.some((b) => b.name === name)) usage(`no bench "${name}"; there are ${available.map((b) => b.name).join(", ")}`);
}
const selected = available.filter((b) => (only ? only.includes(b.name) : values.quick ? b.quick !== null : true));
const outDir = resolve(values.out!);

/** What one run of one script gave. */
type RunRecord = { bench: string; repeat: number; args: string[]; seconds: number; exitCode: number | null; signal: string | null; results: BenchResult[] };

let current: ReturnType<typeof spawn> | undefined;
/** Signals the whole process group of a script (its nginx, node and load generators too). */
const signalGroup = (pid: number | undefined, signal: NodeJS.Signals) => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    signalGroup(current?.pid, "SIGTERM");
    process.exit(130);
  });
}

/** Runs one script in its own process group; its output goes to `log`, stdout is also kept for the figures. */
async function runScript(spec: BenchSpec, args: string[], log: string): Promise<{ stdout: string; stderr: string; exitCode: number | null; signal: string | null; timedOut: boolean }> {
  const file = createWriteStream(log);
  const child = spawn(process.execPath, [join(ROOT, spec.script), ...args], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  current = child;
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    file.write(d);
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    file.write(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child.pid, "SIGTERM");
    setTimeout(() => signalGroup(child.pid, "SIGKILL"), 10_000).unref();
  }, TIMEOUT_MS[mode]);
  const closed = new Promise((r) => child.once("close", r));
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((r) => child.once("exit", (code, sig) => r([code, sig])));
  clearTimeout(timer);
  current = undefined;
  // Whatever the script left in its group (a server it did not stop, holding its stdout) goes with it.
  signalGroup(child.pid, "SIGTERM");
  await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
  await new Promise<void>((r) => file.end(r));
  return { stdout, stderr, exitCode, signal, timedOut };
}

/** The last `n` non-empty lines of `text`. */
const tail = (text: string, n = 15) => text.split("\n").filter((l) => l.trim() !== "").slice(-n).join("\n") || "(no output)";

/** `git` output in the project, or "" when git is not there. */
const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";

async function main(): Promise<void> {
  await mkdir(join(outDir, "logs"), { recursive: true });
  const started = performance.now();
  const loadBefore = loadavg();
  console.log(`bench (${mode}): ${selected.map((b) => b.name).join(", ")}; ${repeats} repeat${repeats > 1 ? "s" : ""}; load average ${loadBefore.map((l) => l.toFixed(1)).join(" ")}; logs in ${join(outDir, "logs")}`);
  // The chain benches deploy the compiled contracts: build them once (a no-op when up to date).
  const build = spawnSync(process.execPath, [join(ROOT, "node_modules", "hardhat", "dist", "src", "cli.js"), "build", "--quiet"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) {
    console.error(`bench: hardhat build failed (exit ${build.status}):\n${tail(`${build.stdout}\n${build.stderr}`)}`);
    process.exit(1);
  }

  const records: RunRecord[] = [];
  const failures: BenchFailure[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const spec of selected) {
      if (spec.deterministic && repeat > 1) continue;
      const args = values.quick ? (spec.quick ?? spec.full) : spec.full;
      const t0 = performance.now();
      process.stdout.write(`  ${spec.name} (run ${repeat}/${spec.deterministic ? 1 : repeats}) ... `);
      const r = await runScript(spec, args, join(outDir, "logs", `${spec.name}-${repeat}.log`));
      const seconds = (performance.now() - t0) / 1000;
      const { results, errors } = parseBenchResults(r.stdout);
      const reason = r.timedOut
        ? `timed out after ${(TIMEOUT_MS[mode] / 1000).toFixed(0)} s`
        : r.exitCode !== 0 || r.signal !== null
          ? "the script failed"
          : errors.length > 0
            ? `bad BENCH_RESULT line: ${errors[0]}`
            : results.length === 0
              ? "printed no BENCH_RESULT line"
              : undefined;
      records.push({ bench: spec.name, repeat, args, seconds, exitCode: r.exitCode, signal: r.signal, results });
      if (reason !== undefined) failures.push({ bench: spec.name, repeat, exitCode: r.exitCode, signal: r.signal, reason, stderrTail: tail(r.stderr || r.stdout) });
      console.log(`${reason === undefined ? "ok" : `FAILED (${reason})`}, ${seconds.toFixed(0)} s, ${results.length} figures`);
    }
  }

  const runs: BenchRun[] = records.map((r) => ({ bench: r.bench, repeat: r.repeat, results: r.results }));
  const rows = summarizeRuns(runs);
  const wallSeconds = (performance.now() - started) / 1000;
  const commit = git("rev-parse", "HEAD");
  const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "", memoryGiB: Math.round(totalmem() / 2 ** 30), loadavgBefore: loadBefore, loadavgAfter: loadavg() };
  const date = new Date().toISOString();
  const header =
    `${date}, commit ${commit.slice(0, 12)}${dirty ? " (with uncommitted changes)" : ""}, node ${process.version}, ` +
    `${machine.cpus} cores, load average ${loadBefore.map((l) => l.toFixed(1)).join(" ")} before, ${machine.loadavgAfter.map((l) => l.toFixed(1)).join(" ")} after; ` +
    `${mode}, medians of ${repeats} run${repeats > 1 ? "s" : ""}${repeats > 1 && selected.some((b) => b.deterministic) ? ` (${selected.filter((b) => b.deterministic).map((b) => b.name).join(", ")}: 1, deterministic)` : ""}, ${wallSeconds.toFixed(0)} s in all`;

  console.log(`\n${header}\n\n${formatTextTable(rows, failures)}`);
  for (const f of failures) console.log(`\n${f.bench}, run ${f.repeat}: ${f.reason}; end of its output (full log: ${join(outDir, "logs", `${f.bench}-${f.repeat}.log`)}):\n${f.stderrTail}`);

  const argsOf = selected.map((s) => `- \`${s.name}\`: \`node ${s.script}${(values.quick ? (s.quick ?? s.full) : s.full).map((a) => ` ${a}`).join("")}\``);
  await writeFile(join(outDir, "bench.md"), `# bandmint benchmarks\n\n${header}. Ratios are ours / reference (medians of the per-run ratios).\n\n${formatMarkdownTable(rows, failures)}\n\nScripts as run:\n\n${argsOf.join("\n")}\n`);
  await writeFile(join(outDir, "bench.json"), `${JSON.stringify({ date, commit, dirty, node: process.version, machine, mode, repeats, wallSeconds, results: rows, failures, runs: records }, null, 2)}\n`);
  console.log(`\nwrote ${join(outDir, "bench.md")} and ${join(outDir, "bench.json")}`);
  process.exit(failures.length > 0 ? 1 : 0);
}

await main();
