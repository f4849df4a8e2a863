import { getAddress, isAddress, type Address } from "viem";
import { createChainClients, type ChainClients } from "../../chain/clients.ts";
import { readDeployment, type Deployment } from "../../chain/deployment.ts";
import { DEFAULT_DEPLOYMENT_PATH, parseClientConfig } from "../../client/clientConfig.ts";
import { loadNodeConfig } from "../../node/config.ts";
import { UsageError } from "../usageError.ts";

/** Flags of the operator commands: the client commands' three, a node's config, or an address to read. */
export const operatorChainOptions = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  key: { type: "string" },
  config: { type: "string" },
} as const;

/** The chain as an operator command sees it: the deployment, clients (signing when a key is known), the provider. */
export type OperatorChain = { deployment: Deployment; clients: ChainClients; provider: Address };

/**
 * Resolves the provider and the chain from `--config node.yaml` (the node's deployment, RPC and key),
 * or `--rpc`, `--deployment`, `--key` (or BANDMINT_KEY) as the client commands take them; with
 * `readOnly`, `--provider ADDR` instead of a key reads another provider's figures.
 */
export async function openOperatorChain(values: Record<string, unknown>, env: Record<string, string | undefined>, { readOnly = false } = {}): Promise<OperatorChain> {
  if (typeof values.config === "string") {
    const config = await loadNodeConfig({ file: values.config, flags: { rpc: values.rpc as string | undefined, deployment: values.deployment as string | undefined, key: values.key as string | undefined }, env });
    const deployment = await readDeployment(config.deployment);
    const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId });
    return { deployment, clients, provider: clients.account!.address };
  }
  if (readOnly && typeof values.provider === "string") {
    if (!isAddress(values.provider)) throw new UsageError(`not an address: ${values.provider}`, { flag: "provider" });
    const deployment = await readDeployment(typeof values.deployment === "string" ? values.deployment : DEFAULT_DEPLOYMENT_PATH);
    const clients = await createChainClients({ rpcUrl: (values.rpc as string | undefined) ?? deployment.rpcUrl, chainId: deployment.chainId });
    return { deployment, clients, provider: getAddress(values.provider) };
  }
  const c = parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key }, env);
  const deployment = await readDeployment(c.deploymentPath);
  const clients = await createChainClients({ rpcUrl: c.rpcUrl ?? deployment.rpcUrl, privateKey: c.privateKey, chainId: deployment.chainId });
  return { deployment, clients, provider: clients.account!.address };
}
