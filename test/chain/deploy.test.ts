import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { getContracts } from "../../src/chain/contracts.ts";
import { TOKEN } from "../../src/chain/deploy.ts";
import { localNetwork, type LocalNetwork } from "../fixtures/localNetwork.ts";

let net: LocalNetwork;
before(async () => {
  net = await localNetwork({ providers: 2, consumers: 1, fundEach: 1_000n });
});
after(() => net?.stop());

test("deployAll wires the contracts together as the deployment file says", async () => {
  const { deployment } = net;
  const clients = await net.clientsFor(net.accounts.deployer);
  const c = getContracts(clients, deployment);
  assert.equal(await c.token.read.cap(), deployment.params.cap);
  assert.equal(await c.broker.read.genesisTime(), deployment.params.genesisTime);
  assert.equal(await c.broker.read.epochLength(), deployment.params.epochLength);
  assert.equal(await c.registry.read.minStake(), deployment.params.minStake);
  assert.equal((await c.rewards.read.vesting()).toLowerCase(), deployment.contracts.vesting.toLowerCase());
  // Rewards is the token's minter; the deployer is not.
  const minter = await c.token.read.MINTER_ROLE();
  assert.equal(await c.token.read.hasRole([minter, deployment.contracts.rewards]), true);
  assert.equal(await c.token.read.hasRole([minter, net.accounts.deployer.address]), false);
  // Genesis allocation: every funded account, and nothing else.
  for (const a of [net.accounts.deployer, ...net.accounts.providers, ...net.accounts.consumers]) {
    assert.equal(await c.token.read.balanceOf([a.address]), 1_000n * TOKEN);
  }
  assert.equal(await c.token.read.totalSupply(), 4n * 1_000n * TOKEN);
});

test("the generated ABIs match the compiled contracts", () => {
  const script = fileURLToPath(new URL("../../scripts/gen-abis.ts", import.meta.url));
  const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
