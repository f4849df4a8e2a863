import { type Address, type Chain, type Hex, type PublicClient, type Transport } from "viem";
import { rewardsAbi, ticketBrokerAbi, vestingAbi } from "../../chain/abis.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { compactNonces, redeemedTicketsInLogs } from "../../chain/redeemedTickets.ts";

/**
 * One line of a provider's earnings, read from the chain's events (never from the node's own
 * bookkeeping, so the export is what an auditor finds on chain):
 * - `ticket`: a winning ticket redeemed (TicketRedeemed, or one of a TicketGroupRedeemed), split as the broker splits it: burn and
 *   treasury floored per ticket, `net` = gross - burn - treasury, the tokens the provider received;
 * - `reward`: an epoch's usage reward claimed (RewardClaimed): `reward` = minted into Vesting;
 * - `withdraw`: vested rewards withdrawn to the wallet (Vesting Withdrawn): `withdrawn`.
 * Money columns are token wei; `gas` is the row's share of its transaction's fee in the chain's
 * native coin (split evenly over the transaction's rows, the remainder on its first row, so the
 * column sums to the fees paid exactly).
 */
export type EarningRow = {
  kind: "ticket" | "reward" | "withdraw";
  /** Block timestamp, unix seconds. */
  time: number;
  block: bigint;
  /** Ticket: the epoch the redemption was recorded in; reward: the epoch rewarded. */
  epoch: bigint | undefined;
  txHash: Hex;
  logIndex: number;
  ticketHash: Hex | undefined;
  sender: Address | undefined;
  nonce: bigint | undefined;
  gross: bigint;
  burn: bigint;
  treasury: bigint;
  net: bigint;
  reward: bigint;
  withdrawn: bigint;
  gas: bigint;
};

/** A reward grant in Vesting: `amount` vests linearly from `startEpoch` over the vesting period. */
export type VestingGrant = { startEpoch: bigint; amount: bigint; txHash: Hex };

/** Everything the indexer has read so far. */
export type EarningsIndex = {
  rows: EarningRow[];
  grants: VestingGrant[];
  /** Epochs in which the provider's redemptions were recorded (candidates for rewards). */
  redeemedEpochs: Set<bigint>;
  /** Epochs the provider claimed. */
  claimedEpochs: Set<bigint>;
  /** The last block read. */
  toBlock: bigint;
};

/** The slice of a viem public client the indexer uses. */
export type EarningsReader = Pick<PublicClient<Transport, Chain>, "getBlockNumber" | "getContractEvents" | "getTransactionReceipt" | "getTransaction" | "getBlock">;

const BPS = 10_000n;

/**
 * Reads a provider's earnings from the chain's events, incrementally: each `sync()` reads the blocks
 * since the last one (in ranges of `maxRange` blocks, as public RPCs require) and returns the whole
 * index. The node keeps one for its dashboard; the CLI makes one per run.
 */
