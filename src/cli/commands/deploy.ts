import { resolve } from "node:path";
import { isHex, type Hex } from "viem";
import { createChainClients } from "../../chain/clients.ts";
import { deployAll, TOKEN } from "../../chain/deploy.ts";
import { serializeDeployment, writeDeployment } from "../../chain/deployment.ts";
import type { Command } from "../command.ts";
import { UsageError } from "../usageError.ts";

function uintFlag(values: Record<string, unknown>, flag: string): bigint | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new UsageError(`must be a non-negative integer, got ${String(v)}`, { flag });
  return BigInt(v);
}

function bpsFlag(values: Record<string, unknown>, flag: string): number | undefined {
  const v = uintFlag(values, flag);
  if (v === undefined) return undefined;
  if (v > 10_000n) throw new UsageError(`basis points must be <= 10000, got ${v}`, { flag });
  return Number(v);
}

const command: Command = {
  summary: "Deploy the bandmint contracts to any EVM chain over JSON-RPC and write a deployment file",
  usage: "--rpc <url> [--key 0x.. | env BANDMINT_KEY] [--out deployment.json] [--treasury 0x..] [params]",
  options: {
    rpc: { type: "string" },
    key: { type: "string" },
    out: { type: "string", default: "deployment.json" },
    treasury: { type: "string" },
    "burn-bps": { type: "string" },
    "treasury-bps": { type: "string" },
    "unlock-period": { type: "string" },
    "epoch-length": { type: "string" },
    "min-stake": { type: "string" },
    "unstake-delay": { type: "string" },
    "genesis-tokens": { type: "string" },
  },
  async run({ values, stdout }) {
    if (typeof values.rpc !== "string") throw new UsageError("is required (the chain's JSON-RPC URL)", { flag: "rpc" });
    const key = (values.key ?? process.env.BANDMINT_KEY) as string | undefined;
    if (key === undefined || !isHex(key) || key.length !== 66) throw new UsageError("a 32-byte 0x private key is required (or env BANDMINT_KEY)", { flag: "key" });
    const treasury = values.treasury as string | undefined;
    if (treasury !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(treasury)) throw new UsageError("not an address", { flag: "treasury" });
    const clients = await createChainClients({ rpcUrl: values.rpc, privateKey: key as Hex });
    const genesisTokens = uintFlag(values, "genesis-tokens") ?? 0n;
    const params = {
      ...(treasury !== undefined ? { treasury: treasury as Hex } : {}),
      ...(bpsFlag(values, "burn-bps") !== undefined ? { burnBps: bpsFlag(values, "burn-bps")! } : {}),
      ...(bpsFlag(values, "treasury-bps") !== undefined ? { treasuryBps: bpsFlag(values, "treasury-bps")! } : {}),
      ...(uintFlag(values, "unlock-period") !== undefined ? { unlockPeriod: uintFlag(values, "unlock-period")! } : {}),
      ...(uintFlag(values, "epoch-length") !== undefined ? { epochLength: uintFlag(values, "epoch-length")! } : {}),
      ...(uintFlag(values, "min-stake") !== undefined ? { minStake: uintFlag(values, "min-stake")! * TOKEN } : {}),
      ...(uintFlag(values, "unstake-delay") !== undefined ? { unstakeDelay: uintFlag(values, "unstake-delay")! } : {}),
      genesis: genesisTokens > 0n ? [{ address: clients.account!.address, amount: genesisTokens * TOKEN }] : [],
    };
    const deployment = await deployAll({
      publicClient: clients.publicClient,
      walletClient: clients.walletClient!,
      rpcUrl: values.rpc,
      params,
      log: (line) => stdout.write(`deployed ${line}\n`),
    });
    const out = resolve(String(values.out));
    await writeDeployment(out, deployment);
    stdout.write(`wrote ${out}\n${serializeDeployment(deployment)}`);
    return 0;
  },
};
export default command;
