import type { ParseArgsConfig } from "node:util";

/** One `bandmint <name>` sub-command: its flags, a one-line summary and what it does. */
export type Command = {
  /** One line for `bandmint help`. */
  summary: string;
  /** Usage line after `bandmint <name>`, e.g. `<dir> [--out DIR]`. */
  usage: string;
  /** Flags in node:util parseArgs form; unknown flags are an error. */
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Runs the command. Resolves with the process exit code. */
  run(args: CommandArgs): Promise<number>;
};

export type CommandArgs = {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
};
