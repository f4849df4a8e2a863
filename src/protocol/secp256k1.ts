import { createRequire } from "node:module";
import { secp256k1 as noble } from "@noble/curves/secp256k1";
import { getAddress, type Address, type Hex } from "viem";
import { BaseError, InvalidSignatureError, NativeSecp256k1UnavailableError } from "./errors.ts";
import { assertCanonicalSignature, type SignatureParts } from "./signature.ts";
import { toHexString, writeHex } from "./hex.ts";
import { keccak256Bytes } from "./keccak256.ts";

type NativeSecp256k1 = typeof import("secp256k1");

// Two implementations of the curve operations tickets need. The native one is libsecp256k1 through
// the `secp256k1` package, about ten times faster; its prebuilt binaries cover linux-x64,
// darwin-arm64 and win32-x64 only, and the self-contained build (dist/bandmint.mjs) loads it only
// when the package sits next to it. The JavaScript one is @noble/curves (what viem signs with),
// which runs on any architecture. `secp256k1` 5.x's own index.js silently falls back to `elliptic`
// when its binary does not load; we load its `bindings` entry directly so we know which one we
// got, and the node reports it (log line, /status) and warns on the slow path.

/** Which implementation to use: the native binding if it loads ("auto"), only it ("native"), or JavaScript. */
export type Secp256k1Choice = "auto" | "native" | "javascript";

/** The choices, for config schemas. */
export const SECP256K1_CHOICES = ["auto", "native", "javascript"] as const;

/** A secp256k1 implementation: the operations ticket signing and recovery need. */
export type Secp256k1Backend = {
  name: "native" | "javascript";
  /** Why the native binding is not in use (its load error, or a BaseError saying it was chosen so), for "javascript". */
  error?: unknown;
  /** The 65-byte uncompressed public key for a 64-byte r ‖ s, a recovery id and a 32-byte digest; throws if none recovers. */
  recover(rs: Uint8Array, recovery: 0 | 1, digest: Uint8Array): Uint8Array;
  /** The RFC 6979 deterministic, low-s signature (64-byte r ‖ s and recovery id) of a 32-byte digest. */
  sign(digest: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recovery: number };
  /** True iff `key` is a valid 32-byte secp256k1 private key. */
  isPrivateKey(key: Uint8Array): boolean;
  /** The 65-byte uncompressed public key of a valid 32-byte private key. */
  publicKey(privateKey: Uint8Array): Uint8Array;
};

function nativeBackend(lib: NativeSecp256k1): Secp256k1Backend {
  return {
    name: "native",
    recover: (rs, recovery, digest) => lib.ecdsaRecover(rs, recovery, digest, false),
    sign(digest, privateKey) {
      const { signature, recid } = lib.ecdsaSign(digest, privateKey);
      return { signature, recovery: recid };
    },
    isPrivateKey: (key) => key.length === 32 && lib.privateKeyVerify(key),
    publicKey: (privateKey) => lib.publicKeyCreate(privateKey, false),
  };
}

function javascriptBackend(error: unknown): Secp256k1Backend {
  return {
    name: "javascript",
    error,
    recover: (rs, recovery, digest) => noble.Signature.fromCompact(rs).addRecoveryBit(recovery).recoverPublicKey(digest).toRawBytes(false),
    sign(digest, privateKey) {
      const s = noble.sign(digest, privateKey, { lowS: true });
      return { signature: s.toCompactRawBytes(), recovery: s.recovery };
    },
    isPrivateKey: (key) => key.length === 32 && noble.utils.isValidPrivateKey(key),
    publicKey: (privateKey) => noble.getPublicKey(privateKey, false),
  };
}

/**
 * Loads the backend for `choice` through `load` (a `require`): `secp256k1/bindings` (native) or,
 * failing that under "auto", @noble/curves. Throws NativeSecp256k1UnavailableError for "native"
 * when the binding does not load.
 */
