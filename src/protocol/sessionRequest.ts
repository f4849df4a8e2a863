import { keccak256, stringToBytes, type Address, type Hex } from "viem";
import { signTypedData } from "viem/accounts";
import { BaseError, InvalidTicketError } from "./errors.ts";
import { domainSeparatorBytes } from "./hashTicket.ts";
import { toHexString, writeHex, writeUint256 } from "./hex.ts";
import { keccak256Bytes } from "./keccak256.ts";
import { recoverAddressFromParts } from "./secp256k1.ts";
import { assertCanonicalSignature, normalizeSignature } from "./signature.ts";
import { MAX_UINT64, type TicketDomain } from "./ticket.ts";

// Proof that whoever opens a payment session owns the sender's key (docs/protocol/payments.md
// §1.2). Without it anyone could open sessions in a funded sender's name: a free credit window
// per address, and the victim's per-sender window filled so that its own requests get 402.
//
// The request is EIP-712 typed data under the ticket domain (bandmint / 1 / chainId / broker), so
// any wallet can sign it and a signature is only good for one chain and broker. It binds the
// provider (recipient), so one request cannot open sessions at other providers, and carries a
// timestamp (fresh within minutes) and a random clientNonce, so the node can refuse replays by
// remembering digests for as long as the timestamp is acceptable.

/** The EIP-712 type string of a session request. */
export const SESSION_REQUEST_TYPE_STRING = "SessionRequest(address sender,address recipient,uint64 timestamp,bytes32 clientNonce)";
/** keccak256 of SESSION_REQUEST_TYPE_STRING. */
export const SESSION_REQUEST_TYPEHASH: Hex = keccak256(stringToBytes(SESSION_REQUEST_TYPE_STRING));
const TYPEHASH_BYTES = keccak256(stringToBytes(SESSION_REQUEST_TYPE_STRING), "bytes");

/** EIP-712 types of a session request, for viem's `signTypedData` / `hashTypedData` and wallets. */
export const sessionRequestTypes = {
  SessionRequest: [
    { name: "sender", type: "address" },
    { name: "recipient", type: "address" },
    { name: "timestamp", type: "uint64" },
    { name: "clientNonce", type: "bytes32" },
  ],
} as const;

/** What the sender signs to open a session: who, with which provider, when, and a random nonce. */
export type SessionRequestMessage = { sender: Address; recipient: Address; timestamp: bigint; clientNonce: Hex };

/** How old (seconds) a session request may be when the node sees it. */
export const SESSION_REQUEST_MAX_AGE_SECONDS = 300n;
/** How far (seconds) ahead of the node's clock a session request's timestamp may be. */
export const SESSION_REQUEST_MAX_SKEW_SECONDS = 60n;

/** A `POST /sessions` body carries no signature (a client from before signed session requests). */
export class UnsignedSessionRequestError extends BaseError {
  override name = "UnsignedSessionRequestError";
  static override readonly stackless = true;
  constructor() {
    super("Session request is not signed: sign a SessionRequest (sender, recipient, timestamp, clientNonce) with the sender's key.", {
      details: "docs/protocol/payments.md §1.2",
    });
  }
}

/** The session request's signature does not recover to its sender. */
export class SessionRequestSignerError extends BaseError {
  override name = "SessionRequestSignerError";
  static override readonly stackless = true;
  sender: Address;
  recovered: Address;
  constructor({ sender, recovered }: { sender: Address; recovered: Address }) {
    super(`Session request for ${sender} is not signed by ${sender} (for this provider, chain and broker).`, {
      metaMessages: [`Recovered: ${recovered}`],
    });
    this.sender = sender;
    this.recovered = recovered;
  }
}

/** The session request's timestamp is too old or too far in the future. */
export class StaleSessionRequestError extends BaseError {
  override name = "StaleSessionRequestError";
  static override readonly stackless = true;
  timestamp: bigint;
  now: bigint;
  constructor({ timestamp, now }: { timestamp: bigint; now: bigint }) {
    super(
      `Session request timestamp ${timestamp} is outside [now - ${SESSION_REQUEST_MAX_AGE_SECONDS}, now + ${SESSION_REQUEST_MAX_SKEW_SECONDS}] (now ${now}): sign a fresh one (check the clock).`,
    );
    this.timestamp = timestamp;
    this.now = now;
  }
}

