// The client against the real thing: the embedded chain with the contracts deployed (lead's
// fixture), two real provider nodes (edge + payment layer) registered on chain, a publisher's
// origin, and the consumer funding the broker with a permit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { privateKeyToAccount } from "viem/accounts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { OriginServer } from "../../src/content/originServer.ts";
import { publishDir } from "../../src/content/publishDir.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { createClient, type Client } from "../../src/client/createClient.ts";
import getCommand from "../../src/cli/commands/get.ts";
import balanceCommand from "../../src/cli/commands/balance.ts";
import { localNetwork, type LocalNetwork } from "../fixtures/localNetwork.ts";
import { KEYS, sha256 } from "./harness.ts";
import { freePort } from "../../src/devnet/freePort.ts";

const TOKEN = 10n ** 18n;
const KiB = 1024;

describe("client end to end on a local network", () => {
  let net: LocalNetwork;
  let dir: string;
  let origin: OriginServer;
  let contentId: string;
  let deploymentPath: string;
  const files = new Map<string, Buffer>([
    ["video/seg0.ts", randomBytes(1024 * KiB + 777)],
    ["video/seg1.ts", randomBytes(700 * KiB)],
    ["index.m3u8", Buffer.from("#EXTM3U\n#EXTINF:2,\nvideo/seg0.ts\n#EXTINF:2,\nvideo/seg1.ts\n")],
  ]);
  const nodes: { stop(): Promise<void>; status(): { servedBytes: string; paidBytes: string; tickets: number } }[] = [];
  let client: Client;

  before(async () => {
    net = await localNetwork({ providers: 2, consumers: 1 });
    dir = await mkdtemp(join(tmpdir(), "bm-e2e-"));
    deploymentPath = join(dir, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const contentDir = join(dir, "content");
    for (const [path, data] of files) {
      await mkdir(join(contentDir, path, ".."), { recursive: true });
      await writeFile(join(contentDir, path), data);
    }
    const { manifest } = await publishDir({ dir: contentDir, signer: privateKeyToAccount(KEYS.publisher), chunkSize: 64 * KiB, now: 1_700_000_000 });
    contentId = manifest.contentId;
    origin = new OriginServer({ dir: contentDir });
    const originUrl = await origin.start();

    for (const [i, provider] of net.accounts.providers.entries()) {
      const port = await freePort();
      const clients = await net.clientsFor(provider);
      const config = await loadNodeConfig({
        flags: {
          deployment: deploymentPath,
          rpc: net.rpcUrl,
          key: provider.privateKey,
          port: String(port),
          "data-dir": join(dir, `node${i}`),
          "price-per-gib": "1 BAND",
          "bytes-per-ticket": "64 KiB",
          "credit-window-bytes": "512 KiB",
          origin: [originUrl],
        },
      });
      await registerProvider({
        publicClient: clients.publicClient,
        walletClient: clients.walletClient!,
        deployment: net.deployment,
        listing: { endpoint: `http://127.0.0.1:${port}`, pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "local", services: ["cdn"] },
      });
      const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: net.deployment });
      await node.start();
      nodes.push(node);
    }
    const consumer = net.accounts.consumers[0]!;
    client = createClient({ clients: await net.clientsFor(consumer), deployment: net.deployment, privateKey: consumer.privateKey, perProvider: 2 });
  });

  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await origin?.stop();
    await net?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("deposit with a permit, then balance shows deposit and reserve", async () => {
    const before = await client.balance();
    await client.deposit({ deposit: 50n * TOKEN, reserve: 5n * TOKEN });
    const b = await client.balance();
    assert.equal(b.deposit, 50n * TOKEN);
    assert.equal(b.reserve, 5n * TOKEN);
    assert.equal(b.tokenBalance, before.tokenBalance - 55n * TOKEN);
    assert.equal(b.state, "locked");
    // And the approve + fund path.
    await client.deposit({ deposit: 1n * TOKEN, reserve: 0n, permit: false });
    assert.equal((await client.balance()).deposit, 51n * TOKEN);
  });

  test("listings come from the registry and a whole directory downloads byte-identical through both nodes", async () => {
    const listings = await client.listings();
    assert.equal(listings.length, 2);
    const out = join(dir, "out1");
    const result = await client.get(contentId, undefined, { out });
    for (const [path, data] of files) assert.equal(sha256(await readFile(join(out, ...path.split("/")))), sha256(data), path);
    const used = result.providers.filter((p) => p.bytes > 0n);
    assert.equal(used.length, 2, "both providers served");
    for (const node of nodes) {
      const s = node.status();
      assert.ok(s.tickets > 0);
      // Every byte served was verified and paid, the last partial ticket included.
      assert.equal(s.paidBytes, s.servedBytes);
    }
  });

  test("gateway serves Range requests byte-exact through the real nodes", async () => {
    const gateway = client.gateway();
    const { url } = await gateway.start({ port: 0 });
    try {
      const data = files.get("video/seg0.ts")!;
      const body = await new Promise<{ status: number; range: string | undefined; body: Buffer }>((resolve, reject) => {
        request(`${url}/${contentId}/video/seg0.ts`, { headers: { range: "bytes=100000-300000" } }, (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, range: res.headers["content-range"], body: Buffer.concat(parts) }));
        })
          .on("error", reject)
          .end();
      });
      assert.equal(body.status, 206);
      assert.equal(body.range, `bytes 100000-300000/${data.length}`);
      assert.ok(body.body.equals(data.subarray(100000, 300001)));
    } finally {
      await gateway.stop();
    }
  });

  test("resume after interruption fetches only the missing chunks", async () => {
    const out = join(dir, "seg0.ts");
    const controller = new AbortController();
    await assert.rejects(
      client.get(contentId, "video/seg0.ts", {
        out,
        signal: controller.signal,
        concurrency: 1,
        onProgress: (p) => {
          if (p.fetchedBytes >= 256n * 1024n) controller.abort(new Error("interrupted"));
        },
      }),
      /interrupted/,
    );
    const result = await client.get(contentId, "video/seg0.ts", { out });
    const size = BigInt(files.get("video/seg0.ts")!.length);
    assert.ok(result.resumedBytes >= 256n * 1024n);
    assert.equal(result.resumedBytes + result.fetchedBytes, size);
    assert.equal(sha256(await readFile(out)), sha256(files.get("video/seg0.ts")!));
  });

  test("a node killed mid-transfer: the client finishes from the other", async () => {
    const out = join(dir, "killed");
    let killed = false;
    const result = await client.get(contentId, undefined, {
      out,
      onProgress: (p) => {
        if (!killed && p.fetchedBytes >= 256n * 1024n) {
          killed = true;
          void nodes[0]!.stop();
        }
      },
    });
    assert.ok(killed);
    for (const [path, data] of files) assert.equal(sha256(await readFile(join(out, ...path.split("/")))), sha256(data), path);
    assert.ok(result.fetchedBytes > 0n);
  });

  test("the get and balance commands download with a progress line and print the broker state", async () => {
    const consumer = net.accounts.consumers[0]!;
    const sink = () => {
      const chunks: string[] = [];
      return Object.assign(new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), { text: () => chunks.join("") });
    };
    const out = join(dir, "cli-seg1.ts");
    const [stdout, stderr] = [sink(), sink()];
    const signal = new AbortController().signal;
    const code = await getCommand.run({ values: { deployment: deploymentPath, key: consumer.privateKey, out, "data-dir": join(dir, "client-data") }, positionals: [`${contentId}/video/seg1.ts`], signal, stdout, stderr });
    assert.equal(code, 0);
    assert.equal(sha256(await readFile(out)), sha256(files.get("video/seg1.ts")!));
    assert.match(stderr.text(), /100\.0%.*MiB\/s.*provider.*paid [0-9.]+ BAND/);
    assert.match(stdout.text(), /cli-seg1\.ts  716800 bytes/);
    const bout = sink();
    assert.equal(await balanceCommand.run({ values: { deployment: deploymentPath, key: consumer.privateKey }, positionals: [], signal, stdout: bout, stderr: sink() }), 0);
    assert.match(bout.text(), new RegExp(`account   ${consumer.address}`));
    assert.match(bout.text(), /deposit   \d/);
  });

  test("withdraw: unlock, wait the unlock period, withdraw everything", async () => {
    await client.close();
    const first = await client.withdraw();
    assert.equal(first.action, "unlocked");
    const waiting = await client.withdraw();
    assert.equal(waiting.action, "waiting");
    await net.increaseTime(net.deployment.params.unlockPeriod + 1n);
    const before = await client.balance();
    const done = await client.withdraw();
    assert.equal(done.action, "withdrawn");
    const after = await client.balance();
    assert.equal(after.deposit + after.reserve, 0n);
    assert.equal(after.tokenBalance, before.tokenBalance + before.deposit + before.reserve);
  });
});
