import { getAddress, type Address, type Hex } from "viem";
import { CompactBatchError, InvalidSignatureError } from "./errors.ts";
import { readUint256, readUint64, toHexString, writeHex, writeUint256, writeUint64 } from "./hex.ts";
import { assertCanonicalSignature } from "./signature.ts";
import { MAX_UINT256, MAX_UINT64, type Ticket } from "./ticket.ts";
import { recipientRandHash } from "./winningTicket.ts";

// The compact batch encoding of TicketBroker.redeemTicketsCompact (docs/protocol/broker.md
// "Compact batches"; the Solidity reader is contracts/libraries/CompactBatchLib.sol). A batch of
// winners is mostly fields that the tickets of one session share, and 32-byte words holding small
// numbers; this sends the shared fields once per group and the rest packed:
//
//   batch  = group+
//   group  = sender (20) ‖ count (1) ‖ faceValue (32) ‖ winProb (32) ‖ recipientRand (32) ‖
//            sessionId (32) ‖ ticket × count
//   ticket = r (32) ‖ yParityAndS (32) ‖ senderNonce (8) ‖ expiry (8) ‖ cumulativeBytes (8)
//
// The recipient is the caller, recipientRandHash is keccak256(recipientRand), and the signature is
// the canonical r ‖ s ‖ v with v - 27 folded into the top bit of s (free, since s <= n/2). The
// tickets and signatures are the ordinary EIP-712 ones: the broker rebuilds them exactly.

/** One winning ticket ready to redeem: the ticket, its signature and the recipient's secret. */
export type RedeemItem = { ticket: Ticket; signature: Hex; recipientRand: bigint };

/** Bytes of a group header: sender, count, faceValue, winProb, recipientRand, sessionId. */
export const COMPACT_GROUP_HEADER_SIZE = 149;
/** Bytes of one ticket: r, yParityAndS, senderNonce, expiry, cumulativeBytes. */
export const COMPACT_TICKET_SIZE = 88;
/** Most tickets in one group (count is one byte); longer runs become several groups. */
export const COMPACT_MAX_GROUP = 255;
/** Largest senderNonce the encoding carries (8 bytes); a ticket above it needs redeemTickets. */
export const COMPACT_MAX_NONCE = MAX_UINT64;

/**
 * Encodes winners (all to one recipient, in the order they are to be redeemed) as one compact
 * batch. Consecutive tickets with the same sender, faceValue, winProb, recipientRand and sessionId
 * share a group; the order is kept, so the broker redeems exactly what `redeemTickets` would on
 * the same list. Throws CompactBatchError for what the encoding cannot carry exactly: no tickets,
 * mixed recipients, a non-canonical signature, a recipientRand that does not hash to the ticket's
 * recipientRandHash, a nonce above 2^64 - 1 or an out-of-range field.
 */
export function encodeCompactBatch(items: readonly RedeemItem[]): Hex {
  if (items.length === 0) throw new CompactBatchError({ index: 0, reason: "no tickets" });
  const recipient = items[0]!.ticket.recipient.toLowerCase();
  const groups: { start: number; count: number }[] = [];
  const sigs = items.map((item, i) => {
    const sig = checkItem(item, i, recipient);
    const last = groups.at(-1);
    if (last !== undefined && last.count < COMPACT_MAX_GROUP && sameGroup(items[last.start]!, item)) last.count += 1;
    else groups.push({ start: i, count: 1 });
    return sig;
  });
  const out = new Uint8Array(groups.length * COMPACT_GROUP_HEADER_SIZE + items.length * COMPACT_TICKET_SIZE);
  let o = 0;
  for (const { start, count } of groups) {
    const { ticket, recipientRand } = items[start]!;
    writeHex(out, o, ticket.sender, 20);
    out[o + 20] = count;
    writeUint256(out, o + 21, ticket.faceValue);
    writeUint256(out, o + 53, ticket.winProb);
    writeUint256(out, o + 85, recipientRand);
    writeHex(out, o + 117, ticket.sessionId, 32);
    o += COMPACT_GROUP_HEADER_SIZE;
    for (let i = start; i < start + count; i++) {
      const { ticket: t } = items[i]!;
      const { r, s, recovery } = sigs[i]!;
      writeHex(out, o, r, 32);
      writeHex(out, o + 32, s, 32);
      out[o + 32]! |= recovery << 7; // s <= n/2 < 2^255: its top bit is free
      writeUint64(out, o + 64, t.senderNonce);
      writeUint64(out, o + 72, t.expiry);
      writeUint64(out, o + 80, t.cumulativeBytes);
      o += COMPACT_TICKET_SIZE;
    }
  }
  return toHexString(out);
}

