import { join, resolve } from "node:path";
import { createChainClients } from "../../chain/clients.ts";
import { deployAll, TOKEN } from "../../chain/deploy.ts";
import { writeDeployment } from "../../chain/deployment.ts";
import { devAccount } from "../../chain/devAccounts.ts";
import { startEmbeddedChain } from "../../chain/embeddedChain.ts";
import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { parsePort } from "../usageError.ts";

const command: Command = {
  summary: "Run a whole local bandmint network on an embedded chain (contracts deployed, accounts funded)",
  usage: "[--port 8545] [--data-dir .bandmint/local]",
  options: {
    port: { type: "string", default: "8545" },
    "data-dir": { type: "string", default: ".bandmint/local" },
  },
  async run({ values, signal, stdout }) {
    const port = parsePort(values.port);
    const dataDir = resolve(String(values["data-dir"]));
    const chain = await startEmbeddedChain({ port });
    try {
      await chain.build();
      const deployer = devAccount(0);
      const treasury = devAccount(1);
      const providers = [2, 3, 4].map(devAccount);
      const consumer = devAccount(10);
      const funded = [deployer, ...providers, consumer];
      const clients = await createChainClients({ rpcUrl: chain.rpcUrl, privateKey: deployer.privateKey, chainId: chain.chainId });
      const deployment = await deployAll({
        publicClient: clients.publicClient,
        walletClient: clients.walletClient!,
        rpcUrl: chain.rpcUrl,
        params: { treasury: treasury.address, genesis: funded.map((a) => ({ address: a.address, amount: 1_000_000n * TOKEN })) },
      });
      const deploymentPath = join(dataDir, "deployment.json");
      await writeDeployment(deploymentPath, deployment);
      stdout.write(
        [
          "",
          `bandmint local network (chain id ${deployment.chainId})`,
          `  JSON-RPC     ${chain.rpcUrl}`,
          `  deployment   ${deploymentPath}`,
          "",
          "contracts",
          `  BandToken        ${deployment.contracts.token}`,
          `  ProviderRegistry ${deployment.contracts.registry}`,
          `  TicketBroker     ${deployment.contracts.broker}`,
          "",
          `funded demo accounts (${formatToken(1_000_000n * TOKEN)} and 10000 ETH each; public test keys, never use on a real network)`,
          ...[["deployer", deployer], ["provider 1", providers[0]!], ["provider 2", providers[1]!], ["provider 3", providers[2]!], ["consumer", consumer]].map(
            ([label, a]) => `  ${String(label).padEnd(11)} ${(a as typeof deployer).address}  key ${(a as typeof deployer).privateKey}`,
          ),
          `  treasury    ${treasury.address}`,
          "",
          "Press Ctrl-C to stop.",
          "",
        ].join("\n"),
      );
      await new Promise<void>((done) => (signal.aborted ? done() : signal.addEventListener("abort", () => done(), { once: true })));
      stdout.write("stopping...\n");
      return 0;
    } finally {
      await chain.stop();
    }
  },
};
export default command;
