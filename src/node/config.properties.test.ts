// Properties of the node's config decoder (loadNodeConfig): any file text (JSON or YAML), any
// flags and environment give a config or a NodeConfigError naming the field and the source; valid
// configs round-trip through both formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { stringify as toYaml } from "yaml";
import { loadNodeConfig, NodeConfigError, type NodeConfigFlags } from "./config.ts";
import { hexBytes } from "../protocol/testing/arbitraries.ts";
import { propertyRuns, withinTimeAsync } from "../protocol/testing/properties.ts";

// Generous: a config load reads a file and may try a key file; the bound is for hangs, not speed.
const LOAD_MS = 2_000;

/** Loads and requires a config or a NodeConfigError naming a field and `source`. */
async function loads(dir: string, text: string, ext: "json" | "yaml", flags: NodeConfigFlags = {}, env: Record<string, string> = {}) {
  const file = join(dir, `node.${ext}`);
  await writeFile(file, text);
  try {
    return await withinTimeAsync(() => loadNodeConfig({ file, flags, env }), LOAD_MS, "loading a config");
  } catch (e) {
    if (!(e instanceof NodeConfigError)) throw e;
    assert.ok(e.field.length > 0, e.message);
    assert.ok(e.source === file || e.source === "flags", e.message);
    assert.ok(e.shortMessage.startsWith(`${e.source}: ${e.field}: `), e.shortMessage);
    return undefined;
  }
}

const KEYS = [
  "rpcUrl", "deployment", "privateKey", "keyFile", "keystore", "passphraseFile", "host", "port", "endpoint", "tls", "dataDir", "cacheDir",
  "maxCacheBytes", "origins", "pricePerGiB", "bytesPerTicket", "faceValue", "creditWindowBytes", "ticketExpirySeconds", "fundsTtlSeconds",
  "signerThreads", "portMapping", "reachability", "ticketWriterThread", "threadIdleSeconds", "memoryCacheBytes", "secp256k1", "region",
  "capacityMbps", "services", "relay", "stake", "redeem",
];
const anyConfig = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 10 }),
);
const yamlish = fc.string({ unit: fc.constantFrom(..."ab: -\n\t[]{}&*!|>'\"%@`#,?0123456789.~"), maxLength: 120 });
const flagsArb: fc.Arbitrary<NodeConfigFlags> = fc.record(
  {
    port: fc.string({ maxLength: 6 }), host: fc.string({ maxLength: 10 }), "price-per-gib": fc.string({ maxLength: 12 }), "bytes-per-ticket": fc.string({ maxLength: 8 }),
    services: fc.string({ maxLength: 12 }), region: fc.string({ maxLength: 40 }), key: fc.string({ maxLength: 70 }), origin: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
    "relay-test-target": fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const envArb = fc.record({ BANDMINT_SECP256K1: fc.string({ maxLength: 10 }), BANDMINT_KEY: fc.string({ maxLength: 70 }) }, { requiredKeys: [] });

test("any file text, flags and environment: a config or a NodeConfigError naming the field and the source (property)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-props-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(anyConfig.map((v) => JSON.stringify(v)), anyConfig.map((v) => toYaml(v)), yamlish, fc.string({ maxLength: 80 })),
      fc.constantFrom("json" as const, "yaml" as const),
      fc.option(flagsArb, { nil: undefined }),
      envArb,
      async (text, ext, flags, env) => {
        await loads(dir, text, ext, flags, env);
      },
    ),
    { numRuns: propertyRuns(300) },
  );
});

const relPath = fc.stringMatching(/^[a-z0-9_-]{1,8}(\/[a-z0-9_-]{1,8}){0,2}$/);
const validConfig = fc.record(
  {
    deployment: relPath,
    dataDir: relPath,
    privateKey: hexBytes(32),
    price: fc.oneof(
      fc.bigInt({ min: 1n, max: 10n ** 30n }).map((wei) => ({ written: wei.toString() as string | number, wei })),
      fc.nat().filter((n) => n > 0).map((n) => ({ written: n as string | number, wei: BigInt(n) })),
      fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 999 })).filter(([w, f]) => w + f > 0).map(([w, f]) => ({ written: `${w}.${String(f).padStart(3, "0")} BAND`, wei: BigInt(w) * 10n ** 18n + BigInt(f) * 10n ** 15n })),
    ),
    bytesPerTicket: fc.oneof(
      fc.integer({ min: 1, max: 64 }).map((m) => ({ written: `${m} MiB` as string | number, bytes: BigInt(m) << 20n })),
      fc.integer({ min: 1024, max: 1 << 24 }).map((n) => ({ written: n as string | number, bytes: BigInt(n) })),
    ),
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    region: fc.option(fc.string({ maxLength: 32 }), { nil: undefined }),
    services: fc.option(fc.subarray(["cdn", "relay"] as const, { minLength: 1 }), { nil: undefined }),
    maxBatch: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
    denyPorts: fc.option(fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }), { nil: undefined }),
  },
  { noNullPrototype: true },
);

