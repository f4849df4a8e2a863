import { BaseError } from "../../protocol/errors.ts";
import { OriginServer } from "../../content/originServer.ts";
import type { Command } from "../command.ts";

/** An origin flag is missing or malformed. */
export class OriginUsageError extends BaseError {
  override name = "OriginUsageError";
}

const command: Command = {
  summary: "Serve a published directory over HTTP as an origin for edges.",
  usage: "<dir> [--port N] [--host 127.0.0.1]",
  options: {
    port: { type: "string", default: "8480" },
    host: { type: "string", default: "127.0.0.1" },
  },
  async run({ values, positionals, signal, stdout }) {
    const [dir, ...extra] = positionals;
    if (dir === undefined || extra.length > 0) throw new OriginUsageError("Give exactly one published directory.");
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OriginUsageError(`--port must be 0..65535, got "${String(values.port)}".`);
    const origin = new OriginServer({ dir });
    const url = await origin.start({ host: String(values.host), port });
    stdout.write(`origin serving ${dir} at ${url}\n`);
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    await origin.stop();
    return 0;
  },
};

export default command;
