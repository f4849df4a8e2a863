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
import { privateKeyToAccount, toAccount, type LocalAccount, type PrivateKeyAccount } from "viem/accounts";
import { privateKeyAddress } from "../protocol/secp256k1.ts";
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
  const account = keyAccount(p.privateKey);
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval });
  return { chain, publicClient, walletClient, account };
}

/**
 * viem's privateKeyToAccount, made on its first signature: the address comes from this process's
 * secp256k1 backend (privateKeyAddress says why), so a node that has not redeemed yet has not
 * built @noble/curves' tables. Every signing call is viem's own account's.
 */
export function keyAccount(privateKey: Hex): LocalAccount {
  const address = privateKeyAddress(privateKey);
  let real: PrivateKeyAccount | undefined;
  const account = (): PrivateKeyAccount => {
    real ??= privateKeyToAccount(privateKey);
    if (real.address !== address) throw new Error(`secp256k1 backends disagree on the address of a key: ${real.address} vs ${address}`);
    return real;
  };
  return toAccount({
    address,
    sign: (parameters) => account().sign(parameters),
    signAuthorization: (authorization) => account().signAuthorization(authorization),
    signMessage: (parameters) => account().signMessage(parameters),
    signTransaction: (transaction, options) => account().signTransaction(transaction, options),
    signTypedData: (typedData) => account().signTypedData(typedData),
  });
}
