import { parseEventLogs, type Account, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { rewardsAbi, vestingAbi } from "../../chain/abis.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { BaseError } from "../../protocol/errors.ts";

/** There is no finished, unclaimed epoch with a reward to claim. */
export class NothingToClaimError extends BaseError {
  override name = "NothingToClaimError";
  constructor() {
    super("No finished epoch has an unclaimed reward.", { details: "Rewards of an epoch become claimable when it ends, for epochs in which your redemptions burned tokens." });
  }
}

/** Nothing has vested beyond what was already withdrawn. */
export class NothingToWithdrawError extends BaseError {
  override name = "NothingToWithdrawError";
  constructor() {
    super("Nothing has vested that was not already withdrawn.", { details: "Claimed rewards vest linearly, epoch by epoch; see 'bandmint rewards status'." });
  }
}

/** An on-chain transaction of the provider reverted. */
export class OperatorTransactionError extends BaseError {
  override name = "OperatorTransactionError";
  constructor(what: string, txHash: Hex) {
    super(`The ${what} transaction ${txHash} reverted.`);
  }
}

/** The provider's signing clients. */
export type ProviderClients = {
  publicClient: Pick<PublicClient<Transport, Chain>, "waitForTransactionReceipt" | "simulateContract">;
  walletClient: WalletClient<Transport, Chain, Account>;
};

/**
 * Claims the rewards of `epochs` in one `Rewards.claimMany` transaction (simulated first, so a
 * claim that would revert names its custom error instead of spending gas), waits for it and
 * returns the hash and the amount minted into Vesting.
 */
export async function claimRewards({ publicClient, walletClient, deployment, epochs }: ProviderClients & { deployment: Deployment; epochs: readonly bigint[] }): Promise<{ txHash: Hex; epochs: bigint[]; minted: bigint }> {
  if (epochs.length === 0) throw new NothingToClaimError();
  const sorted = [...epochs].sort((a, b) => (a < b ? -1 : 1));
  const { request } = await publicClient.simulateContract({
    address: deployment.contracts.rewards, abi: rewardsAbi, functionName: "claimMany", args: [sorted], account: walletClient.account,
  });
  const txHash = await walletClient.writeContract(request);
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== "success") throw new OperatorTransactionError("claim", txHash);
  // What the mined transaction did, from its events (the simulation ran on an earlier block).
  const minted = parseEventLogs({ abi: rewardsAbi, logs: receipt.logs, eventName: "RewardClaimed" }).reduce((s, e) => s + e.args.minted, 0n);
  return { txHash, epochs: sorted, minted };
}

/** Withdraws everything vested from Vesting; returns the hash and the amount sent to the wallet. */
export async function withdrawVested({ publicClient, walletClient, deployment, withdrawable }: ProviderClients & { deployment: Deployment; withdrawable: bigint }): Promise<{ txHash: Hex; amount: bigint }> {
  if (withdrawable === 0n) throw new NothingToWithdrawError();
  const { request } = await publicClient.simulateContract({
    address: deployment.contracts.vesting, abi: vestingAbi, functionName: "withdraw", account: walletClient.account,
  });
  const txHash = await walletClient.writeContract(request);
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== "success") throw new OperatorTransactionError("withdraw", txHash);
  const amount = parseEventLogs({ abi: vestingAbi, logs: receipt.logs, eventName: "Withdrawn" }).reduce((s, e) => s + e.args.amount, 0n);
  return { txHash, amount };
}
