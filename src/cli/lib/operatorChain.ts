import { getAddress, isAddress, type Address } from "viem";
import { createChainClients, type ChainClients } from "../../chain/clients.ts";
import { readDeployment, type Deployment } from "../../chain/deployment.ts";
import { clientKeyOptions, DEFAULT_DEPLOYMENT_PATH, parseClientConfig } from "../../client/clientConfig.ts";
import { loadNodeConfig } from "../../node/config.ts";
import { UsageError } from "../usageError.ts";
import { terminalPrompt } from "./promptSecret.ts";

/** Flags of the operator commands: the client commands' (RPC, deployment, key or keystore), or a node's config. */
export const operatorChainOptions = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  ...clientKeyOptions,
  config: { type: "string" },
} as const;

/** The chain as an operator command sees it: the deployment, clients (signing when a key is known), the provider. */
export type OperatorChain = { deployment: Deployment; clients: ChainClients; provider: Address };

/**
 * Resolves the provider and the chain from `--config node.yaml` (the node's deployment, RPC and key
 * or keystore), or `--rpc`, `--deployment` and `--key` / `--keystore` (or BANDMINT_KEY) as the
 * client commands take them; with `readOnly`, `--provider ADDR` instead of a key reads another
 * provider's figures.
 */
export async function openOperatorChain(values: Record<string, unknown>, env: Record<string, string | undefined>, { readOnly = false } = {}): Promise<OperatorChain> {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  if (str("config") !== undefined) {
    const flags = { rpc: str("rpc"), deployment: str("deployment"), key: str("key"), keystore: str("keystore"), "passphrase-file": str("passphrase-file") };
    const config = await loadNodeConfig({ file: str("config"), flags, env, prompt: terminalPrompt() });
    const deployment = await readDeployment(config.deployment);
    const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId });
    return { deployment, clients, provider: clients.account!.address };
  }
  if (readOnly && str("provider") !== undefined) {
    const provider = str("provider")!;
    if (!isAddress(provider)) throw new UsageError(`not an address: ${provider}`, { flag: "provider" });
    const deployment = await readDeployment(str("deployment") ?? DEFAULT_DEPLOYMENT_PATH);
    const clients = await createChainClients({ rpcUrl: str("rpc") ?? deployment.rpcUrl, chainId: deployment.chainId });
    return { deployment, clients, provider: getAddress(provider) };
  }
  const c = await parseClientConfig(
    { rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"] },
    env,
    { prompt: terminalPrompt() },
  );
  const deployment = await readDeployment(c.deploymentPath);
  const clients = await createChainClients({ rpcUrl: c.rpcUrl ?? deployment.rpcUrl, privateKey: c.privateKey, chainId: deployment.chainId });
  return { deployment, clients, provider: clients.account!.address };
}
