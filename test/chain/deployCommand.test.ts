// `bandmint deploy` against a chain in another process (`hardhat node` on 127.0.0.1), the way an
// operator deploys to any EVM chain over JSON-RPC.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createChainClients } from "../../src/chain/clients.ts";
import { getContracts } from "../../src/chain/contracts.ts";
import { TOKEN } from "../../src/chain/deploy.ts";
import { readDeployment } from "../../src/chain/deployment.ts";
import { devAccount } from "../../src/chain/devAccounts.ts";
import { freePort } from "../../src/devnet/freePort.ts";

const require = createRequire(import.meta.url);
// The package's `bin` entry (the file `npx hardhat` runs); not in its exports map.
const hardhatCli = join(dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

test("bandmint deploy deploys every contract to a separate hardhat node and writes the deployment file", { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "bm-deploy-cmd-"));
  const port = await freePort();
  const chain = spawn(process.execPath, [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let log = "";
      chain.stdout.on("data", (d: Buffer) => {
        log += d.toString();
        if (log.includes("Started HTTP")) resolve();
      });
      chain.on("exit", (code) => reject(new Error(`hardhat node exited (${code}): ${log}`)));
    });
    const rpcUrl = `http://127.0.0.1:${port}`;
    const deployer = devAccount(0);
    const out = join(dir, "deployment.json");
    const r = spawnSync(process.execPath, [main, "deploy", "--rpc", rpcUrl, "--key", deployer.privateKey, "--out", out, "--genesis-tokens", "1000", "--burn-bps", "1000"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const deployment = await readDeployment(out);
    assert.equal(deployment.rpcUrl, rpcUrl);
    assert.equal(deployment.params.burnBps, 1000);
    const clients = await createChainClients({ rpcUrl });
    for (const address of Object.values(deployment.contracts)) {
      const code = await clients.publicClient.getCode({ address });
      assert.ok(code && code.length > 2, `no code at ${address}`);
    }
    const c = getContracts(clients, deployment);
    assert.equal(await c.token.read.balanceOf([deployer.address]), 1000n * TOKEN);
    assert.equal(await c.broker.read.burnBps(), 1000);
    assert.equal(await c.broker.read.token(), deployment.contracts.token);
  } finally {
    chain.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
});
