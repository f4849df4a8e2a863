import { readHost, type Host } from "../../node/hostDefaults.ts";

// `bandmint node start` restarts itself once, in place, with V8 and allocator settings that follow
// the host. Node's defaults are a server's: V8 grows the young generation to 16-32 MB as soon as
// start-up allocates, and glibc's malloc keeps an arena per allocating thread (up to eight per
// core). A node on a router has 256 MB in all, and the operator should not need to know Node's
// flags for that. execve keeps the process id, so a service manager's SIGTERM still reaches the node.

const MiB = 1 << 20;

/**
 * V8 flags the node runs with on `host`: the young generation's semi-space follows the memory, 1 MiB
 * per 256 MiB rounded down to a power of two, between 1 MiB (a 256 MB router) and 16 MiB (4 GiB
 * and more; V8's own ceiling). A small semi-space keeps a small box's memory down but collects
 * more often and promotes short-lived objects early: on the paid path at 1 MiB objects the node
 * spent about 5 % more CPU per GiB at 1 MiB than at 16 MiB, most of it in V8's GC helper threads
 * (bench/paid.ts, 13 alternating pairs), so only a box that needs the memory pays that.
 */
export function nodeV8Flags(host: Host): string[] {
  let semiSpace = 1;
  while (semiSpace < 16 && (semiSpace * 2) * 256 * MiB <= host.totalMemory) semiSpace *= 2;
  return [`--max-semi-space-size=${semiSpace}`];
}

/** Allocator settings the node runs with (unless already set): two malloc arenas for all its threads. */
export const NODE_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

/**
 * The variable that says how the node's runtime is set: the relaunch sets it to "tuned"; an operator
 * who sets it (to anything, e.g. "default") keeps Node's defaults and the node does not relaunch.
 */
export const RUNTIME_ENV = "BANDMINT_RUNTIME";

/** An execve: the program, its whole argv (argv[0] included) and its environment. */
export type Relaunch = { file: string; args: string[]; env: Record<string, string> };

/** True for the command line of the long-running node (`node start` / `node-start`), help aside. */
function isNodeStart(argv: readonly string[]): boolean {
  const start = (argv[0] === "node" && argv[1] === "start") || argv[0] === "node-start";
  return start && !argv.includes("--help") && !argv.includes("-h");
}

/**
 * The relaunch `bandmint <argv>` wants, or undefined: for `node start` only, once (RUNTIME_ENV),
 * and only with a script to run again. V8 flags the operator already gave (on the command line or
 * in NODE_OPTIONS) and allocator variables already set are theirs and stay as they are.
 */
export function nodeRuntimeRelaunch(p: {
  argv: readonly string[];
  execPath: string;
  execArgv: readonly string[];
  /** The script this process runs (process.argv[1]): bin/bandmint.js, src/cli/main.ts or bandmint.mjs. */
  script: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The machine (memory decides the V8 flags, see nodeV8Flags). */
  host: Host;
}): Relaunch | undefined {
  if (!isNodeStart(p.argv) || p.script === undefined || p.env[RUNTIME_ENV] !== undefined) return undefined;
  const given = [...p.execArgv, ...(p.env.NODE_OPTIONS ?? "").split(/\s+/)].map((f) => f.split("=")[0]!.replaceAll("_", "-"));
  const flags = nodeV8Flags(p.host).filter((f) => !given.includes(f.split("=")[0]!));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(NODE_MALLOC_ENV)) env[k] ??= v;
  env[RUNTIME_ENV] = "tuned";
  return { file: p.execPath, args: [p.execPath, ...flags, ...p.execArgv, p.script, ...p.argv], env };
}

/**
 * Replaces this process with the relaunch `argv` wants (see nodeRuntimeRelaunch); returns when it
 * wants none, or where the runtime has no execve (Windows, Node < 22.15): the node then runs with
 * Node's defaults.
 */
export function relaunchWithNodeRuntime(argv: readonly string[]): void {
  const relaunch = nodeRuntimeRelaunch({ argv, execPath: process.execPath, execArgv: process.execArgv, script: process.argv[1], env: process.env, host: readHost() });
  if (relaunch === undefined || typeof process.execve !== "function") return;
  process.execve(relaunch.file, relaunch.args, relaunch.env);
}
