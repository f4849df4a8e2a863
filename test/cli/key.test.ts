// `bandmint key new|import|address` as a person runs them: real processes, real files.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { privateKeyToAddress } from "viem/accounts";
import { decryptKeystore, parseKeystore } from "../../src/chain/keystore.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
let dir: string;

function bandmint(args: string[], env: Record<string, string> = {}) {
  const { BANDMINT_KEY: _k, BANDMINT_PASSPHRASE: _p, ...base } = process.env;
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bandmint-key-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("key new writes a 0600 v3 keystore and prints its address; key address reads it back", async () => {
  const out = join(dir, "new.json");
  const r = bandmint(["key", "new", "--out", out, "--light"], { BANDMINT_PASSPHRASE: "correct horse" });
  assert.equal(r.code, 0, r.stderr);
  const address = r.stdout.split("\n")[0]!;
  assert.match(address, /^0x[0-9a-fA-F]{40}$/);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  const ks = parseKeystore(JSON.parse(await readFile(out, "utf8")));
  assert.equal(privateKeyToAddress(await decryptKeystore(ks, "correct horse")), address);
  const a = bandmint(["key", "address", out]);
  assert.equal(a.stdout.trim(), address);
  const checked = bandmint(["key", "address", out, "--check"], { BANDMINT_PASSPHRASE: "correct horse" });
  assert.equal(checked.stdout.trim(), `${address} (passphrase ok)`);
  // Never over an existing key.
  const again = bandmint(["key", "new", "--out", out, "--light"], { BANDMINT_PASSPHRASE: "x" });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test("a wrong passphrase exits 1 with a short message that does not contain it", async () => {
  const out = join(dir, "wrong.json");
  assert.equal(bandmint(["key", "new", "--out", out, "--light"], { BANDMINT_PASSPHRASE: "right one" }).code, 0);
  const r = bandmint(["key", "address", out, "--check"], { BANDMINT_PASSPHRASE: "wrong one" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /wrong passphrase/);
  assert.doesNotMatch(r.stderr, /wrong one|right one|\n\s+at /);
  // No terminal and no passphrase: told where to put one.
  const none = bandmint(["key", "address", out, "--check"]);
  assert.match(none.stderr, /BANDMINT_PASSPHRASE/);
});

test("key import encrypts an existing key from a file", async () => {
  const keyFile = join(dir, "plain.key");
  await writeFile(keyFile, `${KEY}\n`);
  const pw = join(dir, "pw");
  await writeFile(pw, "imported pass\n");
  const out = join(dir, "imported.json");
  const r = bandmint(["key", "import", "--key-file", keyFile, "--passphrase-file", pw, "--out", out, "--light"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n")[0], privateKeyToAddress(KEY));
  assert.equal(await decryptKeystore(parseKeystore(JSON.parse(await readFile(out, "utf8"))), "imported pass"), KEY);
  await writeFile(keyFile, "0x1234\n");
  const bad = bandmint(["key", "import", "--key-file", keyFile, "--passphrase-file", pw, "--out", join(dir, "bad.json")]);
  assert.equal(bad.code, 2);
  assert.doesNotMatch(bad.stderr, /0x1234/);
});
