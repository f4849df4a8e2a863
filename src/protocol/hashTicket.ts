import { keccak256, stringToBytes, type Hex } from "viem";
import { InvalidTicketError } from "./errors.ts";
import { keccak256Bytes } from "./keccak256.ts";
import { toHexString, writeHex, writeUint256 } from "./hex.ts";
import { MAX_UINT256, MAX_UINT64, TICKET_TYPE_STRING, type Ticket, type TicketDomain } from "./ticket.ts";

// A direct EIP-712 encoder for the one fixed ticket layout. viem's hashTypedData walks the type
// description and validates every value generically on each call; a node checks thousands of
// tickets per second, so we encode the 10 words in place and hash them with our unrolled keccak
// (keccak256.ts). hashTicket.test.ts proves equality with viem's hashTypedData / hashStruct /
// hashDomain by property test; bench/crypto.ts measures the gain.

/** keccak256 of the ticket type string (the EIP-712 typehash). */
export const TICKET_TYPEHASH: Hex = keccak256(stringToBytes(TICKET_TYPE_STRING));
const TYPEHASH_BYTES = keccak256(stringToBytes(TICKET_TYPE_STRING), "bytes");
const DOMAIN_TYPEHASH = keccak256(
  stringToBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
  "bytes",
);
const NAME_HASH = keccak256(stringToBytes("bandmint"), "bytes");
const VERSION_HASH = keccak256(stringToBytes("1"), "bytes");

/** EIP-712 `hashStruct(ticket)`: keccak256(typehash ‖ the nine fields, each as a 32-byte word). */
export function ticketStructHash(ticket: Ticket): Hex {
  return toHexString(ticketStructHashBytes(ticket));
}

/** EIP-712 domain separator of a ticket domain. */
export function domainSeparator(domain: TicketDomain): Hex {
  return toHexString(domainSeparatorBytes(domain));
}

/** The EIP-712 digest a sender signs: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(ticket)). */
export function hashTicket(ticket: Ticket, domain: TicketDomain): Hex {
  return toHexString(hashTicketBytes(ticket, domainSeparatorBytes(domain)));
}

/**
 * Same digest as `hashTicket`, from a precomputed domain separator (bytes or hex): a node that
 * checks many tickets for one broker computes the separator once.
 */
export function hashTicketWithSeparator(ticket: Ticket, separator: Hex | Uint8Array): Hex {
  return toHexString(hashTicketBytes(ticket, separatorToBytes(separator)));
}

/** Digest as raw bytes (no hex round trip), for the native recovery fast path. */
export function hashTicketBytes(ticket: Ticket, separator: Uint8Array): Uint8Array {
  if (separator.length !== 32) throw new InvalidTicketError({ field: "domainSeparator", reason: "must be 32 bytes" });
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(separator, 2);
  buf.set(ticketStructHashBytes(ticket), 34);
  return keccak256Bytes(buf);
}

/** Domain separator as raw bytes. */
export function domainSeparatorBytes(domain: TicketDomain): Uint8Array {
  const buf = new Uint8Array(160);
  buf.set(DOMAIN_TYPEHASH, 0);
  buf.set(domain.name === "bandmint" ? NAME_HASH : keccak256Bytes(stringToBytes(domain.name)), 32);
  buf.set(domain.version === "1" ? VERSION_HASH : keccak256Bytes(stringToBytes(domain.version)), 64);
  const chainId = BigInt(domain.chainId);
  checkUint(chainId, MAX_UINT256, "domain.chainId");
  writeUint256(buf, 96, chainId);
  if (!writeHex(buf, 128 + 12, domain.verifyingContract, 20)) {
    throw new InvalidTicketError({ field: "domain.verifyingContract", reason: "must be a 20-byte 0x hex address" });
  }
  return keccak256Bytes(buf);
}

function ticketStructHashBytes(t: Ticket): Uint8Array {
  const buf = new Uint8Array(320);
  buf.set(TYPEHASH_BYTES, 0);
  // Addresses are left-padded to 32 bytes; the zero fill of a fresh buffer is the padding.
  if (!writeHex(buf, 32 + 12, t.recipient, 20)) badField("recipient", "must be a 20-byte 0x hex address");
  if (!writeHex(buf, 64 + 12, t.sender, 20)) badField("sender", "must be a 20-byte 0x hex address");
  checkUint(t.faceValue, MAX_UINT256, "faceValue");
  writeUint256(buf, 96, t.faceValue);
  checkUint(t.winProb, MAX_UINT256, "winProb");
  writeUint256(buf, 128, t.winProb);
  checkUint(t.senderNonce, MAX_UINT256, "senderNonce");
  writeUint256(buf, 160, t.senderNonce);
  if (!writeHex(buf, 192, t.recipientRandHash, 32)) badField("recipientRandHash", "must be 32 bytes of 0x hex");
  checkUint(t.expiry, MAX_UINT64, "expiry");
  writeUint256(buf, 224, t.expiry);
  if (!writeHex(buf, 256, t.sessionId, 32)) badField("sessionId", "must be 32 bytes of 0x hex");
  checkUint(t.cumulativeBytes, MAX_UINT64, "cumulativeBytes");
  writeUint256(buf, 288, t.cumulativeBytes);
  return keccak256Bytes(buf);
}

function separatorToBytes(separator: Hex | Uint8Array): Uint8Array {
  if (typeof separator !== "string") {
    if (separator.length !== 32) throw new InvalidTicketError({ field: "domainSeparator", reason: "must be 32 bytes" });
    return separator;
  }
  const out = new Uint8Array(32);
  if (!writeHex(out, 0, separator, 32)) {
    throw new InvalidTicketError({ field: "domainSeparator", reason: "must be 32 bytes of 0x hex" });
  }
  return out;
}

// Silent truncation would sign a different ticket than the caller meant, so range is checked here
// even though parseTicket already did for wire input.
function checkUint(value: bigint, max: bigint, field: string): void {
  if (typeof value !== "bigint") badField(field, `must be a bigint, got ${typeof value}`);
  if (value < 0n || value > max) badField(field, `must be in [0, ${max}]`);
}

function badField(field: string, reason: string): never {
  throw new InvalidTicketError({ field, reason });
}
