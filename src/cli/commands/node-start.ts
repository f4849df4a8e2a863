import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { loadNodeConfig, type NodeConfigFlags } from "../../node/config.ts";
import { createProviderNode } from "../../node/providerNode.ts";
import type { Command } from "../command.ts";

/** Flags shared by the `node` commands; each overrides the config file's field of the same meaning. */
export const nodeConfigOptions = {
  config: { type: "string" },
  rpc: { type: "string" },
  deployment: { type: "string" },
  key: { type: "string" },
  "key-file": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  endpoint: { type: "string" },
  "data-dir": { type: "string" },
  "cache-dir": { type: "string" },
  "max-cache-bytes": { type: "string" },
  origin: { type: "string", multiple: true },
  "price-per-gib": { type: "string" },
  "bytes-per-ticket": { type: "string" },
  "face-value": { type: "string" },
  "credit-window-bytes": { type: "string" },
  region: { type: "string" },
  "admin-host": { type: "string" },
  "admin-port": { type: "string" },
} as const;

const command: Command = {
  summary: "Run the provider node (CDN edge, payment sessions, ticket store, redeemer) until SIGINT/SIGTERM",
  usage: "[--config node.yaml] [flags]",
  options: nodeConfigOptions,
  async run({ values, signal, stdout }) {
    const config = await loadNodeConfig({ file: values.config as string | undefined, flags: values as NodeConfigFlags, env: process.env });
    const deployment = await readDeployment(config.deployment);
    const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId });
    const node = createProviderNode(config, {
      publicClient: clients.publicClient,
      walletClient: clients.walletClient!,
      deployment,
      log: (line) => stdout.write(`${new Date().toISOString()} ${line}\n`),
    });
    const url = await node.start();
    stdout.write(`listening ${url}\n`);
    const admin = node.adminUrls();
    if (admin !== undefined) {
      // The token is never printed here (this output is often a log file): it is in the config or
      // in the data directory, and the page takes it from its URL fragment.
      const tokenNote = admin.tokenRequired ? `  (token required: open ${admin.admin}/#token=<token>, token in admin.token or in ${config.dataDir}/admin.token)` : "";
      stdout.write(`dashboard ${admin.admin}/${tokenNote}\nmetrics ${admin.metrics}\n`);
    }
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    stdout.write("stopping\n");
    await node.stop();
    return 0;
  },
};
export default command;
