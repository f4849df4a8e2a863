import type { Command } from "../command.ts";
import { parsePort } from "../usageError.ts";
import { ClientConfigError, openClient, parseClientConfig, clientKeyOptions } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";

const command: Command = {
  summary: "Run a local HTTP gateway: GET http://127.0.0.1:PORT/<contentId>/<path> (Range, HLS, CORS), verified and paid",
  usage: "[--port 8080] [--cache-mib 64] [--max-price TOKENS_PER_GIB] [--data-dir .bandmint/client] [--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x..]",
  options: {
    port: { type: "string", default: "8080" },
    "cache-mib": { type: "string", default: "64" },
    "max-price": { type: "string" },
    "data-dir": { type: "string" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...clientKeyOptions,
  },
  async run({ values, signal, stdout, stderr }) {
    const config = await parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"], "max-price": values["max-price"], "data-dir": values["data-dir"] }, process.env, { prompt: terminalPrompt() });
    const port = parsePort(values.port);
    const cacheMib = String(values["cache-mib"]);
    if (!/^\d+$/.test(cacheMib)) throw new ClientConfigError("cache-mib", "must be a whole number of MiB");
    const client = await openClient(config, { logger: { info: (m) => stderr.write(`${m}\n`), warn: (m) => stderr.write(`${m}\n`) } });
    const gateway = client.gateway({ cacheBytes: Number(cacheMib) * 1024 * 1024 });
    const { url } = await gateway.start({ host: "127.0.0.1", port });
    stdout.write(`bandmint gateway on ${url}/<contentId>/<path>  (account ${client.address}; Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await gateway.stop();
    stdout.write(`stopped; paid ${client.pool.expectedPaid()} wei (expected value of the tickets)\n`);
    return 0;
  },
};
export default command;
