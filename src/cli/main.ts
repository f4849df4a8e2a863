#!/usr/bin/env node
// The `bandmint` command: a thin dispatcher. Each sub-command lives in commands/<name>.ts and
// default-exports a `Command`; user mistakes print a short message and exit non-zero.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { relaunchWithNodeRuntime } from "./lib/nodeRuntime.ts";

const commandsDir = new URL("./commands/", import.meta.url);

/** Where sub-commands come from: the commands/ directory, or the table the self-contained build compiles in (src/cli/bundle.ts). */
export type CommandSource = {
  /** Names of the available sub-commands, sorted (nested names use `-`). */
  names(): string[];
  /** The command, or undefined if there is none of that name. */
  load(name: string): Promise<Command | undefined>;
};

/** Names of the available sub-commands (`commands/<name>.ts`, nested names use `-`). */
export function listCommands(): string[] {
  return readdirSync(fileURLToPath(commandsDir))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** The commands/ directory, each command imported when it runs (so `node start` loads nothing of `start`). */
export const commandsDirectory: CommandSource = {
  names: listCommands,
  async load(name) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || !listCommands().includes(name)) return undefined;
    return (await import(new URL(`${name}.ts`, commandsDir).href)).default as Command;
  },
};

async function usage(commands: CommandSource): Promise<string> {
  const rows = await Promise.all(
    commands.names().map(async (name) => {
      const command = await commands.load(name);
      return `  ${name.replace(/^(node|key)-/, "$1 ").padEnd(15)} ${command?.summary ?? ""}`;
    }),
  );
  return `usage: bandmint <command> [flags]\n\ncommands:\n${rows.join("\n")}\n\nRun 'bandmint <command> --help' for a command's flags.\n`;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], signal: AbortSignal, commands: CommandSource = commandsDirectory): Promise<number> {
  // `bandmint node start` and `bandmint node-start` are the same command.
  let [name, ...rest] = argv;
  if (name !== undefined && rest[0] !== undefined && !rest[0].startsWith("-")) {
    const joined = `${name}-${rest[0]}`;
    if (commands.names().includes(joined)) [name, rest] = [joined, rest.slice(1)];
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(await usage(commands));
    return name === undefined ? 2 : 0;
  }
  let command: Command | undefined;
  try {
    command = await commands.load(name);
  } catch (error) {
    return reportError(name, error);
  }
  if (command === undefined) {
    process.stderr.write(`bandmint: unknown command '${name}'\n\n${await usage(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    const flags = Object.entries(command.options)
      .map(([k, o]) => `  --${k}${o.type === "string" ? " <value>" : ""}${o.default !== undefined ? ` (default ${String(o.default)})` : ""}`)
      .join("\n");
    process.stdout.write(`${command.summary}\n\nusage: bandmint ${name} ${command.usage}\n${flags ? `\nflags:\n${flags}\n` : ""}`);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`bandmint ${name}: ${(error as Error).message}\n(see 'bandmint ${name} --help')\n`);
    return 2;
  }
  try {
    return await command.run({ ...parsed, signal, stdout: process.stdout, stderr: process.stderr });
  } catch (error) {
    return reportError(name, error);
  }
}

/** Prints a typed error's short message (exit 2 for usage errors, else 1); rethrows anything else: a bug. */
function reportError(name: string, error: unknown): number {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  // Typed errors (BaseError) carry a short message meant for people; anything else is a bug.
  if (e.shortMessage !== undefined) {
    process.stderr.write(`bandmint ${name}: ${e.shortMessage}${e.details ? `\n  ${e.details}` : ""}\n`);
    return (error as { name?: string }).name === "UsageError" ? 2 : 1;
  }
  throw error;
}

/**
 * Runs the CLI as the process: SIGINT/SIGTERM abort the command's signal (a service manager's stop
 * reaches a running node this way), later ones are ignored while it stops; sets the exit code.
 */
export async function runCli(argv: string[], commands: CommandSource = commandsDirectory): Promise<void> {
  // `node start` continues in a process with the small-footprint runtime (same pid); nothing runs before.
  relaunchWithNodeRuntime(argv);
  const controller = new AbortController();
  // `on`, not `once`: a second signal (systemd signals the whole cgroup, a wrapper forwards the
  // same signal) must not take the default action, which would kill the node mid-stop.
  const stop = () => controller.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);
  process.exitCode = await main(argv, controller.signal, commands);
}

// Run as a script (`node src/cli/main.ts`); in dist/bandmint.mjs, src/cli/bundle.ts runs it instead.
if (typeof BANDMINT_BUNDLE === "undefined" && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await runCli(process.argv.slice(2));