export function loadSecp256k1Backend(load: (id: string) => unknown, choice: Secp256k1Choice = "auto"): Secp256k1Backend {
  if (choice === "javascript") return javascriptBackend(new BaseError("The JavaScript secp256k1 backend was chosen (secp256k1: javascript)."));
  let backend: Secp256k1Backend;
  try {
    backend = nativeBackend(load("secp256k1/bindings") as NativeSecp256k1);
  } catch (error) {
    backend = javascriptBackend(error);
  }
  if (choice === "native") assertNativeSecp256k1(backend);
  return backend;
}

// Resolved from this file: in the source tree that is the package's node_modules, in the
// self-contained build it is node_modules next to (or above) dist/bandmint.mjs.
const requireHere = createRequire(import.meta.url);
let active: Secp256k1Backend | undefined;

/** The backend in use: the one selected at the edge, else the native binding if it loads, else JavaScript. */
export function secp256k1Backend(): Secp256k1Backend {
  return (active ??= loadSecp256k1Backend(requireHere));
}

/**
 * Selects this thread's backend (the node's config at start, a signer thread from its workerData).
 * Process-wide on purpose: the implementation is a property of the install, not of a component.
 */
export function selectSecp256k1Backend(choice: Secp256k1Choice): Secp256k1Backend {
  active = loadSecp256k1Backend(requireHere, choice);
  return active;
}

/** True iff signature recovery runs on the native libsecp256k1 binding. */
export function isNativeSecp256k1(): boolean {
  return secp256k1Backend().name === "native";
}

/** Throws NativeSecp256k1UnavailableError (with the load error as cause) unless `backend` is the native binding. */
export function assertNativeSecp256k1(backend: Secp256k1Backend = secp256k1Backend()): void {
  if (backend.name !== "native") throw new NativeSecp256k1UnavailableError({ cause: backend.error });
}

/**
 * Recovers the uncompressed 65-byte public key (0x04 ‖ x ‖ y) that produced `sig` over the
 * 32-byte `digest`. `sig` must be canonical (65 bytes, v in {27, 28}, low s); pass wallet output
 * through normalizeSignature first.
 */
export function recoverPublicKey(digest: Hex | Uint8Array, sig: Hex): Hex {
  return toHexString(recoverPublicKeyBytes(digestBytes(digest), sig));
}

/** Recovers the signer's address of a canonical `sig` over `digest`. */
export function recoverAddress(digest: Hex | Uint8Array, sig: Hex): Address {
  return publicKeyToAddress(recoverPublicKeyBytes(digestBytes(digest), sig));
}

/** Recovery on already-split parts, for callers that validated the signature themselves. */
export function recoverAddressFromParts(digest: Uint8Array, sig: Hex, parts: SignatureParts): Address {
  return publicKeyToAddress(recoverWithParts(digest, sig, parts));
}

/**
 * The address of a private key, on this process's backend. With the native binding this leaves
 * @noble/curves alone: its first use of the generator builds a table of 4,224 points, which gets
 * V8's optimizing compilers going (about 10 MB of a node's idle RSS) for a node that never signs
 * with it until its first redemption.
 */
export function privateKeyAddress(privateKey: Hex | Uint8Array): Address {
  const key = typeof privateKey === "string" ? Uint8Array.from(Buffer.from(privateKey.slice(2), "hex")) : privateKey;
  const backend = secp256k1Backend();
  if (!backend.isPrivateKey(key)) throw new BaseError("Not a valid secp256k1 private key.");
  return publicKeyToAddress(backend.publicKey(key));
}

function recoverPublicKeyBytes(digest: Uint8Array, sig: Hex): Uint8Array {
  return recoverWithParts(digest, sig, assertCanonicalSignature(sig));
}

function recoverWithParts(digest: Uint8Array, sig: Hex, parts: SignatureParts): Uint8Array {
  const rs = new Uint8Array(64);
  writeHex(rs, 0, parts.r, 32);
  writeHex(rs, 32, parts.s, 32);
  try {
    return secp256k1Backend().recover(rs, parts.recovery, digest);
  } catch (cause) {
    // Both backends fail when r is not the x coordinate of a curve point.
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
