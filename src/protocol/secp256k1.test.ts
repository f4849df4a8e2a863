import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { keccak256, recoverAddress as viemRecoverAddress, recoverPublicKey as viemRecoverPublicKey, type Hex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { InvalidSignatureError, NativeSecp256k1UnavailableError } from "./errors.ts";
import { createRequire } from "node:module";
import { assertNativeSecp256k1, isNativeSecp256k1, loadSecp256k1Backend, recoverAddress, recoverPublicKey } from "./secp256k1.ts";
import { hexBytes } from "./testing/arbitraries.ts";

test("the native binding is loaded on this platform", () => {
  assert.equal(isNativeSecp256k1(), true);
  assert.doesNotThrow(() => assertNativeSecp256k1());
});

test("a missing native binary falls back to JS and assertNativeSecp256k1 says so", () => {
  const require = createRequire(import.meta.url);
  const loadError = new Error("No native build was found");
  const backend = loadSecp256k1Backend((id) => {
    if (id === "secp256k1/bindings") throw loadError;
    return require(id);
  });
  assert.equal(backend.native, false);
  assert.equal(typeof backend.lib.ecdsaRecover, "function");
  assert.throws(() => assertNativeSecp256k1(backend), (e: unknown) => e instanceof NativeSecp256k1UnavailableError && e.cause === loadError);
  assert.equal(loadSecp256k1Backend(require).native, true);
});

test("native recovery equals viem's (@noble) recovery (property)", async () => {
  const privateKey = fc.bigInt({ min: 1n, max: 2n ** 255n }).map((k) => `0x${k.toString(16).padStart(64, "0")}` as Hex);
  await fc.assert(fc.asyncProperty(privateKey, hexBytes(32), async (key, digest) => {
    const signature = await sign({ hash: digest, privateKey: key, to: "hex" });
    assert.equal(recoverAddress(digest, signature), privateKeyToAccount(key).address);
    assert.equal(recoverAddress(digest, signature), await viemRecoverAddress({ hash: digest, signature }));
    assert.equal(recoverPublicKey(digest, signature), await viemRecoverPublicKey({ hash: digest, signature }));
  }), { numRuns: 60 });
});

test("recovery rejects non-canonical signatures and unrecoverable r", async () => {
  const digest = keccak256("0x01");
  const signature = await sign({ hash: digest, privateKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", to: "hex" });
  const v0 = `${signature.slice(0, 130)}00` as Hex;
  assert.throws(() => recoverAddress(digest, v0), InvalidSignatureError);
  // r = 5 is not the x coordinate of a curve point: libsecp256k1 fails, we map it to our error.
  const noPoint = `0x${"0".repeat(63)}5${"0".repeat(63)}61b` as Hex;
  assert.throws(() => recoverAddress(digest, noPoint), (e: unknown) => e instanceof InvalidSignatureError && /recovers/.test(e.reason));
  assert.throws(() => recoverAddress("0x12", signature), /Digest must be 32 bytes/);
});
