// The service files in packaging/: the systemd unit passes `systemd-analyze verify` with no
// complaint, the OpenWrt procd script parses (`sh -n`) and, run with OpenWrt's UCI and procd
// functions stood in for, turns the UCI config into the `bandmint node start` command line that
// the CLI accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { nodeConfigOptions } from "../../src/cli/commands/node-start.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const unitPath = join(root, "packaging/systemd/bandmint.service");
const initPath = join(root, "packaging/openwrt/bandmint.init");
const uciPath = join(root, "packaging/openwrt/bandmint.config");
const has = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).error === undefined;

/** `node start` flags after the script in a command line, parsed as strictly as the CLI does. */
function parseNodeStart(argv: string[]) {
  const i = argv.indexOf("start");
  assert.deepEqual(argv.slice(i - 1, i + 1), ["node", "start"]);
  return parseArgs({ args: argv.slice(i + 1), options: nodeConfigOptions, strict: true, allowPositionals: false }).values;
}

test("the systemd unit: non-root, hardened, restarts on failure, and its flags are node start's", async () => {
  const unit = await readFile(unitPath, "utf8");
  for (const line of ["User=bandmint", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "StateDirectory=bandmint", "Restart=on-failure", "CapabilityBoundingSet=", "KillSignal=SIGTERM"]) {
    assert.match(unit, new RegExp(`^${line}$`, "m"), line);
  }
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  const flags = parseNodeStart(exec);
  assert.equal(flags.config, "/etc/bandmint/node.yaml");
  // The credentials systemd loads are the ones the node reads.
  for (const [, name] of unit.matchAll(/^LoadCredential=([^:]+):/gm)) {
    assert.ok(exec.some((a) => a === `/run/credentials/bandmint.service/${name}`), name);
  }
});

test("systemd-analyze verify accepts the unit without a warning", { skip: has("systemd-analyze") ? undefined : "systemd-analyze is not installed (apt-get install systemd)" }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-unit-"));
  try {
    // verify checks that ExecStart's program exists: point it at the Node running this test.
    const unit = (await readFile(unitPath, "utf8")).replace("ExecStart=/usr/bin/node ", `ExecStart=${process.execPath} `);
    const verify = async (text: string) => {
      const path = join(dir, "bandmint.service");
      await writeFile(path, text);
      const r = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
      return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
    };
    assert.deepEqual(await verify(unit), { code: 0, output: "" });
    // The check can fail: a misspelt hardening option is reported.
    assert.match((await verify(unit.replace("ProtectSystem=", "ProtectSystm="))).output, /Unknown key 'ProtectSystm'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The UCI file's options and lists of section 'main', as `uci` would read them. */
function readUci(text: string): { options: Map<string, string>; lists: Map<string, string[]> } {
  const options = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (const m of text.matchAll(/^\s*(option|list)\s+(\w+)\s+'([^']*)'\s*$/gm)) {
    if (m[1] === "option") options.set(m[2]!, m[3]!);
    else lists.set(m[2]!, [...(lists.get(m[2]!) ?? []), m[3]!]);
  }
  return { options, lists };
}

test("the procd init script parses with sh -n", () => {
  execFileSync("sh", ["-n", initPath]);
});

test("the procd script maps the UCI config onto node start flags", async () => {
  const uci = readUci(await readFile(uciPath, "utf8"));
  assert.equal(uci.options.get("enabled"), "0"); // installed disabled until configured
  uci.options.set("enabled", "1");
  uci.options.set("endpoint", "http://203.0.113.7:7070");
  uci.lists.set("origin", ["https://a.example", "https://b.example"]);
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  // Stand-ins for OpenWrt's /lib/functions.sh and procd.sh over the parsed UCI values.
  const stubs = [
    "config_load() { :; }",
    "config_foreach() { \"$1\" main; }",
    "config_get() { eval \"v=\\${uci_$3-}\"; [ -n \"$v\" ] || v=\"$4\"; eval \"$1=\\$v\"; }",
    "config_get_bool() { config_get \"$@\"; }",
    `config_list_foreach() { for x in ${(uci.lists.get("origin") ?? []).map(q).join(" ")}; do "$3" "$x"; done; }`,
    "procd_open_instance() { :; }",
    "procd_close_instance() { :; }",
    "procd_set_param() { if [ \"$1\" = command ]; then shift; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; fi; }",
    "procd_append_param() { shift; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; }",
    ...[...uci.options].map(([k, v]) => `uci_${k}=${q(v)}`),
  ].join("\n");
  const out = execFileSync("sh", ["-c", `${stubs}\n. ${q(initPath)}\nstart_service`], { encoding: "utf8" });
  const argv = out.trimEnd().split("\n");
  assert.deepEqual(argv.slice(0, 3), ["/usr/bin/node", "--max-old-space-size=96", "/opt/bandmint/bandmint.mjs"]);
  const flags = parseNodeStart(argv);
  assert.deepEqual({ ...flags }, {
    config: "/etc/bandmint/node.yaml",
    keystore: "/etc/bandmint/keystore.json",
    "passphrase-file": "/etc/bandmint/passphrase",
    port: "7070",
    endpoint: "http://203.0.113.7:7070",
    "data-dir": "/mnt/sda1/bandmint",
    "max-cache-bytes": "1 GiB",
    origin: ["https://a.example", "https://b.example"],
  });
});
