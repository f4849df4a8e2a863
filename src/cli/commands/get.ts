import { basename } from "node:path";
import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { ClientConfigError, openClient, parseClientConfig, clientKeyOptions } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import type { DownloadProgress } from "../../client/downloadContent.ts";

const MiB = 1024 * 1024;
const mib = (n: bigint) => `${(Number(n) / MiB).toFixed(1)} MiB`;

/** One progress line: bytes, rate, providers, paid so far (expected value of the tickets). */
function progressLine(p: DownloadProgress): string {
  const pct = p.totalBytes === 0n ? 100 : Number((p.verifiedBytes * 1000n) / p.totalBytes) / 10;
  const rate = p.elapsedMs > 0 ? (Number(p.fetchedBytes) / MiB / (p.elapsedMs / 1000)).toFixed(1) : "0.0";
  return `${pct.toFixed(1).padStart(5)}%  ${mib(p.verifiedBytes)} / ${mib(p.totalBytes)}  ${rate} MiB/s  ${p.providers} provider${p.providers === 1 ? "" : "s"}  paid ${formatToken(p.expectedPaid)}`;
}

const command: Command = {
  summary: "Download content (a file or a whole content id), verifying every chunk and paying as you go; resumes",
  usage: "<contentId>[/path] [-o FILE|DIR] [--max-price TOKENS_PER_GIB] [--data-dir .bandmint/client] [--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x..]",
  options: {
    out: { type: "string", short: "o" },
    "max-price": { type: "string" },
    "data-dir": { type: "string" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...clientKeyOptions,
  },
  async run({ values, positionals, signal, stdout, stderr }) {
    const config = await parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"], "max-price": values["max-price"], "data-dir": values["data-dir"] }, process.env, { prompt: terminalPrompt() });
    const target = positionals[0];
    const m = target === undefined || positionals.length !== 1 ? null : /^([0-9a-f]{64})(?:\/(.+))?$/.exec(target);
    if (m === null) throw new ClientConfigError("contentId", "give one <contentId>[/path] (64 lowercase hex chars, then an optional file path)");
    const contentId = m[1]!;
    const path = m[2];
    const out = typeof values.out === "string" ? values.out : path !== undefined ? basename(path) : contentId;
    const client = await openClient(config, { logger: { info: () => undefined, warn: (msg) => stderr.write(`\n${msg}\n`) } });
    let last = 0;
    const tty = (stderr as { isTTY?: boolean }).isTTY === true;
    const result = await client.get(contentId, path, {
      out,
      signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - last < 250 && p.verifiedBytes !== p.totalBytes) return;
        last = now;
        stderr.write(tty ? `\r${progressLine(p)}\u001b[K` : `${progressLine(p)}\n`);
      },
    });
    if (tty) stderr.write("\n");
    for (const f of result.files) stdout.write(`${f.out}  ${f.size} bytes\n`);
    const used = result.providers.filter((r) => r.bytes > 0n);
    stdout.write(
      `fetched ${mib(result.fetchedBytes)}${result.resumedBytes > 0n ? ` (resumed ${mib(result.resumedBytes)})` : ""} from ${used.length} provider(s), paid ${formatToken(result.expectedPaid)} (expected value of the tickets)\n`,
    );
    for (const r of result.providers.filter((x) => x.state === "bad" || x.state === "refused")) stdout.write(`dropped ${r.provider}: ${r.reason ?? r.state}\n`);
    return 0;
  },
};
export default command;
