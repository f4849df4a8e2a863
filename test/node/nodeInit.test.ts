// First run on a fresh box: `bandmint node init` (non-interactive) writes a commented config and a
// keystore against the local network's deployment file, then `bandmint node start` from that
// config, as a separate process, sells bytes for tickets.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { privateKeyToAddress } from "viem/accounts";
import { freePort } from "../../src/devnet/freePort.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { openSession, payingDownload } from "./harness.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const { BANDMINT_KEY: _k, BANDMINT_PASSPHRASE: _p, ...baseEnv } = process.env;
const env = { ...baseEnv, BANDMINT_PASSPHRASE: "first run passphrase" };
let w: NodeWorld;
let child: ChildProcess | undefined;

before(async () => {
  w = await startWorld({ size: 4n * MiB });
});
after(async () => {
  child?.kill("SIGKILL");
  await w.close();
});

test("node init writes a config and a keystore; node start from them serves a paid request", async () => {
  const dir = join(w.dir, "fresh-box");
  const configPath = join(dir, "node.yaml");
  const port = await freePort();
  const init = spawnSync(process.execPath, [
    main, "node", "init", "--yes", "--config", configPath, "--deployment", w.deploymentPath, "--price-per-gib", "1 BAND",
    "--host", "127.0.0.1", "--port", String(port), "--origin", w.originUrl, "--light",
  ], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, /next:\n.*fund 0x[0-9a-fA-F]{40}/);
  const yamlText = await readFile(configPath, "utf8");
  assert.match(yamlText, /^# bandmint provider node/);
  assert.match(yamlText, /\n# tls: /); // the options are there, commented
  const raw = parseYaml(yamlText) as Record<string, unknown>;
  assert.equal(raw.keystore, "keystore.json");
  assert.equal((await stat(join(dir, "keystore.json"))).mode & 0o777, 0o600);
  const config = await loadNodeConfig({ file: configPath, env });
  assert.equal(config.port, port);
  assert.deepEqual(config.origins, [w.originUrl]);
  const provider = privateKeyToAddress(config.privateKey);
  assert.match(init.stdout, new RegExp(provider));

  // A second init does not clobber the config (or the key).
  const again = spawnSync(process.execPath, [main, "node", "init", "--yes", "--config", configPath, "--deployment", w.deploymentPath], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /exists; pass --force/);

  child = spawn(process.execPath, [main, "node", "start", "--config", configPath], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr!.on("data", (c: Buffer) => (out += String(c)));
  const url = await new Promise<string>((resolve, reject) => {
    child!.stdout!.on("data", (c: Buffer) => {
      out += String(c);
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child!.once("exit", (code) => reject(new Error(`node start exited ${code}: ${out}`)));
  });
  assert.equal(url, `http://127.0.0.1:${port}`);
  const offer = (await (await fetch(`${url}/offer`)).json()) as { recipient: string };
  assert.equal(offer.recipient, provider);
  const session = await openSession(url, w.consumer);
  const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
  const { bytes, tickets } = await payingDownload({ url, session, path: `/c/${w.contentId}/data.bin`, mibs: 2, key: w.consumer.privateKey, domain });
  assert.ok(bytes.equals(w.data.subarray(0, 2 * Number(MiB))));
  assert.equal(tickets.length, 2);
  const status = (await (await fetch(`${url}/status`)).json()) as { paidBytes: string; tickets: number };
  assert.equal(status.paidBytes, String(2n * MiB));
  assert.equal(status.tickets, 2);
  // The passphrase never reaches the log.
  assert.doesNotMatch(out, /first run passphrase/);
  const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  child = undefined;
});
