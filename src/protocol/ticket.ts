import { getAddress, type Address, type Hex } from "viem";
import { InvalidTicketError } from "./errors.ts";

/**
 * A probabilistic micropayment ticket (docs/PROTOCOL.md §1). Field order is the EIP-712 order.
 * uint256 fields are bigints in [0, 2^256), uint64 fields in [0, 2^64).
 */
export type Ticket = {
  recipient: Address;
  sender: Address;
  faceValue: bigint;
  winProb: bigint;
  senderNonce: bigint;
  recipientRandHash: Hex;
  expiry: bigint;
  sessionId: Hex;
  cumulativeBytes: bigint;
};

/** Wire form of a ticket: uints as decimal strings, addresses and bytes32 as 0x hex. */
export type TicketJson = {
  recipient: Address;
  sender: Address;
  faceValue: string;
  winProb: string;
  senderNonce: string;
  recipientRandHash: Hex;
  expiry: string;
  sessionId: Hex;
  cumulativeBytes: string;
};

/** EIP-712 types of a ticket, for viem's `signTypedData` / `hashTypedData` and for wallets. */
export const ticketTypes = {
  Ticket: [
    { name: "recipient", type: "address" },
    { name: "sender", type: "address" },
    { name: "faceValue", type: "uint256" },
    { name: "winProb", type: "uint256" },
    { name: "senderNonce", type: "uint256" },
    { name: "recipientRandHash", type: "bytes32" },
    { name: "expiry", type: "uint64" },
    { name: "sessionId", type: "bytes32" },
    { name: "cumulativeBytes", type: "uint64" },
  ],
} as const;

/** The EIP-712 type string whose keccak256 is the ticket typehash (docs/PROTOCOL.md). */
export const TICKET_TYPE_STRING =
  "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint64 expiry,bytes32 sessionId,uint64 cumulativeBytes)";

/** The EIP-712 domain tickets are signed under: one per chain and TicketBroker deployment. */
export type TicketDomain = {
  name: "bandmint";
  version: "1";
  chainId: bigint;
  verifyingContract: Address;
};

/** Builds the ticket domain for a chain and a TicketBroker address. */
export function ticketDomain(chainId: bigint | number, broker: Address): TicketDomain {
  if (typeof chainId === "number" && !Number.isSafeInteger(chainId)) {
    throw new InvalidTicketError({ field: "domain.chainId", reason: `must be an integer, got ${chainId}` });
  }
  const id = BigInt(chainId);
  if (id <= 0n || id > MAX_UINT256) {
    throw new InvalidTicketError({ field: "domain.chainId", reason: `must be a positive uint256, got ${chainId}` });
  }
  return { name: "bandmint", version: "1", chainId: id, verifyingContract: parseAddress(broker, "domain.verifyingContract") };
}

/** Largest uint256; also the "always wins" threshold (loses only if the draw hash is exactly this). */
export const MAX_UINT256 = 2n ** 256n - 1n;
/** Largest uint64 (bounds `expiry` and `cumulativeBytes`). */
export const MAX_UINT64 = 2n ** 64n - 1n;
/** Largest winProb: a ticket with this threshold wins unless its draw is exactly 2^256 - 1. */
export const MAX_WIN_PROB = MAX_UINT256;

const TICKET_FIELDS = ticketTypes.Ticket.map((f) => f.name);
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/**
 * Parses a ticket from its wire form, strictly: every field present, no extra field, uints as
 * canonical decimal strings in range, addresses (checksum-validated when mixed case) and bytes32
 * as 0x hex. Throws InvalidTicketError naming the first bad field, under `path` when the ticket is
 * part of a larger message (`tickets[3].ticket` gives `tickets[3].ticket.faceValue`). Addresses
 * come back checksummed and bytes32 lowercase, so equal tickets compare equal field by field.
 */
export function parseTicket(json: unknown, path?: string): Ticket {
  const at = (field: string) => (path === undefined ? field : `${path}.${field}`);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InvalidTicketError({ field: path ?? "ticket", reason: "must be a JSON object" });
  }
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(TICKET_FIELDS as readonly string[]).includes(key)) {
      throw new InvalidTicketError({ field: at(key), reason: "is not a ticket field" });
    }
  }
  return {
    recipient: parseAddress(record.recipient, at("recipient")),
    sender: parseAddress(record.sender, at("sender")),
    faceValue: parseUint(record.faceValue, at("faceValue"), MAX_UINT256),
    winProb: parseUint(record.winProb, at("winProb"), MAX_UINT256),
    senderNonce: parseUint(record.senderNonce, at("senderNonce"), MAX_UINT256),
    recipientRandHash: parseBytes32(record.recipientRandHash, at("recipientRandHash")),
    expiry: parseUint(record.expiry, at("expiry"), MAX_UINT64),
    sessionId: parseBytes32(record.sessionId, at("sessionId")),
    cumulativeBytes: parseUint(record.cumulativeBytes, at("cumulativeBytes"), MAX_UINT64),
  };
}

/** Turns a ticket into its wire form (decimal strings), the inverse of `parseTicket`. */
export function serializeTicket(ticket: Ticket): TicketJson {
  return {
    recipient: ticket.recipient,
    sender: ticket.sender,
    faceValue: ticket.faceValue.toString(),
    winProb: ticket.winProb.toString(),
    senderNonce: ticket.senderNonce.toString(),
    recipientRandHash: ticket.recipientRandHash,
    expiry: ticket.expiry.toString(),
    sessionId: ticket.sessionId,
    cumulativeBytes: ticket.cumulativeBytes.toString(),
  };
}

function parseUint(value: unknown, field: string, max: bigint): bigint {
  if (value === undefined) throw new InvalidTicketError({ field, reason: "is missing" });
  if (typeof value !== "string") {
    throw new InvalidTicketError({ field, reason: `must be a decimal string, got ${typeof value}` });
  }
  // 78 digits bound the regex and BigInt work on hostile input (2^256 has 78 digits).
  if (value.length > 78 || !DECIMAL.test(value)) {
    throw new InvalidTicketError({ field, reason: "must be a canonical decimal string (digits, no sign, no leading zero)" });
  }
  const n = BigInt(value);
  if (n > max) throw new InvalidTicketError({ field, reason: `exceeds the maximum ${max}` });
  return n;
}

function parseAddress(value: unknown, field: string): Address {
  if (value === undefined) throw new InvalidTicketError({ field, reason: "is missing" });
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new InvalidTicketError({ field, reason: "must be a 20-byte 0x hex address" });
  }
  const checksummed = getAddress(value);
  const body = value.slice(2);
  const mixedCase = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixedCase && checksummed !== value) {
    throw new InvalidTicketError({ field, reason: "has an invalid EIP-55 checksum" });
  }
  return checksummed;
}

function parseBytes32(value: unknown, field: string): Hex {
  if (value === undefined) throw new InvalidTicketError({ field, reason: "is missing" });
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw new InvalidTicketError({ field, reason: "must be 32 bytes of 0x hex" });
  }
  return value.toLowerCase() as Hex;
}
