import {
  BaseError as ViemBaseError,
  ContractFunctionRevertedError,
  decodeEventLog,
  encodeFunctionData,
  keccak256,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { redeemedTicketsInLogs } from "../chain/redeemedTickets.ts";
import { encodeCompactBatch, type RedeemItem } from "../protocol/compactBatch.ts";
import { CompactBatchError } from "../protocol/errors.ts";
import type { SenderFunds } from "./payments/fundsCache.ts";
import { rpcUrlOf, toChainUnavailable } from "./toChainUnavailable.ts";

export type { RedeemItem };

/** A redemption the broker would refuse: the custom error's name and arguments. */
export type RedeemRevert = { errorName: string; args: readonly unknown[] };

/** What a mined redemption did, from its receipt and the broker's events. */
export type RedeemReceipt = {
  status: "success" | "reverted";
  gasUsed: bigint;
  gasCost: bigint;
  /** Per-ticket paid amount by EIP-712 struct hash (TicketRedeemed and TicketGroupRedeemed events). */
  paidByTicket: Map<Hex, bigint>;
  totals: { paid: bigint; burned: bigint; treasury: bigint };
};

/** The node's view of the TicketBroker: reads, simulation and durable-hash redemption. */
export type BrokerClient = {
  address: Address;
  getSender(sender: Address): Promise<SenderFunds>;
  lastNonce(sender: Address): Promise<bigint>;
  /** Estimates gas for redeeming `items`; returns the broker's custom error if it would revert. */
  simulateRedeem(items: readonly RedeemItem[]): Promise<{ ok: true; gas: bigint } | { ok: false; revert: RedeemRevert }>;
  /**
   * Signs the redemption transaction, calls `beforeSend(txHash)` (the caller records it durably),
   * then broadcasts it. A crash between the two leaves a recorded hash the chain never saw, which
   * reconciliation treats as "not sent"; the opposite order could lose a sent transaction.
   */
  sendRedeem(items: readonly RedeemItem[], gas: bigint, beforeSend: (txHash: Hex) => void): Promise<Hex>;
  /** The receipt of a redemption, undefined if not mined; `known` tells whether the chain has the tx at all. */
  getReceipt(txHash: Hex): Promise<RedeemReceipt | undefined>;
  isKnownTransaction(txHash: Hex): Promise<boolean>;
  gasPrice(): Promise<bigint>;
};

/** Dependencies of the broker client: viem clients of the provider's account and the broker ABI. */
export type CreateBrokerClientParameters = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  broker: Address;
  abi: Abi;
};

