import type { Hex } from "viem";
import { InvalidRecipientRandError, InvalidTicketError, TicketNotWinningError } from "./errors.ts";
import { readUint256, toHexString, writeHex, writeUint256 } from "./hex.ts";
import { keccak256Bytes } from "./keccak256.ts";
import { MAX_UINT256 } from "./ticket.ts";

/** The recipient's commitment to its secret: keccak256 of `rand` as a 32-byte big-endian word. */
export function recipientRandHash(rand: bigint): Hex {
  checkRand(rand);
  const buf = new Uint8Array(32);
  writeUint256(buf, 0, rand);
  return toHexString(keccak256Bytes(buf));
}

/** Throws InvalidRecipientRandError unless `rand` is in range and hashes to `committed`. */
export function assertRecipientRand(rand: bigint, committed: Hex): void {
  const computedHash = recipientRandHash(rand);
  if (computedHash !== committed.toLowerCase()) {
    throw new InvalidRecipientRandError({ reason: "does not match the committed hash", recipientRandHash: committed, computedHash });
  }
}

/**
 * The lottery draw of a ticket: uint256(keccak256(signature bytes ‖ uint256 recipientRand)).
 * The signature is hashed exactly as given (65 bytes for a valid ticket).
 */
export function ticketDraw(signature: Hex, recipientRand: bigint): bigint {
  checkRand(recipientRand);
  const sigLength = (signature.length - 2) / 2;
  if (!Number.isInteger(sigLength) || sigLength < 0) {
    throw new InvalidTicketError({ field: "signature", reason: "must be 0x hex of whole bytes" });
  }
  const buf = new Uint8Array(sigLength + 32);
  if (!writeHex(buf, 0, signature, sigLength)) {
    throw new InvalidTicketError({ field: "signature", reason: "must be 0x hex of whole bytes" });
  }
  writeUint256(buf, sigLength, recipientRand);
  return readUint256(keccak256Bytes(buf));
}

/**
 * True iff the ticket wins: `ticketDraw(signature, recipientRand) < winProb` (docs/PROTOCOL.md).
 *
 * Why neither side can bias the draw: the recipient commits to `recipientRand` (sending only its
 * hash) before the sender signs, so the recipient cannot pick `rand` after seeing the signature;
 * the sender cannot grind signatures, because it does not know `rand` and because the signature
 * is deterministic (RFC 6979) and must be canonical (low s, v in {27, 28}), so a given ticket has
 * exactly one acceptable signature. Changing any ticket field to re-roll changes what it pays for
 * (nonce, bytes) and is visible to the recipient. Livepeer's TicketBroker uses the same scheme.
 * `winProb = 0` never wins; `winProb = 2^256 - 1` wins unless the draw is exactly 2^256 - 1.
 */
export function isWinningTicket(signature: Hex, recipientRand: bigint, winProb: bigint): boolean {
  return ticketDraw(signature, recipientRand) < winProb;
}

/** Throws TicketNotWinningError (with the draw and the threshold) unless the ticket wins. */
export function assertWinningTicket(signature: Hex, recipientRand: bigint, winProb: bigint): void {
  const draw = ticketDraw(signature, recipientRand);
  if (draw >= winProb) throw new TicketNotWinningError({ winProb, draw });
}

/**
 * Expected value of a ticket in wei: floor(faceValue · winProb / 2^256). Floor, because this is
 * what the sender is charged on average at most; the pricing in ticketParams rounds the other
 * way so that the provider is never underpaid.
 */
export function expectedValue(faceValue: bigint, winProb: bigint): bigint {
  return (faceValue * winProb) >> 256n;
}

function checkRand(rand: bigint): void {
  if (typeof rand !== "bigint" || rand < 0n || rand > MAX_UINT256) {
    throw new InvalidRecipientRandError({ reason: `must be a uint256, got ${String(rand)}` });
  }
}

