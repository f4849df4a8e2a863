import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Hex } from "viem";

// The secret that authenticates a session's requests (docs/protocol/payments.md §1.2). The
// sessionId cannot do it: it is inside every ticket and public once a winner is redeemed. The node
// keeps only sha256(token) (of the 32 raw bytes), durably, so a copy of its database does not
// yield live tokens; a 256-bit random token needs no salt or slow hash, since nobody can guess it.

/** A fresh session token (32 random bytes, 0x hex) and the hash the node stores for it. */
export function createSessionToken(): { token: Hex; hash: Hex } {
  const token = `0x${randomBytes(32).toString("hex")}` as Hex;
  return { token, hash: hashSessionToken(token) };
}

/** sha256 of the token's 32 bytes, as 0x hex (what the store and the in-memory index key on). */
export function hashSessionToken(token: Hex): Hex {
  return `0x${createHash("sha256").update(Buffer.from(token.slice(2), "hex")).digest("hex")}` as Hex;
}

/** Whether `token` hashes to `hash`, compared in constant time. */
export function sessionTokenMatches(hash: Hex, token: Hex): boolean {
  const a = Buffer.from(hash.slice(2), "hex");
  const b = Buffer.from(hashSessionToken(token).slice(2), "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