test("valid configs round-trip through JSON and YAML (property)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-props-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await fc.assert(
    fc.asyncProperty(validConfig, fc.constantFrom("json" as const, "yaml" as const), async (v, ext) => {
      const body: Record<string, unknown> = { deployment: v.deployment, dataDir: v.dataDir, privateKey: v.privateKey, pricePerGiB: v.price.written, bytesPerTicket: v.bytesPerTicket.written };
      if (v.port !== undefined) body.port = v.port;
      if (v.region !== undefined) body.region = v.region;
      if (v.services !== undefined) body.services = v.services;
      if (v.maxBatch !== undefined) body.redeem = { maxBatch: v.maxBatch };
      if (v.denyPorts !== undefined) body.relay = { denyPorts: v.denyPorts };
      const c = await loads(dir, ext === "json" ? JSON.stringify(body) : toYaml(body), ext);
      assert.ok(c, JSON.stringify(body));
      assert.equal(c.deployment, resolve(dir, v.deployment));
      assert.equal(c.dataDir, resolve(dir, v.dataDir));
      assert.equal(c.cacheDir, resolve(dir, v.dataDir, "cache"));
      assert.equal(c.privateKey, v.privateKey);
      assert.equal(c.pricePerGiB, v.price.wei);
      assert.equal(c.bytesPerTicket, v.bytesPerTicket.bytes);
      assert.equal(c.port, v.port ?? 7070);
      assert.equal(c.region, v.region ?? "");
      assert.deepEqual(c.services, v.services ?? ["cdn"]);
      assert.equal(c.redeem.maxBatch, v.maxBatch ?? 32);
      assert.deepEqual(c.relay.denyPorts, v.denyPorts ?? [25]);
    }),
    { numRuns: propertyRuns(150) },
  );
});

const badValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", "-1", "1.5", "0", 0, -1, 1.5, 1e400, "4 MB", "1e18", "cheap", null, [], {}, "http://", "0x1234", 70_000, "x".repeat(40)),
);

test("a bad value in a valid config is refused naming that field (property)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-config-props-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fields = ["deployment", "dataDir", "privateKey", "pricePerGiB", "bytesPerTicket", "creditWindowBytes", "faceValue", "port", "region", "services", "origins", "ticketExpirySeconds", "rpcUrl", "endpoint", "secp256k1", "signerThreads", "maxCacheBytes", "stake"];
  const nested = [["redeem", "maxBatch"], ["redeem", "maxFeeShareBps"], ["relay", "denyPorts"], ["relay", "maxTunnels"], ["reachability", "intervalSeconds"], ["portMapping", "protocol"]];
  await fc.assert(
    fc.asyncProperty(validConfig, fc.nat(), badValue, fc.constantFrom("json" as const, "yaml" as const), async (v, pick, bad, ext) => {
      const body: Record<string, unknown> = { deployment: v.deployment, dataDir: v.dataDir, privateKey: v.privateKey, pricePerGiB: v.price.written };
      let field: string;
      if (pick % 3 === 0) {
        const [outer, inner] = nested[pick % nested.length]!;
        body[outer!] = { [inner!]: bad };
        field = `${outer}.${inner}`;
      } else {
        field = fields[pick % fields.length]!;
        body[field] = bad;
      }
      const file = join(dir, `node.${ext}`);
      await writeFile(file, ext === "json" ? JSON.stringify(body) : toYaml(body));
      try {
        await loadNodeConfig({ file });
      } catch (e) {
        assert.ok(e instanceof NodeConfigError, String(e));
        // A bad value of the key's own field names the field; one that made the key unusable names "privateKey".
        assert.ok(e.field === field || e.field.startsWith(`${field}.`) || (field === "privateKey" && e.field === "privateKey"), `${field} := ${JSON.stringify(bad)}: ${e.shortMessage}`);
      }
    }),
    { numRuns: propertyRuns(300) },
  );
});
