// Properties of the client's flag decoder (parseClientConfig): any flag values and environment give
// a config or a ClientConfigError naming the flag; valid flags round-trip. (Examples: test/client/cliConfig.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ClientConfigError, DEFAULT_CLIENT_DATA_DIR, DEFAULT_DEPLOYMENT_PATH, parseClientConfig } from "./clientConfig.ts";
import { hexBytes } from "../protocol/testing/arbitraries.ts";
import { propertyRuns, withinTimeAsync } from "../protocol/testing/properties.ts";

const FLAGS = ["rpc", "deployment", "key", "keystore", "passphrase-file", "max-price", "data-dir"] as const;
// parseArgs gives strings (or booleans for a string flag given without a value in lenient mode), or nothing.
const flagValue = fc.oneof(fc.string({ maxLength: 80 }), hexBytes(32), fc.constantFrom("", "0x", "1.5", "1e18", "-1", "http://127.0.0.1:8545", "ftp://x", "12.5 BAND", "0.0000000000000000001"), fc.boolean());

test("any flags and environment: a config or a ClientConfigError naming the flag (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(fc.constantFrom(...FLAGS.filter((f) => f !== "keystore")), flagValue, { maxKeys: 6 }),
      fc.record({ BANDMINT_KEY: fc.oneof(fc.string({ maxLength: 70 }), hexBytes(32)), BANDMINT_PASSPHRASE: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }),
      async (values, env) => {
        try {
          const c = await withinTimeAsync(() => parseClientConfig(values, env), 2_000, "parsing client flags");
          assert.match(c.privateKey, /^0x[0-9a-fA-F]{64}$/);
        } catch (e) {
          assert.ok(e instanceof ClientConfigError, String(e));
          assert.ok((FLAGS as readonly string[]).includes(e.flag), e.flag);
          assert.ok(e.shortMessage.startsWith(`--${e.flag}: `), e.shortMessage);
        }
      },
    ),
    { numRuns: propertyRuns(500) },
  );
  // A keystore that is not there (or not a keystore) is named too, whatever else is wrong.
  for (const keystore of ["", "/nonexistent/keystore.json", ".", "\u0000"]) {
    await assert.rejects(parseClientConfig({ keystore }, {}), (e: unknown) => e instanceof ClientConfigError && e.flag === "keystore");
  }
});

test("valid flags round-trip (property)", async () => {
  const decimal = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.stringMatching(/^[0-9]{1,18}$/), { nil: undefined }));
  await fc.assert(
    fc.asyncProperty(hexBytes(32), fc.option(fc.webUrl({ validSchemes: ["http", "https"] }), { nil: undefined }), fc.option(decimal, { nil: undefined }), fc.option(fc.stringMatching(/^[a-z0-9/._-]{1,20}$/), { nil: undefined }), async (key, rpc, price, dir) => {
      const values: Record<string, string> = { key };
      if (rpc !== undefined) values.rpc = rpc;
      if (price !== undefined) values["max-price"] = `${price[0]}${price[1] === undefined ? "" : `.${price[1]}`}`;
      if (dir !== undefined) {
        values.deployment = `${dir}/deployment.json`;
        values["data-dir"] = dir;
      }
      const c = await parseClientConfig(values, {});
      assert.equal(c.privateKey, key);
      assert.equal(c.rpcUrl, rpc);
      assert.equal(c.deploymentPath, dir === undefined ? DEFAULT_DEPLOYMENT_PATH : `${dir}/deployment.json`);
      assert.equal(c.dataDir, dir ?? DEFAULT_CLIENT_DATA_DIR);
      const wei = price === undefined ? undefined : price[0] * 10n ** 18n + BigInt((price[1] ?? "").padEnd(18, "0") || "0");
      assert.equal(c.maxPricePerGiB, wei);
    }),
    { numRuns: propertyRuns(300) },
  );
});
