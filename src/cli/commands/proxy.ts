import type { Command } from "../command.ts";
import { parsePort } from "../usageError.ts";
import { formatToken } from "../lib/format.ts";
import { clientKeyOptions, openClient, parseClientConfig } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import type { RelayProviderReport } from "../../client/relayPool.ts";

const MIB = 1024 * 1024;

/** One line of bytes moved and money spent (expected value of the tickets) over all providers. */
function summaryLine(report: RelayProviderReport[]): string {
  let moved = 0n;
  let tickets = 0;
  let spent = 0n;
  let tunnels = 0;
  for (const r of report) {
    moved += r.movedBytes;
    tickets += r.tickets;
    spent += r.expectedValue;
    tunnels += r.tunnels;
  }
  return `${tunnels} connections, ${(Number(moved) / MIB).toFixed(2)} MiB relayed, ${tickets} tickets, spent ${formatToken(spent)} (expected value)`;
}

const command: Command = {
  summary: "Run a local HTTP (and SOCKS5) proxy on 127.0.0.1 that tunnels through paid relay providers",
  usage: "[--port 8118] [--socks-port 1080] [--max-price TOKENS_PER_GIB] [--data-dir .bandmint/client] [--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x..]",
  options: {
    port: { type: "string", default: "8118" },
    "socks-port": { type: "string" },
    "max-price": { type: "string" },
    "data-dir": { type: "string" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...clientKeyOptions,
  },
  async run({ values, signal, stdout, stderr }) {
    const config = await parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"], "max-price": values["max-price"], "data-dir": values["data-dir"] }, process.env, { prompt: terminalPrompt() });
    const port = parsePort(values.port);
    const socksPort = values["socks-port"] === undefined ? undefined : parsePort(values["socks-port"], "socks-port");
    const client = await openClient(config, { logger: { info: (m) => stderr.write(`${m}\n`), warn: (m) => stderr.write(`${m}\n`) } });
    const proxy = client.proxy();
    const { httpUrl, socksAddress } = await proxy.start({ port, socksPort });
    stdout.write(`bandmint proxy on ${httpUrl}${socksAddress ? ` (SOCKS5 on ${socksAddress})` : ""}  (account ${client.address}; Ctrl-C to stop)\n`);
    stdout.write(`  try: curl -x ${httpUrl} https://example.com/\n`);
    let last = "";
    const progress = setInterval(() => {
      const line = summaryLine(client.relay().report());
      if (line !== last) stdout.write(`${new Date().toISOString()} ${line}\n`);
      last = line;
    }, 5_000);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(progress);
    await proxy.stop();
    // What we owe goes out before we exit: the last counted bytes, in a final partial ticket.
    await client.close(AbortSignal.timeout(30_000));
    const report = client.relay().report();
    stdout.write(`stopped; ${summaryLine(report)}\n`);
    for (const r of report) {
      stdout.write(`  ${r.provider} ${r.endpoint}: ${r.tunnels} connections, ${(Number(r.movedBytes) / MIB).toFixed(2)} MiB, ${r.tickets} tickets, ${formatToken(r.expectedValue)}, ${r.state}${r.reason ? ` (${r.reason})` : ""}\n`);
    }
    return 0;
  },
};
export default command;
