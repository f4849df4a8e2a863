import type { Address } from "viem";
import type { Service } from "../protocol/wire.ts";

/** Services bitmask of an on-chain offer (ProviderRegistry `Offer.services`). */
export const SERVICE_CDN = 1;
/** Relay service bit. */
export const SERVICE_RELAY = 2;

/** One active provider's on-chain offer: what the client trusts about price and endpoint. */
export type ProviderListing = {
  /** Registered address; also the ticket recipient (only it can redeem). */
  provider: Address;
  /** Base URL of the provider's node, e.g. `http://203.0.113.7:8080`. */
  endpoint: string;
  /** Price in token wei per 2^30 bytes. */
  pricePerGiB: bigint;
  capacityMbps: bigint;
  region: string;
  services: number;
};

/** True when the listing offers `service`. */
export function offersService(listing: ProviderListing, service: Service): boolean {
  return (listing.services & (service === "relay" ? SERVICE_RELAY : SERVICE_CDN)) !== 0;
}
