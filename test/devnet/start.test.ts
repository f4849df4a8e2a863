// The README's first command: `bandmint start` brings up a whole network that serves verified,
// paid content through its gateway, and stops cleanly on Ctrl-C.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { httpViaProxy } from "../fixtures/proxyClients.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("bandmint start runs a paying network and stops on SIGINT", { timeout: 240_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bm-start-"));
  const child = spawn(process.execPath, [main, "start", "--port", "0", "--gateway-port", "0", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (out.includes("Ctrl-C stops everything")) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
      void exited.then((code) => {
        clearInterval(timer);
        reject(new Error(`start exited early (${code}): ${err}`));
      });
    });
    const playlist = out.match(/(http:\/\/127\.0\.0\.1:\d+\/([0-9a-f]{64}))\/hls\/index\.m3u8/);
    assert.ok(playlist, out);
    const [, base] = playlist;
    // Every sample file comes through the gateway byte-identical to what the publisher has.
    for (const path of ["hls/index.m3u8", "hls/seg0.ts", "hls/seg2.ts", "index.html"]) {
      const res = await fetch(`${base}/${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(await readFile(join(dataDir, "content", path))), path);
    }
    const ranged = await fetch(`${base}/hls/seg0.ts`, { headers: { range: "bytes=188-375" } });
    assert.equal(ranged.status, 206);
    assert.equal((await ranged.arrayBuffer()).byteLength, 188);
    // The nodes served bytes to the consumer, and the deployment file is where the output says.
    const statuses = await Promise.all([...out.matchAll(/status (http:\/\/\S+)/g)].map(async (m) => (await fetch(m[1]!)).json() as Promise<{ servedBytes: string }>));
    assert.equal(statuses.length, 3);
    assert.ok(statuses.reduce((s, x) => s + BigInt(x.servedBytes), 0n) > 0n);
    const deployment = JSON.parse(await readFile(join(dataDir, "deployment.json"), "utf8")) as { contracts: { broker: string } };
    assert.ok(out.includes(deployment.contracts.broker));

    // Relay: the printed proxy command and curl line fetch a sample file through a provider.
    const proxyLine = out.match(/npm run bandmint -- (proxy .+)/);
    const curlLine = out.match(/curl -x http:\/\/127\.0\.0\.1:\d+ (http:\/\/\S+)/);
    assert.ok(proxyLine && curlLine, out);
    const proxyArgs = proxyLine[1]!.trim().split(/\s+/).map((a, i, all) => (all[i - 1] === "--port" ? "0" : a));
    const proxy = spawn(process.execPath, [main, ...proxyArgs], { stdio: ["ignore", "pipe", "pipe"] });
    let proxyOut = "";
    proxy.stdout.on("data", (d: Buffer) => (proxyOut += d.toString()));
    proxy.stderr.on("data", (d: Buffer) => (proxyOut += d.toString()));
    const proxyExited = new Promise<number | null>((resolve) => proxy.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/bandmint proxy on (http:\/\/127\.0\.0\.1:\d+)/.test(proxyOut) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const proxyUrl = proxyOut.match(/bandmint proxy on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
      assert.ok(proxyUrl, proxyOut);
      const target = curlLine[1]!;
      const viaRelay = await httpViaProxy(proxyUrl, target);
      assert.equal(viaRelay.status, 200, viaRelay.body.toString());
      const published = await readFile(join(dataDir, "content", new URL(target).pathname.split("/").slice(2).join("/")));
      assert.equal(viaRelay.sha256, sha(published), "the relayed bytes are the published bytes");
      proxy.kill("SIGINT");
      assert.equal(await proxyExited, 0, proxyOut);
      assert.match(proxyOut, /stopped; 1 connections, .* 1 tickets/);
    } finally {
      proxy.kill("SIGKILL");
    }
    const relayed = await Promise.all([...out.matchAll(/status (http:\/\/\S+)/g)].map(async (m) => ((await (await fetch(m[1]!)).json()) as { relay: { servedBytes: string; paidBytes: string; refusals: Record<string, number> } }).relay));
    assert.ok(relayed.every((r) => r !== undefined), "every node reports a relay object");
    assert.ok(relayed.some((r) => BigInt(r.servedBytes) > 0n && BigInt(r.paidBytes) > 0n), JSON.stringify(relayed));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(out, /stopped/);
  } finally {
    child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});
