import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { hexToSignature } from "viem";
import { bandTokenAbi, ticketBrokerAbi } from "../chain/abis.ts";
import type { Deployment } from "../chain/deployment.ts";
import { BaseError } from "../protocol/errors.ts";

/** Chain access the broker operations need: a public client and, to transact, a wallet client. */
export type BrokerClients = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient?: WalletClient<Transport, Chain, Account> | undefined;
};

/** A consumer's money: wallet tokens and what the TicketBroker holds for it. */
export type BrokerBalance = {
  address: Address;
  tokenBalance: bigint;
  deposit: bigint;
  reserve: bigint;
  /** 0 when not unlocking; else the unix time from which `withdraw` succeeds. */
  withdrawTime: bigint;
  state: "locked" | "unlocking" | "withdrawable";
  /** The chain's latest block time (unlock state is judged against it, not the local clock). */
  chainTime: bigint;
};

/** A transaction is needed but no key was given, or the chain refused it. */
export class BrokerActionError extends BaseError {
  override name = "BrokerActionError";
  constructor(shortMessage: string, options: { cause?: unknown; details?: string } = {}) {
    super(shortMessage, options);
  }
}

const wallet = (c: BrokerClients) => {
  if (c.walletClient === undefined) throw new BrokerActionError("This needs a private key: pass --key or set BANDMINT_KEY.");
  return c.walletClient;
};

/** Reads the token balance and the broker's deposit, reserve and unlock state of `address`. */
export async function readBrokerBalance(c: BrokerClients, deployment: Deployment, address: Address): Promise<BrokerBalance> {
  const [tokenBalance, [deposit, reserve, withdrawTime], block] = await Promise.all([
    c.publicClient.readContract({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "balanceOf", args: [address] }),
    c.publicClient.readContract({ address: deployment.contracts.broker, abi: ticketBrokerAbi, functionName: "getSender", args: [address] }),
    c.publicClient.getBlock(),
  ]);
  const wt = BigInt(withdrawTime);
  const state = wt === 0n ? "locked" : block.timestamp >= wt ? "withdrawable" : "unlocking";
  return { address, tokenBalance, deposit, reserve, withdrawTime: wt, state, chainTime: block.timestamp };
}

/** Options of `fundBroker`. */
export type FundBrokerParameters = {
  deposit: bigint;
  reserve: bigint;
  /** Fund with an EIP-2612 permit (one transaction) instead of approve + fund (two). Default true. */
  permit?: boolean;
  /** Seconds the permit stays valid. */
  permitTtl?: bigint;
};

/**
 * Moves tokens into the TicketBroker as deposit (pays tickets) and reserve (backs them when the
 * deposit runs out). With `permit` the approval is an off-chain EIP-2612 signature consumed by
 * `fundDepositAndReserveWithPermit`, so funding costs one transaction.
 */
export async function fundBroker(c: BrokerClients, deployment: Deployment, p: FundBrokerParameters): Promise<{ hashes: Hex[] }> {
  const w = wallet(c);
  const owner = w.account.address;
  const total = p.deposit + p.reserve;
  if (total === 0n) throw new BrokerActionError("Nothing to fund: the deposit and reserve are both 0.");
  const balance = await c.publicClient.readContract({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "balanceOf", args: [owner] });
  if (balance < total) throw new BrokerActionError(`Not enough tokens: ${owner} holds ${balance} wei, funding needs ${total} wei.`);
  const hashes: Hex[] = [];
  const send = async (request: Parameters<typeof w.writeContract>[0]) => {
    const { request: simulated } = await c.publicClient.simulateContract({ ...request, account: w.account } as never);
    const hash = await w.writeContract(simulated as never);
    const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BrokerActionError(`Transaction ${hash} reverted.`);
    hashes.push(hash);
  };
  if (p.permit ?? true) {
    const block = await c.publicClient.getBlock();
    const deadline = block.timestamp + (p.permitTtl ?? 3600n);
    const [nonce, name] = await Promise.all([
      c.publicClient.readContract({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "nonces", args: [owner] }),
      c.publicClient.readContract({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "name" }),
    ]);
    const signature = await w.signTypedData({
      domain: { name, version: "1", chainId: deployment.chainId, verifyingContract: deployment.contracts.token },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner, spender: deployment.contracts.broker, value: total, nonce, deadline },
    });
    const { r, s, v } = hexToSignature(signature);
    await send({
      address: deployment.contracts.broker,
      abi: ticketBrokerAbi,
      functionName: "fundDepositAndReserveWithPermit",
      args: [p.deposit, p.reserve, deadline, Number(v), r, s],
    } as never);
    return { hashes };
  }
  const allowance = await c.publicClient.readContract({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "allowance", args: [owner, deployment.contracts.broker] });
  if (allowance < total) {
    await send({ address: deployment.contracts.token, abi: bandTokenAbi, functionName: "approve", args: [deployment.contracts.broker, total] } as never);
  }
  await send({ address: deployment.contracts.broker, abi: ticketBrokerAbi, functionName: "fundDepositAndReserve", args: [p.deposit, p.reserve] } as never);
  return { hashes };
}

/** What `withdrawFromBroker` did. */
export type WithdrawOutcome =
  | { action: "unlocked"; withdrawTime: bigint; hash: Hex }
  | { action: "waiting"; withdrawTime: bigint; chainTime: bigint }
  | { action: "withdrawn"; amount: bigint; hash: Hex }
  | { action: "cancelled"; hash: Hex }
  | { action: "nothing" };

/**
 * One step of leaving the broker: starts the unlock if none is pending, withdraws everything once
 * the unlock period has passed, and otherwise says when that will be. With `cancel` it stops a
 * pending unlock so the deposit can pay tickets again.
 */
export async function withdrawFromBroker(c: BrokerClients, deployment: Deployment, p: { cancel?: boolean } = {}): Promise<WithdrawOutcome> {
  const w = wallet(c);
  const balance = await readBrokerBalance(c, deployment, w.account.address);
  const tx = async (functionName: "unlock" | "withdraw" | "cancelUnlock"): Promise<Hex> => {
    const { request } = await c.publicClient.simulateContract({ address: deployment.contracts.broker, abi: ticketBrokerAbi, functionName, account: w.account } as never);
    const hash = await w.writeContract(request as never);
    const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BrokerActionError(`Transaction ${hash} (${functionName}) reverted.`);
    return hash;
  };
  if (p.cancel) {
    if (balance.state === "locked") return { action: "nothing" };
    return { action: "cancelled", hash: await tx("cancelUnlock") };
  }
  if (balance.deposit + balance.reserve === 0n) return { action: "nothing" };
  if (balance.state === "locked") {
    const hash = await tx("unlock");
    const after = await readBrokerBalance(c, deployment, w.account.address);
    return { action: "unlocked", withdrawTime: after.withdrawTime, hash };
  }
  if (balance.state === "unlocking") return { action: "waiting", withdrawTime: balance.withdrawTime, chainTime: balance.chainTime };
  return { action: "withdrawn", amount: balance.deposit + balance.reserve, hash: await tx("withdraw") };
}
