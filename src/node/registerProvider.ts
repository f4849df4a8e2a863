import type { Abi, Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { bandTokenAbi, providerRegistryAbi } from "../chain/abis.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { Service } from "../protocol/wire.ts";

/** The listing to publish in the ProviderRegistry. */
export type ProviderListing = {
  endpoint: string;
  pricePerGiB: bigint;
  capacityMbps: number;
  region: string;
  services: Service[];
};

/** What `registerProvider` did. */
export type RegisterResult = { action: "registered" | "updated" | "unchanged"; txHashes: Hex[]; stake: bigint };

/** Registry bitmask of a service list (1 = cdn, 2 = relay). */
export function servicesMask(services: readonly Service[]): number {
  return (services.includes("cdn") ? 1 : 0) | (services.includes("relay") ? 2 : 0);
}

/**
 * Publishes the provider's offer on chain: approve + register with `stake` (default the
 * registry's minimum) when not active, updateOffer when the listing differs, nothing otherwise.
 */
export async function registerProvider(p: {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  deployment: Deployment;
  listing: ProviderListing;
  stake?: bigint | undefined;
}): Promise<RegisterResult> {
  const { publicClient, walletClient, deployment } = p;
  const registryAbi: Abi = providerRegistryAbi;
  const tokenAbi: Abi = bandTokenAbi;
  const registry = deployment.contracts.registry;
  const me: Address = walletClient.account.address;
  const offer = {
    endpoint: p.listing.endpoint,
    pricePerGiB: p.listing.pricePerGiB,
    capacityMbps: BigInt(p.listing.capacityMbps),
    region: p.listing.region,
    services: servicesMask(p.listing.services),
  };
  const current = (await publicClient.readContract({ address: registry, abi: registryAbi, functionName: "getProvider", args: [me] })) as {
    offer: { endpoint: string; pricePerGiB: bigint; capacityMbps: bigint; region: string; services: number };
    stake: bigint;
    activeSince: bigint | number;
  };
  const send = async (address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<Hex> => {
    const { request } = await publicClient.simulateContract({ address, abi, functionName, args, account: walletClient.account });
    const hash = await walletClient.writeContract(request as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted in ${hash}`);
    return hash;
  };
  if (BigInt(current.activeSince) !== 0n) {
    const c = current.offer;
    const same = c.endpoint === offer.endpoint && c.pricePerGiB === offer.pricePerGiB && BigInt(c.capacityMbps) === offer.capacityMbps && c.region === offer.region && Number(c.services) === offer.services;
    if (same) return { action: "unchanged", txHashes: [], stake: current.stake };
    return { action: "updated", txHashes: [await send(registry, registryAbi, "updateOffer", [offer])], stake: current.stake };
  }
  const stake = p.stake ?? ((await publicClient.readContract({ address: registry, abi: registryAbi, functionName: "minStake" })) as bigint);
  const approve = await send(deployment.contracts.token, tokenAbi, "approve", [registry, stake]);
  const register = await send(registry, registryAbi, "register", [offer, stake]);
  return { action: "registered", txHashes: [approve, register], stake };
}