/** The node has already opened a session for this very signed request. */
export class ReplayedSessionRequestError extends BaseError {
  override name = "ReplayedSessionRequestError";
  static override readonly stackless = true;
  constructor({ digest }: { digest: Hex }) {
    super("This session request was already used: sign a new one with a fresh clientNonce.", { metaMessages: [`Digest: ${digest}`] });
  }
}

/** The typed data a wallet signs for `message` under `domain` (viem `signTypedData` parameters). */
export function sessionRequestTypedData(message: SessionRequestMessage, domain: TicketDomain) {
  return { domain, types: sessionRequestTypes, primaryType: "SessionRequest" as const, message };
}

/** EIP-712 digest of a session request: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)). */
export function hashSessionRequest(message: SessionRequestMessage, domain: TicketDomain | Uint8Array): Hex {
  return toHexString(hashSessionRequestBytes(message, domain instanceof Uint8Array ? domain : domainSeparatorBytes(domain)));
}

function hashSessionRequestBytes(m: SessionRequestMessage, separator: Uint8Array): Uint8Array {
  if (separator.length !== 32) throw new InvalidTicketError({ field: "domainSeparator", reason: "must be 32 bytes" });
  const struct = new Uint8Array(160);
  struct.set(TYPEHASH_BYTES, 0);
  if (!writeHex(struct, 32 + 12, m.sender, 20)) throw new InvalidTicketError({ field: "sender", reason: "must be a 20-byte 0x hex address" });
  if (!writeHex(struct, 64 + 12, m.recipient, 20)) throw new InvalidTicketError({ field: "recipient", reason: "must be a 20-byte 0x hex address" });
  if (typeof m.timestamp !== "bigint" || m.timestamp < 0n || m.timestamp > MAX_UINT64) {
    throw new InvalidTicketError({ field: "timestamp", reason: "must be a uint64 bigint" });
  }
  writeUint256(struct, 96, m.timestamp);
  if (!writeHex(struct, 128, m.clientNonce, 32)) throw new InvalidTicketError({ field: "clientNonce", reason: "must be 32 bytes of 0x hex" });
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(separator, 2);
  buf.set(keccak256Bytes(struct), 34);
  return keccak256Bytes(buf);
}

/** Signs a session request with a raw private key; returns the canonical 65-byte signature. */
export async function signSessionRequest({ message, domain, privateKey }: { message: SessionRequestMessage; domain: TicketDomain; privateKey: Hex }): Promise<Hex> {
  return normalizeSignature(await signTypedData({ privateKey, ...sessionRequestTypedData(message, domain) }));
}

/** Options of verifySessionRequest: the node's own terms and clock. */
export type VerifySessionRequestOptions = {
  /** The ticket domain, or its precomputed 32-byte separator. */
  domain: TicketDomain | Uint8Array;
  /** This provider: a request signed for another one does not verify. */
  recipient: Address;
  nowSeconds: bigint;
};

/**
 * Checks a session request: fresh timestamp, then a canonical signature by `message.sender` over
 * the request bound to `options.recipient` and the domain. Returns the digest (the replay key).
 * Throws StaleSessionRequestError, InvalidSignatureError or SessionRequestSignerError.
 */
export function verifySessionRequest(request: { sender: Address; timestamp: bigint; clientNonce: Hex; signature: Hex }, options: VerifySessionRequestOptions): Hex {
  const { nowSeconds } = options;
  if (request.timestamp + SESSION_REQUEST_MAX_AGE_SECONDS < nowSeconds || request.timestamp > nowSeconds + SESSION_REQUEST_MAX_SKEW_SECONDS) {
    throw new StaleSessionRequestError({ timestamp: request.timestamp, now: nowSeconds });
  }
  const parts = assertCanonicalSignature(request.signature);
  const separator = options.domain instanceof Uint8Array ? options.domain : domainSeparatorBytes(options.domain);
  const message: SessionRequestMessage = { sender: request.sender, recipient: options.recipient, timestamp: request.timestamp, clientNonce: request.clientNonce };
  const digest = hashSessionRequestBytes(message, separator);
  const recovered = recoverAddressFromParts(digest, request.signature, parts);
  if (recovered.toLowerCase() !== request.sender.toLowerCase()) throw new SessionRequestSignerError({ sender: request.sender, recovered });
  return toHexString(digest);
}
