import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { keccak256, recoverAddress as viemRecoverAddress, recoverPublicKey as viemRecoverPublicKey, type Hex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { InvalidSignatureError, NativeSecp256k1UnavailableError } from "./errors.ts";
import { createRequire } from "node:module";
import { assertNativeSecp256k1, isNativeSecp256k1, loadSecp256k1Backend, recoverAddress, recoverPublicKey, secp256k1Backend, selectSecp256k1Backend } from "./secp256k1.ts";
import { hexBytes } from "./testing/arbitraries.ts";

test("the native binding is loaded on this platform", () => {
  assert.equal(isNativeSecp256k1(), true);
  assert.doesNotThrow(() => assertNativeSecp256k1());
});

test("a missing native binary falls back to JS and assertNativeSecp256k1 says so", () => {
  const require = createRequire(import.meta.url);
  const loadError = new Error("No native build was found");
  const load = (id: string) => {
    if (id === "secp256k1/bindings") throw loadError;
    return require(id);
  };
  const backend = loadSecp256k1Backend(load);
  assert.equal(backend.name, "javascript");
  assert.equal(backend.error, loadError);
  assert.throws(() => assertNativeSecp256k1(backend), (e: unknown) => e instanceof NativeSecp256k1UnavailableError && e.cause === loadError);
  assert.throws(() => loadSecp256k1Backend(load, "native"), (e: unknown) => e instanceof NativeSecp256k1UnavailableError && e.cause === loadError);
  assert.equal(loadSecp256k1Backend(require).name, "native");
  assert.equal(loadSecp256k1Backend(require, "javascript").name, "javascript");
});

test("the JavaScript backend signs and recovers exactly as the native one (property)", () => {
  const require = createRequire(import.meta.url);
  const native = loadSecp256k1Backend(require, "native");
  const js = loadSecp256k1Backend(require, "javascript");
  const key = fc.bigInt({ min: 1n, max: 2n ** 255n }).map((k) => Uint8Array.from(Buffer.from(k.toString(16).padStart(64, "0"), "hex")));
  fc.assert(fc.property(key, fc.uint8Array({ minLength: 32, maxLength: 32 }), (k, digest) => {
    const a = native.sign(digest, k);
    const b = js.sign(digest, k);
    assert.deepEqual(Buffer.from(b.signature), Buffer.from(a.signature));
    assert.equal(b.recovery, a.recovery);
    const rec = a.recovery as 0 | 1;
    assert.deepEqual(Buffer.from(js.recover(a.signature, rec, digest)), Buffer.from(native.recover(a.signature, rec, digest)));
  }), { numRuns: 60 });
  const noPoint = new Uint8Array(64);
  noPoint[31] = 5;
  noPoint[63] = 1;
  assert.throws(() => js.recover(noPoint, 0, new Uint8Array(32).fill(1)));
  assert.equal(js.isPrivateKey(new Uint8Array(32)), false);
  assert.equal(native.isPrivateKey(new Uint8Array(32)), false);
});

test("selectSecp256k1Backend switches what recovery uses", async () => {
  const digest = keccak256("0x02");
  const key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const signature = await sign({ hash: digest, privateKey: key, to: "hex" });
  try {
    assert.equal(selectSecp256k1Backend("javascript").name, "javascript");
    assert.equal(isNativeSecp256k1(), false);
    assert.equal(recoverAddress(digest, signature), privateKeyToAccount(key).address);
  } finally {
    assert.equal(selectSecp256k1Backend("native").name, "native");
  }
  assert.equal(secp256k1Backend().name, "native");
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
