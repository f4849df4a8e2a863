#!/usr/bin/env node
// The `bandmint` command: a thin dispatcher. Each sub-command lives in commands/<name>.ts and
// default-exports a `Command`; user mistakes print a short message and exit non-zero.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";

const commandsDir = new URL("./commands/", import.meta.url);

/** Names of the available sub-commands (`commands/<name>.ts`, nested names use `-`). */
export function listCommands(): string[] {
  return readdirSync(fileURLToPath(commandsDir))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !listCommands().includes(name)) return undefined;
  return (await import(new URL(`${name}.ts`, commandsDir).href)).default as Command;
}

async function usage(): Promise<string> {
  const rows = await Promise.all(
    listCommands().map(async (name) => {
      const command = await loadCommand(name);
      return `  ${name.replace(/^(node|key)-/, "$1 ").padEnd(15)} ${command?.summary ?? ""}`;
    }),
  );
  return `usage: bandmint <command> [flags]\n\ncommands:\n${rows.join("\n")}\n\nRun 'bandmint <command> --help' for a command's flags.\n`;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  // `bandmint node start` and `bandmint node-start` are the same command.
  let [name, ...rest] = argv;
  if (name !== undefined && rest[0] !== undefined && !rest[0].startsWith("-")) {
    const joined = `${name}-${rest[0]}`;
    if (listCommands().includes(joined)) [name, rest] = [joined, rest.slice(1)];
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  const command = await loadCommand(name);
  if (command === undefined) {
    process.stderr.write(`bandmint: unknown command '${name}'\n\n${await usage()}`);
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
    const e = error as { shortMessage?: string; details?: string; message?: string };
    // Typed errors (BaseError) carry a short message meant for people; anything else is a bug.
    if (e.shortMessage !== undefined) {
      process.stderr.write(`bandmint ${name}: ${e.shortMessage}${e.details ? `\n  ${e.details}` : ""}\n`);
      return (error as { name?: string }).name === "UsageError" ? 2 : 1;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.exitCode = await main(process.argv.slice(2), controller.signal);
}