function revertOf(error: unknown): RedeemRevert | undefined {
  if (!(error instanceof ViemBaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted === null) return undefined;
  return { errorName: reverted.data?.errorName ?? reverted.reason ?? "UnknownRevert", args: reverted.data?.args ?? [] };
}

/**
 * Creates the broker client over viem. Every method reports an RPC outage as ChainUnavailableError
 * (the node answers 503 "retry" for it, not 500).
 */
export function createBrokerClient(p: CreateBrokerClientParameters): BrokerClient {
  const client = createViemBrokerClient(p);
  const rpcUrl = rpcUrlOf(p.publicClient);
  const wrapped = { ...client };
  for (const key of Object.keys(client) as (keyof BrokerClient)[]) {
    const f = client[key];
    if (typeof f !== "function") continue;
    (wrapped as Record<string, unknown>)[key] = async (...args: unknown[]) => {
      try {
        return await (f as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        throw toChainUnavailable(error, rpcUrl);
      }
    };
  }
  return wrapped;
}

/**
 * The broker call that redeems `items` for `recipient`: `redeemTicketsCompact` (about a fifth of
 * the calldata and two thirds of the gas at 32 tickets: bench/gas.ts), unless the compact encoding
 * cannot carry the batch exactly (a ticket of another recipient, a non-canonical signature, a
 * recipientRand that does not match, a nonce above 2^64 - 1). Then `redeemTickets` takes it as it
 * is, and names the bad ticket with the broker's own error, which the redeemer acts on.
 */
export function redeemCall(items: readonly RedeemItem[], recipient: Address) {
  if (items.every((i) => i.ticket.recipient.toLowerCase() === recipient.toLowerCase())) {
    try {
      return { functionName: "redeemTicketsCompact", args: [encodeCompactBatch(items)] } as const;
    } catch (error) {
      if (!(error instanceof CompactBatchError)) throw error;
    }
  }
  return {
    functionName: "redeemTickets",
    args: [items.map((i) => i.ticket), items.map((i) => i.signature), items.map((i) => i.recipientRand)],
  } as const;
}

function createViemBrokerClient({ publicClient, walletClient, broker, abi }: CreateBrokerClientParameters): BrokerClient {
  const recipient = walletClient.account.address;
  return {
    address: broker,
    async getSender(sender) {
      // Of the reserve, only this node's share backs its tickets (the reserve bound, ARCHITECTURE.md):
      // what the broker would still let it draw, not what other providers may draw.
      const [[deposit, , withdrawTime], reserve] = await Promise.all([
        publicClient.readContract({ address: broker, abi, functionName: "getSender", args: [sender] }) as Promise<readonly [bigint, bigint, bigint | number]>,
        publicClient.readContract({ address: broker, abi, functionName: "claimableReserve", args: [sender, recipient] }) as Promise<bigint>,
      ]);
      return { deposit, reserve, withdrawTime: BigInt(withdrawTime) };
    },
    async lastNonce(sender) {
      return (await publicClient.readContract({ address: broker, abi, functionName: "lastNonce", args: [sender, recipient] })) as bigint;
    },
    async simulateRedeem(items) {
      try {
        const gas = await publicClient.estimateContractGas({ address: broker, abi, ...redeemCall(items, recipient), account: walletClient.account });
        return { ok: true, gas };
      } catch (error) {
        const revert = revertOf(error);
        if (revert === undefined) throw error;
        return { ok: false, revert };
      }
    },
    async sendRedeem(items, gas, beforeSend) {
      const data = encodeFunctionData({ abi, ...redeemCall(items, recipient) });
      // 20% headroom: the estimate is exact for the simulated state; warm slots can differ.
      const request = await walletClient.prepareTransactionRequest({ to: broker, data, gas: (gas * 12n) / 10n, account: walletClient.account, chain: walletClient.chain });
      const serializedTransaction = await walletClient.signTransaction(request as never);
      const txHash = keccak256(serializedTransaction);
      beforeSend(txHash);
      await walletClient.sendRawTransaction({ serializedTransaction });
      return txHash;
    },
    async getReceipt(txHash) {
      let receipt;
      try {
        receipt = await publicClient.getTransactionReceipt({ hash: txHash });
      } catch (error) {
        if ((error as { name?: string }).name === "TransactionReceiptNotFoundError") return undefined;
        throw error;
      }
      const paidByTicket = new Map<Hex, bigint>();
      for (const t of redeemedTicketsInLogs(receipt.logs, broker)) paidByTicket.set(t.ticketHash, t.paid);
      const totals = { paid: 0n, burned: 0n, treasury: 0n };
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== broker.toLowerCase()) continue;
        try {
          const ev = decodeEventLog({ abi, data: log.data, topics: log.topics }) as unknown as { eventName: string; args: Record<string, unknown> };
          if (ev.eventName === "TicketsRedeemed") {
            totals.paid += ev.args.paid as bigint;
            totals.burned += ev.args.burned as bigint;
            totals.treasury += ev.args.treasury as bigint;
          }
        } catch {
          // Not one of ours (e.g. a token Transfer emitted at the broker address): skip.
        }
      }
      return {
        status: receipt.status,
        gasUsed: receipt.gasUsed,
        gasCost: receipt.gasUsed * receipt.effectiveGasPrice,
        paidByTicket,
        totals,
      };
    },
    async isKnownTransaction(txHash) {
      try {
        await publicClient.getTransaction({ hash: txHash });
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === "TransactionNotFoundError") return false;
        throw error;
      }
    },
    gasPrice: () => publicClient.getGasPrice(),
  };
}
