import { getAddress, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { bandTokenAbi, rewardsAbi, ticketBrokerAbi } from "./abis.ts";
import { loadArtifact } from "./artifacts.ts";
import type { Deployment, DeploymentParams } from "./deployment.ts";

/** Deploy-time choices; everything has a default suited to a local network. */
export type DeployParameters = {
  tokenName?: string;
  tokenSymbol?: string;
  /** Genesis allocation minted by the token's constructor (the demo's funded accounts). */
  genesis?: { address: Address; amount: bigint }[];
  cap?: bigint;
  burnBps?: number;
  treasuryBps?: number;
  /** Defaults to the deployer. */
  treasury?: Address;
  unlockPeriod?: bigint;
  epochLength?: bigint;
  /** 0 = the broker's deploy block time. */
  genesisTime?: bigint;
  minStake?: bigint;
  unstakeDelay?: bigint;
  /** Reward schedule (Rewards contract): tokens per epoch at first, decaying by decayBps
   * (share retained) every decayPeriodEpochs; usage rewards capped at kBps/10000 x burned. */
  initialEmission?: bigint;
  decayPeriodEpochs?: bigint;
  decayBps?: bigint;
  kBps?: bigint;
  vestingEpochs?: bigint;
};

export const TOKEN = 10n ** 18n;

/** Defaults: 1e9 token cap, 20% burn, 5% treasury, 2-day unlock, 1-hour epochs, 100-token stake. */
export const defaultDeployParameters = {
  tokenName: "bandmint",
  tokenSymbol: "BAND",
  cap: 1_000_000_000n * TOKEN,
  burnBps: 2_000,
  treasuryBps: 500,
  unlockPeriod: 2n * 24n * 3600n,
  epochLength: 3600n,
  genesisTime: 0n,
  minStake: 100n * TOKEN,
  unstakeDelay: 7n * 24n * 3600n,
  // 10,000 tokens per hourly epoch, halving yearly: at most ~175M tokens ever, under the cap.
  initialEmission: 10_000n * TOKEN,
  decayPeriodEpochs: 8_760n,
  decayBps: 5_000n,
  kBps: 8_000n,
  vestingEpochs: 720n,
} as const;

export type DeployAllParameters = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  rpcUrl: string;
  params?: DeployParameters;
  /** Where the compiled artifacts are; defaults to the package's. */
  artifactsRoot?: string;
  log?: (line: string) => void;
};

/**
 * Deploys BandToken, ProviderRegistry, TicketBroker and Rewards (which creates its Vesting), in
 * that order since each takes the previous ones' addresses; grants Rewards the minter role; and
 * returns the deployment record the node and client read.
 */
export async function deployAll(p: DeployAllParameters): Promise<Deployment> {
  const { publicClient, walletClient } = p;
  const q = { ...defaultDeployParameters, ...p.params };
  const deployer = walletClient.account.address;
  const treasury = q.treasury ?? deployer;
  const genesis = q.genesis ?? [];
  const startBlock = await publicClient.getBlockNumber();

  const deploy = async (name: string, args: unknown[]): Promise<{ address: Address; block: bigint }> => {
    const artifact = await loadArtifact(name, p.artifactsRoot);
    const hash: Hex = await walletClient.deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed in tx ${hash}`);
    p.log?.(`${name.padEnd(16)} ${receipt.contractAddress}`);
    return { address: getAddress(receipt.contractAddress), block: receipt.blockNumber };
  };

  const token = await deploy("BandToken", [
    q.tokenName,
    q.tokenSymbol,
    q.cap,
    deployer,
    genesis.map((g) => g.address),
    genesis.map((g) => g.amount),
  ]);
  const registry = await deploy("ProviderRegistry", [token.address, q.minStake, q.unstakeDelay]);
  const broker = await deploy("TicketBroker", [
    token.address,
    registry.address,
    treasury,
    q.burnBps,
    q.treasuryBps,
    q.unlockPeriod,
    q.epochLength,
    q.genesisTime,
  ]);
  const rewards = await deploy("Rewards", [
    broker.address,
    token.address,
    {
      initialEmission: q.initialEmission,
      decayPeriodEpochs: q.decayPeriodEpochs,
      decayBps: q.decayBps,
      kBps: q.kBps,
      vestingEpochs: q.vestingEpochs,
    },
  ]);
  const vesting = await publicClient.readContract({ address: rewards.address, abi: rewardsAbi, functionName: "vesting" });
  // Rewards is the only minter: emission can only come from paid, burned-against usage.
  const minterRole = await publicClient.readContract({ address: token.address, abi: bandTokenAbi, functionName: "MINTER_ROLE" });
  const grant = await walletClient.writeContract({
    address: token.address,
    abi: bandTokenAbi,
    functionName: "grantRole",
    args: [minterRole, rewards.address],
  });
  const granted = await publicClient.waitForTransactionReceipt({ hash: grant });
  if (granted.status !== "success") throw new Error(`granting MINTER_ROLE to Rewards failed in tx ${grant}`);
  const genesisTime = await publicClient.readContract({ address: broker.address, abi: ticketBrokerAbi, functionName: "genesisTime" });
  const params: DeploymentParams = {
    cap: q.cap,
    burnBps: q.burnBps,
    treasuryBps: q.treasuryBps,
    treasury,
    unlockPeriod: q.unlockPeriod,
    epochLength: q.epochLength,
    genesisTime,
    minStake: q.minStake,
    unstakeDelay: q.unstakeDelay,
    initialEmission: q.initialEmission,
    decayPeriodEpochs: q.decayPeriodEpochs,
    decayBps: q.decayBps,
    kBps: q.kBps,
    vestingEpochs: q.vestingEpochs,
  };
  return {
    chainId: await publicClient.getChainId(),
    rpcUrl: p.rpcUrl,
    startBlock: startBlock + 1n,
    contracts: {
      token: token.address,
      registry: registry.address,
      broker: broker.address,
      rewards: rewards.address,
      vesting: getAddress(vesting),
    },
    params,
  };
}
