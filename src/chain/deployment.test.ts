import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseDeployment, readDeployment, writeDeployment, type Deployment } from "./deployment.ts";

const sample: Deployment = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  startBlock: 1n,
  contracts: {
    token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    broker: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    rewards: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    vesting: "0xd8058efe0198ae9dD7D563e1b4938Dcbc86A1F81",
  },
  params: {
    cap: 10n ** 27n,
    burnBps: 2000,
    treasuryBps: 500,
    treasury: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    unlockPeriod: 172800n,
    epochLength: 3600n,
    genesisTime: 1_700_000_000n,
    minStake: 10n ** 20n,
    unstakeDelay: 604800n,
    initialEmission: 10n ** 22n,
    decayPeriodEpochs: 8760n,
    decayBps: 5000n,
    kBps: 8000n,
    vestingEpochs: 720n,
  },
};

test("a deployment file round-trips, bigints exact", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bm-deploy-"));
  try {
    const path = join(dir, "sub", "deployment.json");
    await writeDeployment(path, sample);
    assert.deepEqual(await readDeployment(path), sample);
    assert.match(await readFile(path, "utf8"), /"cap": "1000000000000000000000000000"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a bad deployment file names the file and the field", async () => {
  const bad = structuredClone(JSON.parse(JSON.stringify(sample, (_k, v) => (typeof v === "bigint" ? v.toString() : v))));
  bad.contracts.broker = "0x1234";
  assert.throws(() => parseDeployment(bad, "x.json"), (e: Error & { shortMessage: string }) => {
    assert.equal(e.name, "DeploymentFileError");
    assert.match(e.shortMessage, /x\.json: contracts\.broker: must be a 0x address/);
    return true;
  });
  const dir = await mkdtemp(join(tmpdir(), "bm-deploy-"));
  try {
    await writeFile(join(dir, "d.json"), "{ not json");
    await assert.rejects(readDeployment(join(dir, "d.json")), /is not valid JSON/);
    await assert.rejects(readDeployment(join(dir, "missing.json")), /cannot be read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
