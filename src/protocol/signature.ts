import type { Hex } from "viem";
import { InvalidSignatureError } from "./errors.ts";

/** Order of the secp256k1 group. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** Largest `s` the broker accepts (low-s rule, EIP-2). */
export const SECP256K1_HALF_N = SECP256K1_N >> 1n;

// Fixed-width lowercase hex compares like the numbers it encodes, so range checks on r and s are
// string comparisons: no bigint parsing on the hot path.
const N_HEX = SECP256K1_N.toString(16).padStart(64, "0");
const HALF_N_HEX = SECP256K1_HALF_N.toString(16).padStart(64, "0");
const ZERO_HEX = "0".repeat(64);
const HEX_BODY = /^[0-9a-f]*$/;

/** A signature split into the parts recovery needs. */
export type SignatureParts = { r: Hex; s: Hex; recovery: 0 | 1 };

/**
 * Returns `sig` in canonical form (lowercase, v in {27, 28}) if it is a well-formed low-s
 * 65-byte signature with v in {0, 1, 27, 28}; throws InvalidSignatureError otherwise (64-byte
 * EIP-2098 compact form, high s, r or s zero or >= n, other v). Clients run wallet output
 * through this before sending: some wallets return v in {0, 1}, which the broker rejects.
 */
export function normalizeSignature(sig: Hex): Hex {
  const { r, s, recovery } = splitSignature(sig, { allowRecoveryV: true });
  return `0x${r.slice(2)}${s.slice(2)}${recovery === 0 ? "1b" : "1c"}` as Hex;
}

/**
 * Throws InvalidSignatureError unless `sig` is exactly in the form the broker accepts:
 * 65 bytes r ‖ s ‖ v, v in {27, 28}, 0 < r < n, 0 < s <= n/2. Returns its parts.
 */
export function assertCanonicalSignature(sig: Hex): SignatureParts {
  return splitSignature(sig, { allowRecoveryV: false });
}

/** True iff `sig` is in the canonical form the broker accepts (see assertCanonicalSignature). */
export function isCanonicalSignature(sig: Hex): boolean {
  try {
    assertCanonicalSignature(sig);
    return true;
  } catch (error) {
    if (error instanceof InvalidSignatureError) return false;
    throw error;
  }
}

function splitSignature(sig: Hex, { allowRecoveryV }: { allowRecoveryV: boolean }): SignatureParts {
  if (typeof sig !== "string" || !sig.startsWith("0x")) {
    throw new InvalidSignatureError({ signature: sig, reason: "must be 0x-prefixed hex" });
  }
  const body = sig.slice(2).toLowerCase();
  if (!HEX_BODY.test(body)) throw new InvalidSignatureError({ signature: sig, reason: "must be hex" });
  if (body.length === 128) {
    throw new InvalidSignatureError({
      signature: sig,
      reason: "64-byte (EIP-2098 compact) signatures are not accepted; send 65-byte r || s || v",
    });
  }
  if (body.length !== 130) {
    throw new InvalidSignatureError({ signature: sig, reason: `must be 65 bytes, got ${body.length / 2}` });
  }
  const r = body.slice(0, 64);
  const s = body.slice(64, 128);
  const v = Number.parseInt(body.slice(128), 16);
  if (r === ZERO_HEX || r >= N_HEX) throw new InvalidSignatureError({ signature: sig, reason: "r must be in [1, n)" });
  if (s === ZERO_HEX) throw new InvalidSignatureError({ signature: sig, reason: "s must not be zero" });
  if (s > HALF_N_HEX) {
    throw new InvalidSignatureError({ signature: sig, reason: "s must be at most n/2 (high-s signatures are malleable)" });
  }
  let recovery: 0 | 1;
  if (v === 27 || v === 28) recovery = v === 27 ? 0 : 1;
  else if (allowRecoveryV && (v === 0 || v === 1)) recovery = v;
  else {
    throw new InvalidSignatureError({
      signature: sig,
      reason: allowRecoveryV ? `v must be 0, 1, 27 or 28, got ${v}` : `v must be 27 or 28, got ${v}`,
    });
  }
  return { r: `0x${r}`, s: `0x${s}`, recovery };
}
