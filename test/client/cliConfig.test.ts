// Client command flags are parsed once, at the edge; every error names the bad flag.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptKeystore, writeKeystoreFile } from "../../src/chain/keystore.ts";
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

test("parseClientConfig takes the key from the flag or BANDMINT_KEY and defaults the deployment", async () => {
  const c = await parseClientConfig({}, { BANDMINT_KEY: KEYS.consumer });
  assert.equal(c.privateKey, KEYS.consumer);
  assert.equal(c.deploymentPath, DEFAULT_DEPLOYMENT_PATH);
  assert.equal(c.rpcUrl, undefined);
  const d = await parseClientConfig({ key: KEYS.providerA, rpc: "http://127.0.0.1:8545", deployment: "d.json", "max-price": "1.5" }, { BANDMINT_KEY: KEYS.consumer });
  assert.equal(d.privateKey, KEYS.providerA);
  assert.equal(d.maxPricePerGiB, 1_500_000_000_000_000_000n);
});

test("parseClientConfig names the bad flag", async () => {
  await assert.rejects(parseClientConfig({}, {}), flagError("key"));
  await assert.rejects(parseClientConfig({ key: "0x1234" }, {}), flagError("key"));
  await assert.rejects(parseClientConfig({ key: KEYS.consumer, rpc: "not a url" }, {}), flagError("rpc"));
  await assert.rejects(parseClientConfig({ key: KEYS.consumer, "max-price": "1e18" }, {}), flagError("max-price"));
});

test("parseClientConfig unlocks --keystore with the passphrase from a file, the environment or the prompt", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-client-ks-"));
  try {
    const path = join(dir, "consumer.json");
    await writeKeystoreFile(path, await encryptKeystore(KEYS.consumer, "pass phrase", { strength: "light" }));
    const pw = join(dir, "pw");
    await writeFile(pw, "pass phrase\n");
    // The keystore wins over BANDMINT_KEY (an explicit flag beats the environment).
    assert.equal((await parseClientConfig({ keystore: path, "passphrase-file": pw }, { BANDMINT_KEY: KEYS.providerA })).privateKey, KEYS.consumer);
    assert.equal((await parseClientConfig({ keystore: path }, { BANDMINT_PASSPHRASE: "pass phrase" })).privateKey, KEYS.consumer);
    assert.equal((await parseClientConfig({ keystore: path }, {}, { prompt: async () => "pass phrase" })).privateKey, KEYS.consumer);
    await assert.rejects(parseClientConfig({ keystore: path }, { BANDMINT_PASSPHRASE: "nope" }), (e: unknown) => flagError("keystore")(e) && /wrong passphrase/.test((e as Error).message) && !(e as Error).message.includes("nope"));
    await assert.rejects(parseClientConfig({ keystore: path }, {}), (e: unknown) => flagError("keystore")(e) && /no passphrase/.test((e as Error).message));
    await assert.rejects(parseClientConfig({ keystore: path, key: KEYS.consumer }, {}), flagError("keystore"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
