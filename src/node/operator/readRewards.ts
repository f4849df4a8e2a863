import type { Address, Chain, PublicClient, Transport } from "viem";
import { rewardsAbi, ticketBrokerAbi, vestingAbi } from "../../chain/abis.ts";
import type { Deployment } from "../../chain/deployment.ts";
import type { EarningsIndex } from "./earningsIndexer.ts";

/** A finished epoch whose usage reward the provider has not claimed (before the supply-cap clamp). */
export type ClaimableEpoch = { epoch: bigint; amount: bigint; endedAt: number };

/** A grant's vesting: `amount` vests linearly from `startEpoch` and is all vested at `vestedEpoch`. */
export type VestingTranche = { startEpoch: bigint; amount: bigint; vestedEpoch: bigint; vestedAt: number };

/** The provider's rewards: what it can claim, and its vesting account. Token wei. */
export type RewardsSnapshot = {
  currentEpoch: bigint;
  epochLength: bigint;
  /** When the current epoch ends (unix seconds): its reward becomes claimable then. */
  epochEndsAt: number;
  claimable: ClaimableEpoch[];
  claimableTotal: bigint;
  vesting: {
    vestingEpochs: bigint;
    granted: bigint;
    vested: bigint;
    withdrawn: bigint;
    /** What `withdraw` sends now: vested - withdrawn. */
    withdrawable: bigint;
    /** Not vested yet: granted - vested. */
    locked: bigint;
    tranches: VestingTranche[];
  };
};

/**
 * Reads the provider's rewards from the chain: the finished epochs in which its redemptions were
 * recorded and that it has not claimed, with `Rewards.rewardOf` (epochs with nothing to claim are
 * left out), and its Vesting account with one tranche per grant. The candidate epochs and the
 * grants come from the earnings index (events), the amounts from the contracts' views.
 */
export async function readRewards({ publicClient, deployment, provider, index }: {
  publicClient: Pick<PublicClient<Transport, Chain>, "readContract">;
  deployment: Deployment;
  provider: Address;
  index: Pick<EarningsIndex, "redeemedEpochs" | "claimedEpochs" | "grants">;
}): Promise<RewardsSnapshot> {
  const { broker, rewards, vesting } = deployment.contracts;
  const { epochLength, genesisTime, vestingEpochs } = deployment.params;
  const at = (epoch: bigint): number => Number(genesisTime + epoch * epochLength);
  const currentEpoch = await publicClient.readContract({ address: broker, abi: ticketBrokerAbi, functionName: "currentEpoch" });
  const candidates = [...index.redeemedEpochs].filter((e) => e < currentEpoch && !index.claimedEpochs.has(e)).sort((a, b) => (a < b ? -1 : 1));
  const claimable: ClaimableEpoch[] = [];
  for (const epoch of candidates) {
    const [amount, claimed] = await Promise.all([
      publicClient.readContract({ address: rewards, abi: rewardsAbi, functionName: "rewardOf", args: [epoch, provider] }),
      publicClient.readContract({ address: rewards, abi: rewardsAbi, functionName: "claimed", args: [epoch, provider] }),
    ]);
    if (amount > 0n && !claimed) claimable.push({ epoch, amount, endedAt: at(epoch + 1n) });
  }
  const [granted, vested, withdrawn] = await Promise.all([
    publicClient.readContract({ address: vesting, abi: vestingAbi, functionName: "grantedOf", args: [provider] }),
    publicClient.readContract({ address: vesting, abi: vestingAbi, functionName: "vestedOf", args: [provider] }),
    publicClient.readContract({ address: vesting, abi: vestingAbi, functionName: "withdrawnOf", args: [provider] }),
  ]);
  const tranches = new Map<bigint, VestingTranche>();
  for (const g of index.grants) {
    const t = tranches.get(g.startEpoch);
    if (t !== undefined) t.amount += g.amount; // grants of one epoch vest as one tranche (Vesting merges them)
    else tranches.set(g.startEpoch, { startEpoch: g.startEpoch, amount: g.amount, vestedEpoch: g.startEpoch + vestingEpochs, vestedAt: at(g.startEpoch + vestingEpochs) });
  }
  return {
    currentEpoch,
    epochLength,
    epochEndsAt: at(currentEpoch + 1n),
    claimable,
    claimableTotal: claimable.reduce((s, c) => s + c.amount, 0n),
    vesting: {
      vestingEpochs,
      granted,
      vested,
      withdrawn,
      withdrawable: vested - withdrawn,
      locked: granted - vested,
      tranches: [...tranches.values()].sort((a, b) => (a.startEpoch < b.startEpoch ? -1 : 1)),
    },
  };
}
