// The main job: a whole bandmint network on one machine. An embedded chain with every contract,
// a publisher's origin with sample content, three provider nodes at different prices registered
// on chain, a funded consumer and a gateway that an unmodified browser or player can use.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { createChainClients } from "../chain/clients.ts";
import { deployAll, TOKEN } from "../chain/deploy.ts";
import { writeDeployment, type Deployment } from "../chain/deployment.ts";
import { devAccount, type DevAccount } from "../chain/devAccounts.ts";
import { startEmbeddedChain } from "../chain/embeddedChain.ts";
import { freePort } from "./freePort.ts";
import { createClient } from "../client/createClient.ts";
import type { Gateway } from "../client/gateway.ts";
import { OriginServer } from "../content/originServer.ts";
import { publishDir } from "../content/publishDir.ts";
import { makeSampleContent } from "../content/sampleContent.ts";
import { loadNodeConfig } from "../node/config.ts";
import { createProviderNode } from "../node/providerNode.ts";
import { registerProvider } from "../node/registerProvider.ts";

export type DevnetOptions = {
  /** Directory for the deployment file, sample content, node databases and caches. */
  dataDir: string;
  /** JSON-RPC port of the embedded chain (0 = any free port). */
  chainPort?: number;
  /** Gateway port (0 = any free port). */
  gatewayPort?: number;
  /** Prices of the provider nodes, in whole tokens per GiB (one node each). */
  pricesPerGiB?: string[];
  log?: (line: string) => void;
  signal?: AbortSignal;
};

export type Devnet = {
  rpcUrl: string;
  deployment: Deployment;
  deploymentPath: string;
  contentId: string;
  sampleFiles: string[];
  /** Whether the sample is real video (ffmpeg was available) or generated placeholder segments. */
  sampleIsVideo: boolean;
  originUrl: string;
  nodes: { url: string; provider: DevAccount; pricePerGiB: string }[];
  gatewayUrl: string;
  consumer: DevAccount;
  accounts: { label: string; account: DevAccount }[];
  stop(): Promise<void>;
};

/** Starts the whole local network; `stop()` tears it down in reverse order. */
export async function startDevnet(o: DevnetOptions): Promise<Devnet> {
  const log = o.log ?? (() => {});
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stack.reverse().splice(0)) await fn().catch((e: unknown) => log(`stop: ${(e as Error).message}`));
  };
  try {
    // The embedded chain starts empty every time, so state kept from a previous run (ticket
    // stores, sessions, caches, the consumer's notes) describes a chain that no longer exists.
    for (const dir of ["node1", "node2", "node3", "consumer", "content"]) await rm(join(o.dataDir, dir), { recursive: true, force: true });
    const chain = await startEmbeddedChain({ port: o.chainPort ?? 8545 });
    stack.push(() => chain.stop());
    log(`chain      ${chain.rpcUrl} (compiling contracts if needed)`);
    await chain.build();

    const deployer = devAccount(0);
    const treasury = devAccount(1);
    const providers = [2, 3, 4].map(devAccount);
    const publisher = devAccount(5);
    const consumer = devAccount(10);
    const funded = [deployer, ...providers, consumer];
    const deployerClients = await createChainClients({ rpcUrl: chain.rpcUrl, privateKey: deployer.privateKey, chainId: chain.chainId });
    const deployment = await deployAll({
      publicClient: deployerClients.publicClient,
      walletClient: deployerClients.walletClient!,
      rpcUrl: chain.rpcUrl,
      // Short epochs so that a demo sees rewards become claimable.
      params: { treasury: treasury.address, epochLength: 600n, genesis: funded.map((a) => ({ address: a.address, amount: 1_000_000n * TOKEN })) },
    });
    const deploymentPath = join(o.dataDir, "deployment.json");
    await writeDeployment(deploymentPath, deployment);
    log(`deployed   ${deploymentPath}`);

    // Publisher: sample content (HLS), a signed manifest, an origin server.
    const contentDir = join(o.dataDir, "content");
    const sample = await makeSampleContent(contentDir);
    const { manifest } = await publishDir({ dir: contentDir, signer: privateKeyToAccount(publisher.privateKey), now: Math.floor(Date.now() / 1000) });
    const origin = new OriginServer({ dir: contentDir });
    const originUrl = await origin.start({ host: "127.0.0.1", port: 0 });
    stack.push(() => origin.stop());
    log(`origin     ${originUrl} content ${manifest.contentId}`);

    // Providers: three nodes at different prices, each registered on chain with a stake. Each is
    // also a relay; its egress policy refuses loopback like any home node, except the sample
    // origin, named as the one test target so the printed curl line can fetch through the relay.
    const originTarget = new URL(originUrl).host;
    const prices = o.pricesPerGiB ?? ["0.5", "1", "2"];
    const nodes: Devnet["nodes"] = [];
    for (const [i, provider] of providers.entries()) {
      const pricePerGiB = prices[i % prices.length]!;
      const port = await freePort();
      const config = await loadNodeConfig({
        flags: {
          deployment: deploymentPath,
          rpc: chain.rpcUrl,
          key: provider.privateKey,
          port: String(port),
          "data-dir": join(o.dataDir, `node${i + 1}`),
          "price-per-gib": `${pricePerGiB} BAND`,
          region: "local",
          origin: [originUrl],
          services: "cdn,relay",
          "relay-test-target": [originTarget],
        },
      });
      const clients = await createChainClients({ rpcUrl: chain.rpcUrl, privateKey: provider.privateKey, chainId: chain.chainId });
      await registerProvider({
        publicClient: clients.publicClient,
        walletClient: clients.walletClient!,
        deployment,
        listing: { endpoint: `http://127.0.0.1:${port}`, pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "local", services: config.services },
      });
      const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment });
      const url = await node.start();
      stack.push(() => node.stop());
      nodes.push({ url, provider, pricePerGiB });
      log(`provider   ${url} ${pricePerGiB} BAND/GiB`);
    }

    // Consumer: deposit and reserve in the broker, then a gateway that verifies and pays.
    const consumerClients = await createChainClients({ rpcUrl: chain.rpcUrl, privateKey: consumer.privateKey, chainId: chain.chainId });
    const client = createClient({ clients: consumerClients, deployment, privateKey: consumer.privateKey, dataDir: join(o.dataDir, "consumer") });
    await client.deposit({ deposit: 100n * TOKEN, reserve: 10n * TOKEN });
    const gateway: Gateway = client.gateway();
    const { url: gatewayUrl } = await gateway.start({ host: "127.0.0.1", port: o.gatewayPort ?? 8080 });
    stack.push(() => gateway.stop());
    log(`gateway    ${gatewayUrl}`);

    return {
      rpcUrl: chain.rpcUrl,
      deployment,
      deploymentPath,
      contentId: manifest.contentId,
      sampleFiles: sample.files,
      sampleIsVideo: !sample.generated,
      originUrl,
      nodes,
      gatewayUrl,
      consumer,
      accounts: [
        { label: "deployer", account: deployer },
        { label: "treasury", account: treasury },
        ...providers.map((account, i) => ({ label: `provider ${i + 1}`, account })),
        { label: "publisher", account: publisher },
        { label: "consumer", account: consumer },
      ],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
