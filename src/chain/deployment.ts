import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import * as z from "zod";
import { DeploymentFileError } from "./errors.ts";

/** The deploy-time parameters of the contracts, recorded beside their addresses. */
export type DeploymentParams = {
  /** Token hard cap (wei). */
  cap: bigint;
  /** Share of every paid face value burned / sent to the treasury, in basis points. */
  burnBps: number;
  treasuryBps: number;
  treasury: Address;
  /** Seconds a sender waits between unlock and withdraw. */
  unlockPeriod: bigint;
  /** Seconds per reward epoch, and the start of epoch 0 (unix seconds). */
  epochLength: bigint;
  genesisTime: bigint;
  /** Provider registry: minimum stake (wei) and unstake delay (seconds). */
  minStake: bigint;
  unstakeDelay: bigint;
  /** Reward schedule: see src/tokenomics/rewardMath.ts. */
  initialEmission: bigint;
  decayPeriodEpochs: bigint;
  decayBps: bigint;
  kBps: bigint;
  vestingEpochs: bigint;
};

/** Where the contracts live on one chain: what the node, client and CLI read to find them. */
export type Deployment = {
  chainId: number;
  /** JSON-RPC URL the deployment was made through (a default for tools that read this file). */
  rpcUrl: string;
  /** Block of the first deployment transaction: indexers start reading events here. */
  startBlock: bigint;
  contracts: {
    token: Address;
    registry: Address;
    broker: Address;
    rewards: Address;
    vesting: Address;
  };
  params: DeploymentParams;
};

const address = z.string().refine((s) => isAddress(s, { strict: false }), "must be a 0x address").transform((s) => getAddress(s));
const uint = z.union([z.string().regex(/^\d+$/, "must be a decimal integer string"), z.number().int().nonnegative()]).transform((v) => BigInt(v));

const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  rpcUrl: z.string().url(),
  startBlock: uint,
  contracts: z.object({
    token: address,
    registry: address,
    broker: address,
    rewards: address,
    vesting: address,
  }),
  params: z.object({
    cap: uint,
    burnBps: z.number().int().min(0).max(10_000),
    treasuryBps: z.number().int().min(0).max(10_000),
    treasury: address,
    unlockPeriod: uint,
    epochLength: uint,
    genesisTime: uint,
    minStake: uint,
    unstakeDelay: uint,
    initialEmission: uint,
    decayPeriodEpochs: uint,
    decayBps: uint,
    kBps: uint,
    vestingEpochs: uint,
  }),
});

/** Validates a parsed deployment document; throws DeploymentFileError naming the bad field. */
export function parseDeployment(json: unknown, path = "<deployment>"): Deployment {
  const result = deploymentSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join(".") || "(root)";
    throw new DeploymentFileError(path, `${field}: ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}

/** Reads and validates a deployment file. */
export async function readDeployment(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new DeploymentFileError(path, "cannot be read", { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentFileError(path, "is not valid JSON", { cause });
  }
  return parseDeployment(json, path);
}

/** The JSON form of a deployment: bigints as decimal strings. */
export function serializeDeployment(d: Deployment): string {
  return `${JSON.stringify(d, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

/** Writes a deployment file atomically (temp file + rename), creating its directory. */
export async function writeDeployment(path: string, d: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, serializeDeployment(d));
  await rename(tmp, path);
}
