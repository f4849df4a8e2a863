import { createRequire } from "node:module";
import { getAddress, type Address, type Hex } from "viem";
import { BaseError, InvalidSignatureError, NativeSecp256k1UnavailableError } from "./errors.ts";
import { assertCanonicalSignature, type SignatureParts } from "./signature.ts";
import { toHexString, writeHex } from "./hex.ts";
import { keccak256Bytes } from "./keccak256.ts";

type Secp256k1 = typeof import("secp256k1");

// `secp256k1` 5.x's index.js does `try { require('./bindings') } catch { require('./elliptic') }`:
// a missing prebuilt binary silently degrades recovery to pure JS (elliptic), about 10x slower.
// We load the bindings entry directly so we know which one we got, and keep the JS fallback so
// the protocol still works (correctly, slowly) where the binary cannot load. A node calls
// assertNativeSecp256k1() at start-up to refuse the slow path.
/** Which secp256k1 implementation was loaded, and why the native one was not (if so). */
export type Secp256k1Backend = { lib: Secp256k1; native: boolean; error?: unknown };

/** Loads `secp256k1/bindings` (native) or, failing that, `secp256k1/elliptic` (JS), via `load`. */
export function loadSecp256k1Backend(load: (id: string) => unknown): Secp256k1Backend {
  try {
    return { lib: load("secp256k1/bindings") as Secp256k1, native: true };
  } catch (error) {
    return { lib: load("secp256k1/elliptic") as Secp256k1, native: false, error };
  }
}

const loaded = loadSecp256k1Backend(createRequire(import.meta.url));

/** True iff signature recovery runs on the native libsecp256k1 binding. */
export function isNativeSecp256k1(): boolean {
  return loaded.native;
}

/** Throws NativeSecp256k1UnavailableError (with the load error as cause) if recovery fell back to JS. */
export function assertNativeSecp256k1(backend: Secp256k1Backend = loaded): void {
  if (!backend.native) throw new NativeSecp256k1UnavailableError({ cause: backend.error });
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
  const hash = keccak256Bytes(publicKey.subarray(1));
  // getAddress memoizes checksums (LRU), and a node sees few distinct senders.
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