export function createEarningsIndexer({ publicClient, deployment, provider, maxRange = 10_000n }: {
  publicClient: EarningsReader;
  deployment: Deployment;
  provider: Address;
  maxRange?: bigint;
}) {
  const { broker, rewards, vesting } = deployment.contracts;
  const { burnBps, treasuryBps } = deployment.params;
  const index: EarningsIndex = { rows: [], grants: [], redeemedEpochs: new Set(), claimedEpochs: new Set(), toBlock: deployment.startBlock - 1n };
  const blockTimes = new Map<bigint, number>();
  let running: Promise<EarningsIndex> | undefined;

  const timeOf = async (block: bigint): Promise<number> => {
    let t = blockTimes.get(block);
    if (t === undefined) {
      t = Number((await publicClient.getBlock({ blockNumber: block })).timestamp);
      blockTimes.set(block, t);
    }
    return t;
  };
  const feeOf = async (txHash: Hex): Promise<bigint> => {
    const r = await publicClient.getTransactionReceipt({ hash: txHash });
    return r.gasUsed * r.effectiveGasPrice;
  };
  /** Splits a fee over rows: even shares, the remainder on the first. */
  const splitGas = (rows: EarningRow[], fee: bigint): void => {
    if (rows.length === 0) return;
    const share = fee / BigInt(rows.length);
    rows.forEach((r, i) => (r.gas = share + (i === 0 ? fee - share * BigInt(rows.length) : 0n)));
  };
  const row = (r: Partial<EarningRow> & Pick<EarningRow, "kind" | "time" | "block" | "txHash" | "logIndex">): EarningRow => ({
    epoch: undefined, ticketHash: undefined, sender: undefined, nonce: undefined,
    gross: 0n, burn: 0n, treasury: 0n, net: 0n, reward: 0n, withdrawn: 0n, gas: 0n, ...r,
  });

  async function readRange(fromBlock: bigint, toBlock: bigint): Promise<EarningRow[]> {
    const out: EarningRow[] = [];
    const redemptions = await publicClient.getContractEvents({ address: broker, abi: ticketBrokerAbi, eventName: "TicketsRedeemed", args: { recipient: provider }, fromBlock, toBlock });
    for (const ev of redemptions) {
      const { epoch } = ev.args as { epoch: bigint };
      index.redeemedEpochs.add(epoch);
      // The tickets of this call, from either event form (the broker redeems only the caller's tickets).
      const receipt = await publicClient.getTransactionReceipt({ hash: ev.transactionHash });
      const time = await timeOf(ev.blockNumber);
      const redeemed = redeemedTicketsInLogs(receipt.logs, broker);
      // A compact batch's events carry no nonces: read them from the call's input.
      const nonces = redeemed.some((t) => t.nonce === undefined)
        ? compactNonces((await publicClient.getTransaction({ hash: ev.transactionHash })).input, provider)
        : undefined;
      const tickets: EarningRow[] = redeemed.map(({ ticketHash, sender, nonce, paid, logIndex }) => {
        const burn = (paid * BigInt(burnBps)) / BPS;
        const treasury = (paid * BigInt(treasuryBps)) / BPS;
        return row({
          kind: "ticket", time, block: ev.blockNumber, epoch, txHash: ev.transactionHash, logIndex,
          ticketHash, sender, nonce: nonce ?? nonces?.get(ticketHash), gross: paid, burn, treasury, net: paid - burn - treasury,
        });
      });
      splitGas(tickets, receipt.gasUsed * receipt.effectiveGasPrice);
      out.push(...tickets);
    }
    const claims = await publicClient.getContractEvents({ address: rewards, abi: rewardsAbi, eventName: "RewardClaimed", args: { provider }, fromBlock, toBlock });
    const byTx = new Map<Hex, EarningRow[]>();
    for (const ev of claims) {
      const { epoch, minted } = ev.args as { epoch: bigint; minted: bigint };
      index.claimedEpochs.add(epoch);
      const r = row({ kind: "reward", time: await timeOf(ev.blockNumber), block: ev.blockNumber, epoch, txHash: ev.transactionHash, logIndex: ev.logIndex, reward: minted });
      byTx.set(ev.transactionHash, [...(byTx.get(ev.transactionHash) ?? []), r]);
    }
    for (const [tx, rows] of byTx) {
      splitGas(rows, await feeOf(tx));
      out.push(...rows);
    }
    const withdrawals = await publicClient.getContractEvents({ address: vesting, abi: vestingAbi, eventName: "Withdrawn", args: { provider }, fromBlock, toBlock });
    for (const ev of withdrawals) {
      const { amount } = ev.args as { amount: bigint };
      out.push(row({ kind: "withdraw", time: await timeOf(ev.blockNumber), block: ev.blockNumber, txHash: ev.transactionHash, logIndex: ev.logIndex, withdrawn: amount, gas: await feeOf(ev.transactionHash) }));
    }
    const grants = await publicClient.getContractEvents({ address: vesting, abi: vestingAbi, eventName: "Granted", args: { provider }, fromBlock, toBlock });
    for (const ev of grants) {
      const { startEpoch, amount } = ev.args as { startEpoch: bigint; amount: bigint };
      index.grants.push({ startEpoch, amount, txHash: ev.transactionHash });
    }
    return out;
  }

  async function sync(): Promise<EarningsIndex> {
    const latest = await publicClient.getBlockNumber();
    for (let from = index.toBlock + 1n; from <= latest; from += maxRange) {
      const to = from + maxRange - 1n < latest ? from + maxRange - 1n : latest;
      const rows = await readRange(from, to);
      rows.sort((a, b) => (a.block === b.block ? a.logIndex - b.logIndex : a.block < b.block ? -1 : 1));
      index.rows.push(...rows);
      index.toBlock = to;
    }
    return index;
  }

  return {
    /** Reads new blocks (one read at a time; concurrent callers share it) and returns the index. */
    sync(): Promise<EarningsIndex> {
      running ??= sync().finally(() => (running = undefined));
      return running;
    },
    /** The index as last read. */
    get index(): EarningsIndex {
      return index;
    },
  };
}
