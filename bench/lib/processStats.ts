import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

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
