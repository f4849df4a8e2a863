import { resolve } from "node:path";
import { TOKEN } from "../../chain/deploy.ts";
import { startDevnet } from "../../devnet/startDevnet.ts";
import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { parsePort } from "../usageError.ts";

const command: Command = {
  summary: "Run a whole local bandmint network: embedded chain, contracts, origin, 3 provider nodes, a funded consumer and a gateway",
  usage: "[--port 8545] [--gateway-port 8080] [--data-dir .bandmint/local]",
  options: {
    port: { type: "string", default: "8545" },
    "gateway-port": { type: "string", default: "8080" },
    "data-dir": { type: "string", default: ".bandmint/local" },
  },
  async run({ values, signal, stdout, stderr }) {
    const chainPort = parsePort(values.port);
    const gatewayPort = parsePort(values["gateway-port"], "gateway-port");
    const dataDir = resolve(String(values["data-dir"]));
    const net = await startDevnet({ dataDir, chainPort, gatewayPort, log: (line) => stderr.write(`  ${line}\n`), signal });
    try {
      const { contracts } = net.deployment;
      const play = `${net.gatewayUrl}/${net.contentId}/hls/index.m3u8`;
      stdout.write(
        [
          "",
          `bandmint local network is up (chain id ${net.deployment.chainId})`,
          "",
          "open",
          `  ${net.gatewayUrl}/${net.contentId}/index.html   sample page through the paying gateway`,
          `  ${play}   HLS playlist (ffplay, mpv, VLC, Safari)${net.sampleIsVideo ? "" : "  [generated placeholder segments: ffmpeg not installed]"}`,
          `  curl -r 0-999 ${net.gatewayUrl}/${net.contentId}/hls/seg0.ts | wc -c`,
          `  npm run bandmint -- get ${net.contentId} -o ./sample --deployment ${net.deploymentPath} --key ${net.consumer.privateKey}`,
          "",
          "relay (share a connection, paid per byte: run the proxy in another terminal, then curl through it)",
          `  npm run bandmint -- proxy --port 8118 --deployment ${net.deploymentPath} --key ${net.consumer.privateKey}`,
          `  curl -x http://127.0.0.1:8118 ${net.originUrl}/${net.contentId}/hls/seg0.ts | wc -c`,
          `  (the nodes relay to the sample origin only: a home node never relays into its own network)`,
          "",
          "chain",
          `  JSON-RPC          ${net.rpcUrl}`,
          `  deployment file   ${net.deploymentPath}`,
          `  BandToken         ${contracts.token}`,
          `  ProviderRegistry  ${contracts.registry}`,
          `  TicketBroker      ${contracts.broker}`,
          `  Rewards           ${contracts.rewards}`,
          `  Vesting           ${contracts.vesting}`,
          "",
          "services",
          `  origin            ${net.originUrl}   content id ${net.contentId}`,
          ...net.nodes.map((n, i) => `  provider ${i + 1}        ${n.url}   ${n.pricePerGiB} BAND/GiB   cdn + relay   status ${n.url}/status`),
          `  gateway           ${net.gatewayUrl}   (consumer deposit 100 BAND, reserve 10 BAND)`,
          "",
          `accounts (public test keys: never use them on a real network; ${formatToken(1_000_000n * TOKEN)} each where funded)`,
          ...net.accounts.map(({ label, account }) => `  ${label.padEnd(11)} ${account.address}  ${account.privateKey}`),
          "",
          "Ctrl-C stops everything.",
          "",
        ].join("\n"),
      );
      await new Promise<void>((done) => (signal.aborted ? done() : signal.addEventListener("abort", () => done(), { once: true })));
      stdout.write("stopping...\n");
    } finally {
      await net.stop();
    }
    stdout.write("stopped\n");
    return 0;
  },
};
export default command;
