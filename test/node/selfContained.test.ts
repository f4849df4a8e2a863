// The self-contained build (npm run build:node) as an operator runs it: dist/bandmint.mjs copied
// alone into an empty directory (no node_modules, so no native secp256k1: the JavaScript fallback),
// a provider node started with it against the embedded chain, listed with its own `node register`,
// and a paid download by its own client command (`get`), which verifies every chunk and pays.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFile, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildNode, runtimePackageDirs } from "../../scripts/build-node.ts";
import { packageRoot } from "../../src/chain/packageRoot.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";
import { spawnNode } from "./spawnNode.ts";

describe("dist/bandmint.mjs from an empty directory", () => {
  let w: NodeWorld;
  let dir: string;
  let size: number;
  before(async () => {
    w = await startWorld({ size: 3n * MiB });
    dir = join(w.dir, "operator");
    await mkdir(dir);
    const built = await buildNode({ outfile: join(w.dir, "dist", "bandmint.mjs") });
    size = built.bytes;
    await copyFile(built.path, join(dir, "bandmint.mjs"));
  });
  after(async () => {
    await w.close();
  });

  test("the build may only hold runtime dependencies: the chain toolchain is development only", () => {
    const runtime = runtimePackageDirs();
    for (const pkg of ["viem", "zod", "yaml", "secp256k1", "@noble/curves", "ox"]) assert.ok(runtime.has(join(packageRoot, "node_modules", pkg)), pkg);
    for (const pkg of ["hardhat", "solc", "solhint", "@nomicfoundation/edr", "@nomicfoundation/hardhat-viem", "esbuild"]) assert.ok(!runtime.has(join(packageRoot, "node_modules", pkg)), pkg);
  });

  test("is under 5 MB and holds the node and client commands, not the toolchain ones", () => {
    assert.ok(size < 5 * 1024 * 1024, `${size} bytes`);
    const run = (...args: string[]) => spawnSync(process.execPath, [join(dir, "bandmint.mjs"), ...args], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    const help = run("help");
    assert.equal(help.status, 0, help.stderr);
    for (const c of ["node start", "node register", "get", "gateway", "balance", "deposit", "publish", "origin"]) assert.match(help.stdout, new RegExp(`\\n  ${c} `));
    const start = run("start");
    assert.equal(start.status, 2);
    assert.match(start.stderr, /'start' needs the source checkout/);
    assert.doesNotMatch(start.stderr, /\n\s+at /);
  });

  test("a node started with it sells a paid download to its own client, checking tickets in JavaScript on signer threads", async () => {
    assert.deepEqual(await readdir(dir), ["bandmint.mjs"]);
    const config = await w.writeConfig("artifact", { signerThreads: 1, redeem: { intervalSeconds: 3600 } });
    // Not spawnSync: the chain answers from this process's event loop.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }>((resolve) => {
        const child = spawn(process.execPath, [join(dir, "bandmint.mjs"), ...args], { cwd: dir });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.once("exit", (status) => resolve({ status, stdout, stderr }));
      });
    const node = await spawnNode([join(dir, "bandmint.mjs"), "node", "start", "--config", config], { cwd: dir });
    try {
      assert.match(node.output(), /WARNING secp256k1 javascript \(slow fallback\), \d+ ticket checks\/s/);
      const reg = await cli("node", "register", "--config", config, "--endpoint", node.url);
      assert.equal(reg.status, 0, `${reg.stdout}${reg.stderr}${String(reg.error ?? "")}`);
      const out = join(w.dir, "download.bin");
      const get = await cli("get", `${w.contentId}/data.bin`, "-o", out, "--deployment", w.deploymentPath, "--key", w.consumer.privateKey, "--data-dir", join(w.dir, "client"));
      assert.equal(get.status, 0, `${get.stdout}${get.stderr}${String(get.error ?? "")}`);
      assert.ok((await readFile(out)).equals(w.data), "the downloaded bytes are the published ones");
      const status = (await (await fetch(`${node.url}/status`)).json()) as {
        tickets: number; servedBytes: string; paidBytes: string;
        crypto: { secp256k1: string; ticketChecksPerSecond: number; recoveredOnThreads: number };
      };
      assert.equal(status.crypto.secp256k1, "javascript");
      assert.ok(status.crypto.ticketChecksPerSecond > 0);
      assert.ok(status.tickets >= 3, `${status.tickets} tickets`);
      // Every ticket was recovered on the signer thread (JavaScript there too: no binding can load
      // from this directory), then checked by the intake, and every byte served is paid.
      assert.equal(status.crypto.recoveredOnThreads, status.tickets);
      assert.equal(status.paidBytes, status.servedBytes);
      assert.equal(BigInt(status.servedBytes), BigInt(w.data.length));
    } finally {
      node.child.kill("SIGTERM");
      assert.equal((await node.exited).code, 0, node.output());
    }
    assert.deepEqual(await readdir(dir), ["bandmint.mjs"], "nothing written beside the build");
  });
});
