import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultFaceValue, loadNodeConfig, NodeConfigError, parseByteSize, parseConfigAmount } from "./config.ts";
import { defaultRedeemPolicy } from "./redeemer.ts";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

test("token amounts and byte sizes parse exactly", () => {
  assert.equal(parseConfigAmount("12.5 BAND"), 12_500_000_000_000_000_000n);
  assert.equal(parseConfigAmount("0.000000000000000001BAND"), 1n);
  assert.equal(parseConfigAmount("42"), 42n);
  assert.equal(parseConfigAmount(42), 42n);
  assert.throws(() => parseConfigAmount("1.5"), /neither/);
  assert.throws(() => parseConfigAmount("-1 BAND"), /Invalid amount/);
  assert.throws(() => parseConfigAmount("0.0000000000000000001 BAND"), /decimal places/);
  assert.equal(parseByteSize("4 MiB"), 4n << 20n);
  assert.equal(parseByteSize(1024), 1024n);
  assert.throws(() => parseByteSize("4 MB"), /byte size/);
});

test("a YAML file plus flags gives a typed config with defaults; paths resolve against the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-"));
  try {
    const file = join(dir, "node.yaml");
    await writeFile(file, `deployment: dep.json\nprivateKey: "${KEY}"\ndataDir: data\npricePerGiB: 2 BAND\nredeem:\n  maxBatch: 8\n`);
    const c = await loadNodeConfig({ file, flags: { port: "9000", origin: ["http://127.0.0.1:1"] } });
    assert.equal(c.deployment, join(dir, "dep.json"));
    assert.equal(c.dataDir, join(dir, "data"));
    assert.equal(c.cacheDir, join(dir, "data", "cache"));
    assert.equal(c.port, 9000);
    assert.deepEqual(c.origins, ["http://127.0.0.1:1"]);
    assert.equal(c.pricePerGiB, 2n * 10n ** 18n);
    assert.equal(c.bytesPerTicket, 8n << 20n);
    assert.equal(c.redeem.maxBatch, 8);
    assert.equal(c.redeem.maxFeeShareBps, 500);
    // Default face value: the price of 100 MiB at 2 BAND per GiB.
    assert.equal(c.faceValue, (2n * 10n ** 18n * 100n) >> 10n);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("errors name the field and the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-"));
  try {
    const file = join(dir, "node.json");
    await writeFile(file, JSON.stringify({ deployment: "d", privateKey: KEY, dataDir: "x", pricePerGiB: "cheap" }));
    await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === "pricePerGiB" && e.shortMessage.startsWith(file));
    await writeFile(file, JSON.stringify({ deployment: "d", privateKey: KEY, dataDir: "x", pricePerGiB: 1, redeem: { maxFeeShareBps: 20_000 } }));
    await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === "redeem.maxFeeShareBps");
    await writeFile(file, JSON.stringify({ deployment: "d", dataDir: "x", pricePerGiB: 1 }));
    await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === "privateKey");
    const c = await loadNodeConfig({ file, env: { BANDMINT_KEY: KEY } });
    assert.equal(c.privateKey, KEY);
    await writeFile(file, JSON.stringify({ deployment: "d", dataDir: "x", pricePerGiB: 1, typo: 1 }));
    await assert.rejects(loadNodeConfig({ file, env: { BANDMINT_KEY: KEY } }), (e: NodeConfigError) => e.field.includes("typo"));
    await writeFile(file, "{ not json");
    await assert.rejects(loadNodeConfig({ file }), /not valid JSON/);
    // A file that parses to a list or a scalar is no config (and flags cannot be merged into it).
    for (const text of ["[1]", "42", '"node"']) {
      await writeFile(file, text);
      await assert.rejects(loadNodeConfig({ file, flags: { port: "1" }, env: { BANDMINT_SECP256K1: "auto" } }), (e: NodeConfigError) => e.field === "(file)" && /map of fields/.test(e.shortMessage));
    }
    // Zero prices, ticket sizes, windows and face values cannot work: refused here, by name.
    for (const field of ["pricePerGiB", "bytesPerTicket", "creditWindowBytes", "faceValue"]) {
      await writeFile(file, JSON.stringify({ deployment: "d", privateKey: KEY, dataDir: "x", pricePerGiB: 1, [field]: 0 }));
      await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === field && /greater than 0/.test(e.shortMessage));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("flags only (no config file) yield the documented defaults, nested redeem policy included", async () => {
  const c = await loadNodeConfig({ flags: { deployment: "dep.json", "data-dir": "data", "price-per-gib": "1 BAND", key: KEY } });
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 7070);
  assert.equal(c.bytesPerTicket, 8n << 20n);
  assert.equal(c.creditWindowBytes, 32n << 20n);
  assert.equal(c.maxCacheBytes, 10n << 30n);
  assert.equal(c.ticketExpirySeconds, 86_400);
  assert.equal(c.fundsTtlSeconds, 10);
  assert.deepEqual(c.services, ["cdn"]);
  // payments.md §8: 500, 3600, 32, 15, 300, 1e18. Before the fix these were all undefined.
  assert.deepEqual(c.redeem, {
    maxFeeShareBps: 500, deadlineMarginSeconds: 3600, maxBatch: 32, intervalSeconds: 15, maxBackoffSeconds: 300, tokenPerNativeE18: 10n ** 18n,
  });
  assert.equal(c.redeem.intervalSeconds * 1000, defaultRedeemPolicy.intervalMs);
  // A partial redeem object keeps the defaults of the fields it leaves out.
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-"));
  try {
    const file = join(dir, "node.json");
    await writeFile(file, JSON.stringify({ deployment: "d", privateKey: KEY, dataDir: "x", pricePerGiB: 1, redeem: { maxBatch: 4 } }));
    const d = await loadNodeConfig({ file });
    assert.equal(d.redeem.maxBatch, 4);
    assert.equal(d.redeem.intervalSeconds, 15);
    assert.equal(d.redeem.tokenPerNativeE18, 10n ** 18n);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("limits and the admin listener parse with units, a time zone and hours, and name a bad field", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-"));
  try {
    const file = join(dir, "node.yaml");
    const base = `deployment: dep.json\nprivateKey: "${KEY}"\ndataDir: data\npricePerGiB: 2 BAND\nport: 7070\n`;
    await writeFile(file, `${base}limits:\n  timeZone: Europe/Berlin\n  ratePerSecond: 10 MiB\n  quota: { bytes: 500 GiB, resetDay: 15 }\n  schedule: ["22:00-06:00"]\n  maxSessions: 20\n`);
    const c = await loadNodeConfig({ file });
    assert.deepEqual(c.limits, { timeZone: "Europe/Berlin", ratePerSecond: 10n << 20n, quota: { bytes: 500n << 30n, resetDay: 15 }, schedule: ["22:00-06:00"], maxSessions: 20 });
    assert.deepEqual(c.admin, { enabled: true, host: "127.0.0.1", port: 7071, portDefaulted: true });
    const none = await loadNodeConfig({ file, flags: { "admin-port": "0", "admin-host": "0.0.0.0" } });
    assert.deepEqual([none.admin.host, none.admin.port, none.admin.portDefaulted], ["0.0.0.0", 0, false]);
    for (const [limits, field] of [
      ["  timeZone: Mars/Olympus\n", "limits.timeZone"],
      ['  schedule: ["8-22"]\n', "limits.schedule.0"],
      ["  quota: { bytes: 0 }\n", "limits.quota.bytes"],
      ["  ratePerSecond: fast\n", "limits.ratePerSecond"],
      ["  maxsessions: 3\n", "limits"],
    ] as const) {
      await writeFile(file, `${base}limits:\n${limits}`);
      await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field.startsWith(field), `${limits} -> ${field}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the provider key can come from an encrypted keystore; plain keys keep working; errors never show the passphrase", async () => {
  const { encryptKeystore, writeKeystoreFile } = await import("../chain/keystore.ts");
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-"));
  try {
    await writeKeystoreFile(join(dir, "provider.json"), await encryptKeystore(KEY, "hunter2 hunter2", { strength: "light" }));
    await writeFile(join(dir, "pw"), "hunter2 hunter2\n");
    const file = join(dir, "node.yaml");
    await writeFile(file, "deployment: dep.json\nkeystore: provider.json\npassphraseFile: pw\ndataDir: data\npricePerGiB: 1 BAND\n");
    const c = await loadNodeConfig({ file });
    assert.equal(c.privateKey, KEY);
    assert.ok(!("keystore" in c) && !("passphraseFile" in c));
    // Without the file: BANDMINT_PASSPHRASE, then the prompt.
    await writeFile(file, "deployment: dep.json\nkeystore: provider.json\ndataDir: data\npricePerGiB: 1 BAND\n");
    assert.equal((await loadNodeConfig({ file, env: { BANDMINT_PASSPHRASE: "hunter2 hunter2" } })).privateKey, KEY);
    assert.equal((await loadNodeConfig({ file, prompt: async () => "hunter2 hunter2" })).privateKey, KEY);
    await assert.rejects(loadNodeConfig({ file, env: { BANDMINT_PASSPHRASE: "wrong guess" } }), (e: NodeConfigError) => {
      assert.equal(e.field, "keystore");
      assert.match(e.shortMessage, /wrong passphrase/);
      assert.ok(!e.message.includes("wrong guess") && !e.message.includes("hunter2"));
      return true;
    });
    await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === "keystore" && /no passphrase/.test(e.shortMessage));
    // A --key flag replaces the file's keystore; a key and a keystore in one file is a mistake.
    assert.equal((await loadNodeConfig({ file, flags: { key: KEY } })).privateKey, KEY);
    await writeFile(file, `deployment: dep.json\nkeystore: provider.json\nprivateKey: "${KEY}"\ndataDir: data\npricePerGiB: 1 BAND\n`);
    await assert.rejects(loadNodeConfig({ file }), (e: NodeConfigError) => e.field === "keystore" && /not both/.test(e.shortMessage));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the default face value does not grow with the ticket size, below one ticket's price", () => {
  const price = 10n ** 18n; // per GiB
  const hundredMiB = (price * 100n) >> 10n;
  // Deposits, winners per GiB and redemption gas stay where they are whatever bytesPerTicket is:
  // a bigger ticket wins more often instead.
  for (const bytesPerTicket of [1n << 20n, 8n << 20n, 100n << 20n]) assert.equal(defaultFaceValue(price, bytesPerTicket), hundredMiB);
  // A ticket worth more than 100 MiB gets its own price (ticketParams caps winProb at certainty).
  assert.equal(defaultFaceValue(price, 256n << 20n), price / 4n);
  // Rounded up, as a ticket's price is: never a face value below what the bytes cost.
  assert.equal(defaultFaceValue(3n, 8n << 20n), 1n);
});
