import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Account,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ChainUnavailableError } from "./errors.ts";

/** viem clients bound to one chain, with an optional signing account. */
export type ChainClients = {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  walletClient?: WalletClient<Transport, Chain, Account> | undefined;
  account?: Account | undefined;
};

export type CreateChainClientsParameters = {
  rpcUrl: string;
  privateKey?: Hex | undefined;
  /** Skip the eth_chainId round trip when the caller already knows it (e.g. from a deployment). */
  chainId?: number | undefined;
  /** Receipt polling interval; local chains mine instantly, so the default is short. */
  pollingInterval?: number | undefined;
  /** The fetch JSON-RPC requests go through (default: the global one, undici). */
  fetch?: typeof globalThis.fetch | undefined;
};

/** Creates viem clients for the chain at `rpcUrl` (HTTP JSON-RPC). */
export async function createChainClients(p: CreateChainClientsParameters): Promise<ChainClients> {
  const transport = http(p.rpcUrl, { retryCount: 2, timeout: 30_000, ...(p.fetch !== undefined ? { fetchFn: p.fetch } : {}) });
  let chainId = p.chainId;
  if (chainId === undefined) {
    try {
      const probe = createPublicClient({ transport });
      chainId = await probe.getChainId();
    } catch (cause) {
      throw new ChainUnavailableError(p.rpcUrl, { cause });
    }
  }
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [p.rpcUrl] } },
  });
  const pollingInterval = p.pollingInterval ?? 200;
  const publicClient = createPublicClient({ chain, transport, pollingInterval });
  if (p.privateKey === undefined) return { chain, publicClient };
  const account = privateKeyToAccount(p.privateKey);
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval });
  return { chain, publicClient, walletClient, account };
}
