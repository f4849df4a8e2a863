import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Resident set size of a process in MiB (Linux). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Starts a long-lived process (`process.execPath args`, cwd `cwd`) and resolves once its stdout
 * shows a line matching `ready` (e.g. /listening (\S+)/), with the match; rejects if it exits first.
 */
export async function startProcess(args: string[], what: string, ready: RegExp, cwd?: string): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], ...(cwd ? { cwd } : {}) });
  let out = "";
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m);
    });
    proc.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
  proc.stdout!.resume();
  return { proc, match };
}

/**
 * Runs `script` in another process as `--role <role> --job <json>` (a load generator, a client;
 * `execArgv` goes before the script, e.g. --cpu-prof) and resolves with its stdout parsed as JSON,
 * so the server under test never shares an event loop with its load.
 */
export async function runRole<T>(script: string, role: string, job: unknown, execArgv: string[] = []): Promise<T> {
  const c = spawn(process.execPath, [...execArgv, script, "--role", role, "--job", JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  c.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => c.once("exit", r));
  if (code !== 0) throw new Error(`${role} child exited with ${code}: ${out}`);
  return JSON.parse(out) as T;
}

/** Stops processes with SIGTERM and waits for each to exit. */
export async function stopProcesses(procs: readonly ChildProcess[]): Promise<void> {
  const live = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  const exited = live.map((p) => new Promise((r) => p.once("exit", r)));
  for (const p of live) p.kill("SIGTERM");
  await Promise.all(exited);
}

/** CPU time (user + system) a process has used so far, in seconds (Linux, 100 ticks a second). */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** utime + stime of a /proc stat line (a process's or a thread's), in seconds. */
function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces), from field 3: utime and stime are 14 and 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds each live thread of a process has used so far, summed by thread name (Linux: the
 * main thread is "MainThread", the node's worker threads carry their names, e.g. "signer" and
 * "ticket writer"; V8's and libuv's helpers have their own). A thread that exits takes its figure
 * with it: compare two readings with `threadCpuDelta`, which books the difference as "other".
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    let name: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue; // the thread exited meanwhile
    }
    byName.set(name, (byName.get(name) ?? 0) + statCpuSeconds(stat));
  }
  return byName;
}

/**
 * What each thread (by name) used between two readings of `threadCpuSeconds`, with the process's
 * own total (`cpuSeconds`) at both: whatever the named threads do not account for (threads that
 * came and went, V8's and libuv's helpers) is "other".
 */
export function threadCpuDelta(before: { threads: Map<string, number>; total: number }, after: { threads: Map<string, number>; total: number }, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  let named = 0;
  for (const name of names) {
    const d = Math.max(0, (after.threads.get(name) ?? 0) - (before.threads.get(name) ?? 0));
    out[name] = d;
    named += d;
  }
  out.other = Math.max(0, after.total - before.total - named);
  return out;
}

/** CPU seconds the whole machine has spent busy (all cores, every process: not idle, not iowait) so far (Linux). */
export function machineBusySeconds(): number {
  const stat = readFileSync("/proc/stat", "utf8");
  const f = stat.slice(0, stat.indexOf("\n")).split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}
