// Client command flags are parsed once, at the edge; every error names the bad flag.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { ClientConfigError, DEFAULT_DEPLOYMENT_PATH, parseClientConfig } from "../../src/client/clientConfig.ts";
import deposit from "../../src/cli/commands/deposit.ts";
import get from "../../src/cli/commands/get.ts";
import { KEYS } from "./harness.ts";

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
const args = (values: Record<string, string | boolean>, positionals: string[]) => ({
  values,
  positionals,
  signal: new AbortController().signal,
  stdout: sink(),
  stderr: sink(),
});
const flagError = (flag: string) => (e: unknown) => e instanceof ClientConfigError && e.flag === flag && e.shortMessage.startsWith(`--${flag}:`);

test("parseClientConfig takes the key from the flag or BANDMINT_KEY and defaults the deployment", () => {
  const c = parseClientConfig({}, { BANDMINT_KEY: KEYS.consumer });
  assert.equal(c.privateKey, KEYS.consumer);
  assert.equal(c.deploymentPath, DEFAULT_DEPLOYMENT_PATH);
  assert.equal(c.rpcUrl, undefined);
  const d = parseClientConfig({ key: KEYS.providerA, rpc: "http://127.0.0.1:8545", deployment: "d.json", "max-price": "1.5" }, { BANDMINT_KEY: KEYS.consumer });
  assert.equal(d.privateKey, KEYS.providerA);
  assert.equal(d.maxPricePerGiB, 1_500_000_000_000_000_000n);
});

test("parseClientConfig names the bad flag", () => {
  assert.throws(() => parseClientConfig({}, {}), flagError("key"));
  assert.throws(() => parseClientConfig({ key: "0x1234" }, {}), flagError("key"));
  assert.throws(() => parseClientConfig({ key: KEYS.consumer, rpc: "not a url" }, {}), flagError("rpc"));
  assert.throws(() => parseClientConfig({ key: KEYS.consumer, "max-price": "1e18" }, {}), flagError("max-price"));
});

test("deposit refuses malformed amounts before touching the chain", async () => {
  const env = process.env.BANDMINT_KEY;
  process.env.BANDMINT_KEY = KEYS.consumer;
  try {
    await assert.rejects(deposit.run(args({ deployment: "/nonexistent.json" }, ["12,5"])), flagError("amount"));
    await assert.rejects(deposit.run(args({ deployment: "/nonexistent.json", reserve: "-1" }, ["1"])), flagError("reserve"));
    await assert.rejects(deposit.run(args({ deployment: "/nonexistent.json" }, [])), flagError("amount"));
    await assert.rejects(get.run(args({ deployment: "/nonexistent.json" }, ["not-a-content-id"])), flagError("contentId"));
    // A well-formed command reaches the deployment file and says which one is missing.
    await assert.rejects(deposit.run(args({ deployment: "/nonexistent.json" }, ["1"])), (e: unknown) => (e as Error).name === "DeploymentFileError");
  } finally {
    if (env === undefined) delete process.env.BANDMINT_KEY;
    else process.env.BANDMINT_KEY = env;
  }
});
