import { BaseError } from "../protocol/errors.ts";

/** A flag or argument given on the command line is wrong; the CLI prints it and exits 2. */
export class UsageError extends BaseError {
  override name = "UsageError";
  readonly flag: string | undefined;
  constructor(message: string, options: { flag?: string; details?: string } = {}) {
    super(options.flag ? `--${options.flag}: ${message}` : message, options.details ? { details: options.details } : {});
    this.flag = options.flag;
  }
}

/** Parses a TCP port flag (0 = any free port). */
export function parsePort(value: unknown, flag = "port"): number {
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n > 65535) throw new UsageError(`not a port number: ${String(value)}`, { flag });
  return n;
}
