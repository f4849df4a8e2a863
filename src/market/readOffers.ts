import type { Address } from "viem";
import { providerRegistryAbi } from "../chain/abis.ts";
import type { ProviderListing } from "./providerListing.ts";

/** The slice of a viem public client `readOffers` needs. */
export type OfferReader = {
  readContract(args: {
    address: Address;
    abi: typeof providerRegistryAbi;
    functionName: "getOffers";
    args: readonly [bigint, bigint];
  }): Promise<readonly [readonly Address[], readonly { endpoint: string; pricePerGiB: bigint; capacityMbps: bigint; region: string; services: number }[]]>;
};

/** Options of `readOffers`. */
export type ReadOffersParameters = {
  publicClient: OfferReader;
  registry: Address;
  /** Offers per eth_call; the registry returns at most `limit` per page. */
  pageSize?: number;
  signal?: AbortSignal | undefined;
};

/** Reads every active provider's offer from the ProviderRegistry, page by page. */
export async function readOffers(p: ReadOffersParameters): Promise<ProviderListing[]> {
  const pageSize = BigInt(p.pageSize ?? 100);
  const listings: ProviderListing[] = [];
  for (let offset = 0n; ; offset += pageSize) {
    p.signal?.throwIfAborted();
    const [providers, offers] = await p.publicClient.readContract({
      address: p.registry,
      abi: providerRegistryAbi,
      functionName: "getOffers",
      args: [offset, pageSize],
    });
    providers.forEach((provider, i) => {
      const o = offers[i];
      if (o === undefined) return;
      listings.push({
        provider,
        endpoint: o.endpoint.replace(/\/+$/, ""),
        pricePerGiB: o.pricePerGiB,
        capacityMbps: BigInt(o.capacityMbps),
        region: o.region,
        services: Number(o.services),
      });
    });
    // A short page is the last one; the active set may change between pages (swap-and-pop), so a
    // provider can be missed or seen twice in a rare race: dedupe below, and a miss costs nothing.
    if (BigInt(providers.length) < pageSize) break;
  }
  const seen = new Set<string>();
  return listings.filter((l) => !seen.has(l.provider.toLowerCase()) && seen.add(l.provider.toLowerCase()));
}
