// Shared setup for client tests: sample content with a signed manifest, provider listings and a
// pool wired to real HTTP providers on 127.0.0.1.
import { createHash, randomBytes } from "node:crypto";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildManifest, mediaTypeFor, signManifest, type Manifest } from "../../src/protocol/manifest.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { signTicket } from "../../src/protocol/signTicket.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import type { ProviderListing } from "../../src/market/providerListing.ts";
import { createProviderStats, type ProviderStats } from "../../src/market/providerStats.ts";
import { createProviderPool, type ProviderPool, type ProviderPoolParameters } from "../../src/client/providerPool.ts";
import { openProviderSession, type OpenProviderSessionParameters } from "../../src/client/providerSession.ts";

// Hardhat's well-known development keys: test-only.
export const KEYS = {
  publisher: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  consumer: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  providerA: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  providerB: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
} as const satisfies Record<string, Hex>;

export const CHAIN_ID = 31337;
export const BROKER: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const PRICE = 10n ** 18n;

/** A content item: a multi-chunk file with a short last chunk, a small file, an empty file. */
export async function makeContent(chunkSize = 16 * 1024): Promise<{ manifest: Manifest; files: Map<string, Buffer> }> {
  const files = new Map<string, Buffer>([
    ["video/seg0.ts", randomBytes(10 * chunkSize + 1000)],
    ["index.m3u8", Buffer.from("#EXTM3U\n#EXT-X-VERSION:3\nseg0.ts\n")],
    ["empty.txt", Buffer.alloc(0)],
  ]);
  const publisher = privateKeyToAccount(KEYS.publisher);
  const unsigned = buildManifest({
    chunkSize,
    createdAt: 1_700_000_000,
    publisher: publisher.address,
    files: [...files].map(([path, data]) => {
      const chunks: string[] = [];
      for (let o = 0; o < data.length; o += chunkSize) chunks.push(createHash("sha256").update(data.subarray(o, o + chunkSize)).digest("hex"));
      return { path, size: BigInt(data.length), mediaType: mediaTypeFor(path), chunks };
    }),
  });
  return { manifest: await signManifest(unsigned, publisher), files };
}

/** The on-chain listing a provider at `url` would have. */
export function listingOf(key: Hex, url: string, pricePerGiB = PRICE): ProviderListing {
  return { provider: privateKeyToAccount(key).address, endpoint: url, pricePerGiB, capacityMbps: 1000n, region: "local", services: 1 };
}

/** A pool over fixed listings that signs tickets with the test consumer key (`session`: the sessions' fetch and control-request timeout). */
export function makePool(
  listings: ProviderListing[],
  extra: Partial<ProviderPoolParameters> = {},
  session: Partial<Pick<OpenProviderSessionParameters, "fetch" | "requestTimeoutMs">> = {},
): { pool: ProviderPool; stats: ProviderStats } {
  const stats = extra.stats ?? createProviderStats();
  const consumer = privateKeyToAccount(KEYS.consumer);
  const domain = ticketDomain(CHAIN_ID, BROKER);
  const pool = createProviderPool({
    listings: async () => listings,
    stats,
    openSession: (listing, signal) =>
      openProviderSession({
        listing,
        chainId: CHAIN_ID,
        broker: BROKER,
        sender: consumer.address,
        sign: (ticket) => signTicket({ ticket, domain, privateKey: KEYS.consumer }),
        signSession: (message) => signSessionRequest({ message, domain, privateKey: KEYS.consumer }),
        signal,
        ...session,
      }),
    ...extra,
  });
  return { pool, stats };
}

/** sha256 hex of a buffer. */
export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
