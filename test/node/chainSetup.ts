// Chain-side set-up shared by the node's end-to-end tests: a local network (lead's fixture), a
// consumer with a broker deposit, a published content tree behind an origin, a node config file.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Abi, Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bandTokenAbi, providerRegistryAbi, ticketBrokerAbi } from "../../src/chain/abis.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import type { DevAccount } from "../../src/chain/devAccounts.ts";
import { OriginServer } from "../../src/content/originServer.ts";
import { publishDir } from "../../src/content/publishDir.ts";
import { localNetwork, type LocalNetwork } from "../fixtures/localNetwork.ts";

export const TOKEN = 10n ** 18n;
export const MiB = 1n << 20n;

export type NodeWorld = {
  net: LocalNetwork;
  dir: string;
  deploymentPath: string;
  contentId: string;
  /** The published file's bytes (path "data.bin"). */
  data: Buffer;
  originUrl: string;
  provider: DevAccount;
  consumer: DevAccount;
  abis: { token: Abi; broker: Abi; registry: Abi };
  /** Writes a node config file (YAML) with these overrides and returns its path. */
  writeConfig(name: string, over?: Record<string, unknown>): Promise<string>;
  tokenBalance(who: Address): Promise<bigint>;
  close(): Promise<void>;
};

/**
 * Starts a chain with deployed contracts, funds the first consumer's deposit and publishes `size`
 * bytes; `providers` and `consumers` dev accounts get tokens (the first of each is `provider` and
 * `consumer`).
 */
export async function startWorld({ size = 16n * MiB, deposit = 1000n * TOKEN, providers = 1, consumers = 1 }: { size?: bigint; deposit?: bigint; providers?: number; consumers?: number } = {}): Promise<NodeWorld> {
  const net = await localNetwork({ providers, consumers });
  const dir = await mkdtemp(join(tmpdir(), "bandmint-node-"));
  const deploymentPath = join(dir, "deployment.json");
  await writeDeployment(deploymentPath, net.deployment);
  const [token, broker, registry] = [bandTokenAbi, ticketBrokerAbi, providerRegistryAbi] as Abi[];
  const provider = net.accounts.providers[0]!;
  const consumer = net.accounts.consumers[0]!;
  const c = await net.clientsFor(consumer);
  const send = async (address: Address, abi: Abi, functionName: string, args: unknown[]) => {
    const hash = await c.walletClient!.writeContract({ address, abi, functionName, args } as never);
    await c.publicClient.waitForTransactionReceipt({ hash });
  };
  await send(net.deployment.contracts.token, token!, "approve", [net.deployment.contracts.broker, deposit]);
  await send(net.deployment.contracts.broker, broker!, "fundDeposit", [deposit]);

  const contentDir = join(dir, "content");
  await mkdir(contentDir, { recursive: true });
  const data = Buffer.alloc(Number(size));
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
  await writeFile(join(contentDir, "data.bin"), data);
  const publisher = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  const { manifest } = await publishDir({ dir: contentDir, signer: publisher, chunkSize: Number(MiB), now: 1_700_000_000 });
  const origin = new OriginServer({ dir: contentDir });
  const originUrl = await origin.start();
  const pc = c.publicClient;
  return {
    net, dir, deploymentPath, contentId: manifest.contentId, data, originUrl, provider, consumer,
    abis: { token: token!, broker: broker!, registry: registry! },
    async writeConfig(name, over = {}) {
      const path = join(dir, `${name}.json`);
      const config = {
        deployment: deploymentPath,
        rpcUrl: net.rpcUrl,
        privateKey: provider.privateKey,
        port: 0,
        dataDir: join(dir, name),
        origins: [originUrl],
        pricePerGiB: "1 BAND",
        bytesPerTicket: "1 MiB",
        // Below one ticket's value: raised to it with winProb = 2^256 - 1, every ticket wins.
        faceValue: "1",
        creditWindowBytes: "4 MiB",
        redeem: { maxFeeShareBps: 10_000, intervalSeconds: 3600 },
        ...over,
      };
      await writeFile(path, JSON.stringify(config));
      return path;
    },
    tokenBalance: (who) => pc.readContract({ address: net.deployment.contracts.token, abi: token!, functionName: "balanceOf", args: [who] }) as Promise<bigint>,
    async close() {
      await origin.stop();
      await net.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
