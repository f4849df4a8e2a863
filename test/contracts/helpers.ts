// Shared helpers of the viem contract tests: revert assertions and event lookups.
import assert from "node:assert/strict";
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  parseEventLogs,
  type Abi,
  type Hash,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";

/** Options of expectRevert. */
export type ExpectRevertOptions = {
  /**
   * ABI to decode the revert data with when the called contract's own ABI lacks the error (a
   * revert bubbled up from another contract, e.g. the token's ERC20InsufficientAllowance).
   */
  abi?: Abi;
  /** When given, the decoded error arguments must deep-equal these. */
  args?: readonly unknown[];
};

/**
 * Awaits `promise`, asserts that it rejected with the custom error `errorName`, and returns the
 * decoded error arguments (viem surfaces reverts as ContractFunctionRevertedError).
 */
export async function expectRevert(
  promise: Promise<unknown>,
  errorName: string,
  options: ExpectRevertOptions = {},
): Promise<readonly unknown[]> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a revert with ${errorName}, but the call succeeded`);
  assert.ok(caught instanceof BaseError, `expected a viem error, got ${String(caught)}`);
  const reverted = caught.walk((e) => e instanceof ContractFunctionRevertedError);
  let name: string | undefined;
  let args: readonly unknown[] = [];
  let raw: Hex | undefined;
  if (reverted instanceof ContractFunctionRevertedError) {
    name = reverted.data?.errorName;
    args = reverted.data?.args ?? [];
    raw = reverted.raw;
  } else {
    // Deployments and raw sends are not ContractFunction errors: the revert data sits on the
    // innermost RPC error of the cause chain.
    raw = revertData(caught);
  }
  if (name === undefined && raw !== undefined && options.abi !== undefined) {
    const decoded = decodeErrorResult({ abi: options.abi, data: raw });
    name = decoded.errorName;
    args = decoded.args ?? [];
  }
  assert.equal(name ?? `<undecoded ${raw ?? caught.shortMessage}>`, errorName);
  if (options.args !== undefined) assert.deepEqual(args, options.args);
  return args;
}

function revertData(error: unknown): Hex | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data as Hex;
  }
  return undefined;
}

/** A decoded event: its name and named arguments. */
export type DecodedEvent = { eventName: string; args: Record<string, unknown>; address: string };

/** Waits for the receipt of `hash`, asserts success, and returns its events decoded with `abi`. */
export async function receiptEvents(publicClient: PublicClient, hash: Hash, abi: Abi): Promise<DecodedEvent[]> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return parseEventLogs({ abi, logs: receipt.logs as Log[] }).map((e) => ({
    eventName: e.eventName as string,
    args: e.args as Record<string, unknown>,
    address: e.address,
  }));
}

/** Returns the single event named `eventName` among `events`, failing if there is not exactly one. */
export function findEvent(events: DecodedEvent[], eventName: string): Record<string, unknown> {
  const matches = events.filter((e) => e.eventName === eventName);
  assert.equal(matches.length, 1, `expected one ${eventName} event, got ${matches.length}`);
  return matches[0]!.args;
}

/** Moves the chain clock forward by `seconds` and mines a block (networkHelpers are not installed). */
export async function increaseTime(publicClient: PublicClient, seconds: bigint | number): Promise<void> {
  await publicClient.request({ method: "evm_increaseTime" as never, params: [Number(seconds)] as never });
  await publicClient.request({ method: "evm_mine" as never, params: [] as never });
}

/**
 * Makes the next block's timestamp exactly `timestamp` (later than the latest block's). Unlike
 * increaseTime, the real time a loaded machine spends before that block is mined does not move it.
 */
export async function setNextBlockTimestamp(publicClient: PublicClient, timestamp: bigint): Promise<void> {
  await publicClient.request({ method: "evm_setNextBlockTimestamp" as never, params: [Number(timestamp)] as never });
}

/** The timestamp of the latest block. */
export async function latestTimestamp(publicClient: PublicClient): Promise<bigint> {
  return (await publicClient.getBlock()).timestamp;
}
