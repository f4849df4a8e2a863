import { createRequire } from "node:module";
import { getAddress, keccak256, type Address, type Hex } from "viem";
import { BaseError, InvalidSignatureError, NativeSecp256k1UnavailableError } from "./errors.ts";
import { assertCanonicalSignature, type SignatureParts } from "./signature.ts";
import { toHexString, writeHex } from "./hex.ts";

type Secp256k1 = typeof import("secp256k1");

// `secp256k1` 5.x's index.js does `try { require('./bindings') } catch { require('./elliptic') }`:
// a missing prebuilt binary silently degrades recovery to pure JS (elliptic), about 10x slower.
// We load the bindings entry directly so we know which one we got, and keep the JS fallback so
// the protocol still works (correctly, slowly) where the binary cannot load. A node calls
// assertNativeSecp256k1() at start-up to refuse the slow path.
const require = createRequire(import.meta.url);
const loaded: { lib: Secp256k1; native: boolean; error?: unknown } = (() => {
  try {
    return { lib: require("secp256k1/bindings") as Secp256k1, native: true };
  } catch (error) {
    return { lib: require("secp256k1/elliptic") as Secp256k1, native: false, error };
  }
})();

/** True iff signature recovery runs on the native libsecp256k1 binding. */
export function isNativeSecp256k1(): boolean {
  return loaded.native;
}

/** Throws NativeSecp256k1UnavailableError (with the load error as cause) if recovery fell back to JS. */
export function assertNativeSecp256k1(): void {
  if (!loaded.native) throw new NativeSecp256k1UnavailableError({ cause: loaded.error });
}

/**
 * Recovers the uncompressed 65-byte public key (0x04 ‖ x ‖ y) that produced `sig` over the
 * 32-byte `digest`. `sig` must be canonical (65 bytes, v in {27, 28}, low s); pass wallet output
 * through normalizeSignature first.
 */
export function recoverPublicKey(digest: Hex | Uint8Array, sig: Hex): Hex {
  return toHexString(recoverPublicKeyBytes(digestBytes(digest), sig));
}

/** Recovers the signer's address of a canonical `sig` over `digest` with the native binding. */
export function recoverAddress(digest: Hex | Uint8Array, sig: Hex): Address {
  return publicKeyToAddress(recoverPublicKeyBytes(digestBytes(digest), sig));
}

/** Recovery on already-split parts, for callers that validated the signature themselves. */
export function recoverAddressFromParts(digest: Uint8Array, sig: Hex, parts: SignatureParts): Address {
  return publicKeyToAddress(recoverWithParts(digest, sig, parts));
}

function recoverPublicKeyBytes(digest: Uint8Array, sig: Hex): Uint8Array {
  return recoverWithParts(digest, sig, assertCanonicalSignature(sig));
}

function recoverWithParts(digest: Uint8Array, sig: Hex, parts: SignatureParts): Uint8Array {
  const rs = new Uint8Array(64);
  writeHex(rs, 0, parts.r, 32);
  writeHex(rs, 32, parts.s, 32);
  try {
    return loaded.lib.ecdsaRecover(rs, parts.recovery, digest, false);
  } catch (cause) {
    // libsecp256k1 fails when r is not the x coordinate of a curve point.
    throw new InvalidSignatureError({ signature: sig, reason: "no public key recovers from this signature", cause });
  }
}

function publicKeyToAddress(publicKey: Uint8Array): Address {
  const hash = keccak256(publicKey.subarray(1), "bytes");
  return getAddress(toHexString(hash.subarray(12)));
}

function digestBytes(digest: Hex | Uint8Array): Uint8Array {
  if (typeof digest !== "string") {
    if (digest.length !== 32) throw new BaseError(`Digest must be 32 bytes, got ${digest.length}.`);
    return digest;
  }
  const out = new Uint8Array(32);
  if (!writeHex(out, 0, digest, 32)) throw new BaseError("Digest must be 32 bytes of 0x hex.", { details: digest });
  return out;
}
