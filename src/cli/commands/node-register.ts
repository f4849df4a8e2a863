import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { loadNodeConfig, type NodeConfigFlags } from "../../node/config.ts";
import { registerProvider } from "../../node/registerProvider.ts";
import type { Command } from "../command.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import { nodeConfigOptions } from "./node-start.ts";

const command: Command = {
  summary: "Register (approve + stake) or update this provider's offer in the ProviderRegistry",
  usage: "[--config node.yaml] [flags]",
  options: { ...nodeConfigOptions, stake: { type: "string" } },
  async run({ values, stdout }) {
    const config = await loadNodeConfig({ file: values.config as string | undefined, flags: values as NodeConfigFlags, env: process.env, prompt: terminalPrompt() });
    const deployment = await readDeployment(config.deployment);
    const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId });
    const stake = typeof values.stake === "string" ? BigInt(values.stake) : config.stake;
    const result = await registerProvider({
      publicClient: clients.publicClient,
      walletClient: clients.walletClient!,
      deployment,
      stake,
      listing: {
        endpoint: config.endpoint ?? `${config.tls ? "https" : "http"}://${config.host}:${config.port}`,
        pricePerGiB: config.pricePerGiB,
        capacityMbps: config.capacityMbps,
        region: config.region,
        services: config.services,
      },
    });
    stdout.write(`${result.action} ${clients.account!.address} (stake ${result.stake} wei)${result.txHashes.length ? `: ${result.txHashes.join(", ")}` : ""}\n`);
    return 0;
  },
};
export default command;
