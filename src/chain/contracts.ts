import { getContract } from "viem";
import { bandTokenAbi, providerRegistryAbi, rewardsAbi, ticketBrokerAbi, vestingAbi } from "./abis.ts";
import type { ChainClients } from "./clients.ts";
import type { Deployment } from "./deployment.ts";

/** Typed viem contract instances for a deployment (writes need clients with a wallet). */
export function getContracts(clients: ChainClients, deployment: Deployment) {
  const client = clients.walletClient
    ? { public: clients.publicClient, wallet: clients.walletClient }
    : { public: clients.publicClient };
  const c = deployment.contracts;
  return {
    token: getContract({ address: c.token, abi: bandTokenAbi, client }),
    registry: getContract({ address: c.registry, abi: providerRegistryAbi, client }),
    broker: getContract({ address: c.broker, abi: ticketBrokerAbi, client }),
    rewards: getContract({ address: c.rewards, abi: rewardsAbi, client }),
    vesting: getContract({ address: c.vesting, abi: vestingAbi, client }),
  };
}

/** The contract instances `getContracts` returns. */
export type BandmintContracts = ReturnType<typeof getContracts>;