/**
 * Decodes a compact batch into the tickets, canonical 65-byte signatures and recipientRands it
 * stands for, as the broker rebuilds them when `recipient` sends it. Throws CompactBatchError
 * (index = byte offset) where the broker reverts with MalformedBatch or EmptyBatch.
 */
export function decodeCompactBatch(batch: Hex, recipient: Address): RedeemItem[] {
  const length = (batch.length - 2) / 2;
  const bytes = new Uint8Array(Number.isInteger(length) && length >= 0 ? length : 0);
  if (!writeHex(bytes, 0, batch, length)) throw new CompactBatchError({ index: 0, reason: "not 0x hex of whole bytes" });
  if (length === 0) throw new CompactBatchError({ index: 0, reason: "no tickets" });
  const to = getAddress(recipient);
  const items: RedeemItem[] = [];
  for (let o = 0; o < length; ) {
    const count = bytes[o + 20] ?? 0;
    const end = o + COMPACT_GROUP_HEADER_SIZE + count * COMPACT_TICKET_SIZE;
    if (o + COMPACT_GROUP_HEADER_SIZE > length || count === 0 || end > length) {
      throw new CompactBatchError({ index: o, reason: "a group is truncated or declares no ticket" });
    }
    const sender = getAddress(toHexString(bytes.subarray(o, o + 20)));
    const faceValue = readUint256(bytes, o + 21);
    const winProb = readUint256(bytes, o + 53);
    const recipientRand = readUint256(bytes, o + 85);
    const sessionId = toHexString(bytes.subarray(o + 117, o + 149));
    const randHash = recipientRandHash(recipientRand);
    for (let t = o + COMPACT_GROUP_HEADER_SIZE; t < end; t += COMPACT_TICKET_SIZE) {
      const vs = bytes.slice(t + 32, t + 64);
      const v = 27 + (vs[0]! >> 7);
      vs[0]! &= 0x7f;
      items.push({
        ticket: {
          recipient: to,
          sender,
          faceValue,
          winProb,
          senderNonce: readUint64(bytes, t + 64),
          recipientRandHash: randHash,
          expiry: readUint64(bytes, t + 72),
          sessionId,
          cumulativeBytes: readUint64(bytes, t + 80),
        },
        signature: `${toHexString(bytes.subarray(t, t + 32))}${toHexString(vs).slice(2)}${v.toString(16)}` as Hex,
        recipientRand,
      });
    }
    o = end;
  }
  return items;
}

function sameGroup(a: RedeemItem, b: RedeemItem): boolean {
  return (
    a.ticket.sender.toLowerCase() === b.ticket.sender.toLowerCase() &&
    a.ticket.faceValue === b.ticket.faceValue &&
    a.ticket.winProb === b.ticket.winProb &&
    a.recipientRand === b.recipientRand &&
    a.ticket.sessionId.toLowerCase() === b.ticket.sessionId.toLowerCase()
  );
}

function checkItem({ ticket: t, signature, recipientRand }: RedeemItem, index: number, recipient: string) {
  const fail = (reason: string, cause?: unknown): never => {
    throw new CompactBatchError({ index, reason, cause });
  };
  if (t.recipient.toLowerCase() !== recipient) fail(`ticket ${index} is for another recipient (${t.recipient})`);
  if (!inRange(t.senderNonce, COMPACT_MAX_NONCE)) fail(`senderNonce ${t.senderNonce} does not fit in 8 bytes`);
  if (!inRange(t.expiry, MAX_UINT64) || !inRange(t.cumulativeBytes, MAX_UINT64)) fail("expiry or cumulativeBytes is not a uint64");
  if (!inRange(t.faceValue, MAX_UINT256) || !inRange(t.winProb, MAX_UINT256)) fail("faceValue or winProb is not a uint256");
  if (!/^0x[0-9a-fA-F]{40}$/.test(t.sender) || !/^0x[0-9a-fA-F]{64}$/.test(t.sessionId)) fail("sender or sessionId is malformed");
  // The broker derives recipientRandHash from recipientRand: a mismatch would sign-check as a
  // different ticket, so it is refused here (redeemTickets names it InvalidRecipientRand).
  if (!inRange(recipientRand, MAX_UINT256) || recipientRandHash(recipientRand) !== t.recipientRandHash.toLowerCase()) {
    fail("recipientRand does not hash to the ticket's recipientRandHash");
  }
  try {
    return assertCanonicalSignature(signature);
  } catch (error) {
    if (error instanceof InvalidSignatureError) return fail(`signature is not canonical: ${error.reason}`, error);
    throw error;
  }
}

function inRange(value: bigint, max: bigint): boolean {
  return typeof value === "bigint" && value >= 0n && value <= max;
}
