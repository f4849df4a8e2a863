import { getAddress, type Address, type Hex } from "viem";
import { BaseError } from "./errors.ts";
import { UnsignedSessionRequestError } from "./sessionRequest.ts";
import { MAX_UINT64, parseTicket, serializeTicket, type Ticket, type TicketJson } from "./ticket.ts";

// The consumer <-> provider payment wire protocol (docs/protocol/payments.md): the JSON bodies,
// headers and their strict parsers, shared by the node and the client so the two cannot drift.
// Requests are parsed strictly (unknown fields rejected); responses tolerate unknown fields so the
// node can add fields without breaking older clients.

/**
 * Version of the payment wire protocol carried in `Offer.version`. 2: `POST /sessions` returns a
 * secret `sessionToken` and `X-Bandmint-Session` carries that token, no longer the (public)
 * sessionId; `GET /sessions/<id>` and `POST /sessions/<id>/tickets` require it too.
 */
export const WIRE_VERSION = 2;

/**
 * Request header carrying the secret session token (lower case, as Node exposes headers). Wire
 * version 1 sent the sessionId here; that id is in every ticket and so public once one is redeemed.
 */
export const SESSION_HEADER = "x-bandmint-session";
/** Request header carrying comma-separated base64url `TicketPayment`s. */
export const TICKET_HEADER = "x-bandmint-ticket";
/** Response header: the session's served bytes before this response. */
export const SERVED_BYTES_HEADER = "x-bandmint-served-bytes";
/** Response header: the session's paid (acknowledged) bytes after this request's tickets. */
export const PAID_BYTES_HEADER = "x-bandmint-paid-bytes";
/** Response header: credit left after admitting this response. */
export const CREDIT_BYTES_HEADER = "x-bandmint-credit-bytes";
/** Response header: the next nonce the node accepts from this sender. */
export const NEXT_NONCE_HEADER = "x-bandmint-next-nonce";
/** Response header: the session's current recipientRandHash (it rotates after a redemption). */
export const RECIPIENT_RAND_HASH_HEADER = "x-bandmint-recipient-rand-hash";
/** Most tickets one `POST /sessions/<id>/tickets` may carry. */
export const MAX_TICKETS_PER_BATCH = 256;
/** Largest request body the node reads (`POST /sessions`, `POST /sessions/<id>/tickets`); larger is 413. */
export const MAX_REQUEST_BODY_BYTES = 1 << 20;
/**
 * Seconds the node waits for such a body once its head arrived; slower is 408. A body that
 * trickles in would otherwise hold the connection for Node's 300 s request timeout.
 */
export const REQUEST_BODY_TIMEOUT_SECONDS = 30;
/**
 * Largest request head (request line and every header) the node's HTTP server accepts; larger is
 * 431. Node's own default, made the protocol's so a runtime flag cannot change it silently.
 */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;
/** Longest base64url entry of `X-Bandmint-Ticket` (a real ticket encodes to ~900 characters). */
export const MAX_TICKET_HEADER_ENTRY_CHARS = 4096;

/** Services a provider offers (registry bitmask 1 = cdn, 2 = relay). */
export type Service = "cdn" | "relay";

/** `GET /offer`: the provider's terms. */
export type Offer = {
  version: number;
  recipient: Address;
  chainId: number;
  broker: Address;
  pricePerGiB: bigint;
  bytesPerTicket: bigint;
  faceValue: bigint;
  winProb: bigint;
  expectedValue: bigint;
  creditWindowBytes: bigint;
  ticketExpirySeconds: number;
  minDeposit: bigint;
  services: Service[];
};

/**
 * `POST /sessions` request body: the sender and its EIP-712 signature over
 * `SessionRequest(sender, recipient = the node, timestamp, clientNonce)` (src/protocol/sessionRequest.ts).
 */
export type SessionRequest = {
  sender: Address;
  timestamp: bigint;
  clientNonce: Hex;
  signature: Hex;
  /**
   * The service the session pays for (absent = "cdn"). Outside the signature: it chooses how the
   * node meters the session, and a session can only be used for its own service.
   */
  service?: Service;
};

/** `GET /sessions/<id>` response (and the body of `POST /sessions` minus its token): a session's terms and counters. */
export type Session = {
  sessionId: Hex;
  sender: Address;
  recipient: Address;
  chainId: number;
  broker: Address;
  recipientRandHash: Hex;
  nextNonce: bigint;
  faceValue: bigint;
  winProb: bigint;
  pricePerGiB: bigint;
  bytesPerTicket: bigint;
  creditWindowBytes: bigint;
  minExpiry: bigint;
  maxExpiry: bigint;
  servedBytes: bigint;
  paidBytes: bigint;
  /** The service the session pays for ("cdn" from nodes that predate relay mode). */
  service: Service;
};

/**
 * `POST /sessions` response: the session plus its secret `sessionToken` (32 random bytes), which
 * only this response ever carries. The token authenticates requests in `X-Bandmint-Session`; it is
 * never in a ticket, so it never reaches the chain.
 */
export type OpenedSession = Session & { sessionToken: Hex };

/** A signed ticket as it travels: the ticket and its 65-byte signature. */
export type TicketPayment = { ticket: Ticket; signature: Hex };
/** `POST /sessions/<id>/tickets` request body. */
export type TicketBatch = { tickets: TicketPayment[] };
/** `POST /sessions/<id>/tickets` response body. */
export type TicketBatchResult = { accepted: number; session: Session };

/** Body of every error response: a stable name, a human message and optional details. */
export type WireError = { error: string; message: string; details?: Record<string, unknown> };

/** Details of a 402 `PaymentRequiredError`: what to acknowledge before asking again. */
export type PaymentRequiredDetails = {
  sessionId: Hex;
  servedBytes: bigint;
  inFlightBytes: bigint;
  paidBytes: bigint;
  requestedBytes: bigint;
  creditWindowBytes: bigint;
  minCumulativeBytes: bigint;
  nextNonce: bigint;
  recipientRandHash: Hex;
};

/** A wire body or header is malformed; `field` names the offending field. */
export class WireFormatError extends BaseError {
  override name = "WireFormatError";
  static override readonly stackless = true;
  field: string;
  reason: string;
  constructor({ field, reason, cause }: { field: string; reason: string; cause?: unknown }) {
    super(`Malformed message: "${field}" ${reason}.`, { cause });
    this.field = field;
    this.reason = reason;
  }
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_UINT256 = 2n ** 256n - 1n;

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WireFormatError({ field, reason: "must be a JSON object" });
  }
  return value as Record<string, unknown>;
}

function onlyFields(record: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new WireFormatError({ field: `${prefix}${key}`, reason: "is not a known field" });
  }
}

function uint(value: unknown, field: string): bigint {
  if (typeof value !== "string" || value.length > 78 || !DECIMAL.test(value)) {
    throw new WireFormatError({ field, reason: "must be a canonical decimal string" });
  }
  const n = BigInt(value);
  if (n > MAX_UINT256) throw new WireFormatError({ field, reason: "exceeds 2^256 - 1" });
  return n;
}

function safeInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new WireFormatError({ field, reason: "must be a non-negative integer" });
  }
  return value;
}

function address(value: unknown, field: string): Address {
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new WireFormatError({ field, reason: "must be a 20-byte 0x hex address" });
  }
  const checksummed = getAddress(value);
  const body = value.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && checksummed !== value) {
    throw new WireFormatError({ field, reason: "has an invalid EIP-55 checksum" });
  }
  return checksummed;
}

// Hex digits are accepted in either case and returned lower case: every bytes32 is used as the
// bytes it encodes (hashed, compared after parsing), never as text, so case cannot make a second
// value. The `0x` prefix and the length are strict.
function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw new WireFormatError({ field, reason: "must be 32 bytes of 0x hex" });
  }
  return value.toLowerCase() as Hex;
}

function service(value: unknown, field: string): Service {
  if (value !== "cdn" && value !== "relay") throw new WireFormatError({ field, reason: 'must be "cdn" or "relay"' });
  return value;
}

// A signature on the wire is 0x hex of whole bytes; whether those bytes are the one canonical
// 65-byte form (length, v, low s) is the signature check's to say (InvalidSignatureError, from
// assertCanonicalSignature), so a 64-byte compact signature and a high-s one get the same error.
function signatureHex(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !HEX_BYTES.test(value)) {
    throw new WireFormatError({ field, reason: "must be 0x hex of whole bytes (a 65-byte signature)" });
  }
  return value.toLowerCase() as Hex;
}

function services(value: unknown, field: string): Service[] {
  if (!Array.isArray(value)) throw new WireFormatError({ field, reason: 'must be an array of "cdn" | "relay"' });
  return value.map((s, i) => service(s, `${field}[${i}]`));
}

/** Parses a `GET /offer` body (response: unknown fields are ignored). */
export function parseOffer(json: unknown): Offer {
  const r = object(json, "offer");
  return {
    version: safeInt(r.version, "version"),
    recipient: address(r.recipient, "recipient"),
    chainId: safeInt(r.chainId, "chainId"),
    broker: address(r.broker, "broker"),
    pricePerGiB: uint(r.pricePerGiB, "pricePerGiB"),
    bytesPerTicket: uint(r.bytesPerTicket, "bytesPerTicket"),
    faceValue: uint(r.faceValue, "faceValue"),
    winProb: uint(r.winProb, "winProb"),
    expectedValue: uint(r.expectedValue, "expectedValue"),
    creditWindowBytes: uint(r.creditWindowBytes, "creditWindowBytes"),
    ticketExpirySeconds: safeInt(r.ticketExpirySeconds, "ticketExpirySeconds"),
    minDeposit: uint(r.minDeposit, "minDeposit"),
    services: services(r.services, "services"),
  };
}

/** Turns an offer into its JSON body. */
export function serializeOffer(offer: Offer): Record<string, unknown> {
  return {
    version: offer.version,
    recipient: offer.recipient,
    chainId: offer.chainId,
    broker: offer.broker,
    pricePerGiB: offer.pricePerGiB.toString(),
    bytesPerTicket: offer.bytesPerTicket.toString(),
    faceValue: offer.faceValue.toString(),
    winProb: offer.winProb.toString(),
    expectedValue: offer.expectedValue.toString(),
    creditWindowBytes: offer.creditWindowBytes.toString(),
    ticketExpirySeconds: offer.ticketExpirySeconds,
    minDeposit: offer.minDeposit.toString(),
    services: offer.services,
  };
}

/**
 * Whether the node takes new sessions now (`GET /offer` fields `available` and `unavailable`, added
 * without a version bump: older clients ignore them). A node at one of its operator's limits
 * (quota, schedule, sessions) answers `available: false` with the limit, a reason and when to retry.
 */
export type OfferAvailability =
  | { available: true }
  | { available: false; unavailable: { limit: string; reason: string; retryAfterSeconds: number } };

/** The availability fields of a `GET /offer` body: `{available}` plus `{unavailable}` when false. */
export function serializeOfferAvailability(a: OfferAvailability): Record<string, unknown> {
  return a.available ? { available: true } : { available: false, unavailable: a.unavailable };
}

/**
 * Reads the availability of a `GET /offer` body leniently: only an explicit `available: false`
 * means unavailable (nodes from before the field are available), and a malformed `unavailable`
 * object still does (with what could be read of it).
 */
export function parseOfferAvailability(json: unknown): OfferAvailability {
  const r = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
  if (r.available !== false) return { available: true };
  const u = typeof r.unavailable === "object" && r.unavailable !== null ? (r.unavailable as Record<string, unknown>) : {};
  const retry = u.retryAfterSeconds;
  return {
    available: false,
    unavailable: {
      limit: typeof u.limit === "string" ? u.limit : "unknown",
      reason: typeof u.reason === "string" ? u.reason : "",
      retryAfterSeconds: typeof retry === "number" && Number.isFinite(retry) && retry >= 0 ? retry : 60,
    },
  };
}

/**
 * Parses a `POST /sessions` request body strictly. A body without a signature (the unsigned
 * request of wire version 1 before signed sessions) throws UnsignedSessionRequestError.
 */
export function parseSessionRequest(json: unknown): SessionRequest {
  const r = object(json, "body");
  onlyFields(r, ["sender", "timestamp", "clientNonce", "signature", "service"], "");
  const sender = address(r.sender, "sender");
  if (r.signature === undefined) throw new UnsignedSessionRequestError();
  const timestamp = uint(r.timestamp, "timestamp");
  if (timestamp > MAX_UINT64) throw new WireFormatError({ field: "timestamp", reason: "exceeds 2^64 - 1" });
  const signature = signatureHex(r.signature, "signature");
  const request: SessionRequest = { sender, timestamp, clientNonce: bytes32(r.clientNonce, "clientNonce"), signature };
  if (r.service !== undefined) request.service = service(r.service, "service");
  return request;
}

/** Turns a session request into its JSON body. */
export function serializeSessionRequest(r: SessionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { sender: r.sender, timestamp: r.timestamp.toString(), clientNonce: r.clientNonce, signature: r.signature };
  // Omitted for cdn, so a cdn request is byte for byte what nodes before relay mode accept.
  if (r.service !== undefined && r.service !== "cdn") body.service = r.service;
  return body;
}

/**
 * Parses a session token (`X-Bandmint-Session` value or `sessionToken` field): 32 bytes of 0x hex,
 * returned lower case.
 */
export function parseSessionToken(value: unknown, field: string = SESSION_HEADER): Hex {
  return bytes32(value, field);
}

/** Parses a session id (the `<sessionId>` of `/sessions/<sessionId>` URLs): 32 bytes of 0x hex, returned lower case. */
export function parseSessionId(value: unknown, field = "sessionId"): Hex {
  return bytes32(value, field);
}

/** Parses a `POST /sessions` response body: a `Session` that must carry its `sessionToken`. */
export function parseOpenedSession(json: unknown): OpenedSession {
  const r = object(json, "session");
  return { ...parseSession(r), sessionToken: parseSessionToken(r.sessionToken, "sessionToken") };
}

/** Turns an opened session (with its token) into the `POST /sessions` response body. */
export function serializeOpenedSession(s: OpenedSession): Record<string, unknown> {
  return { ...serializeSession(s), sessionToken: s.sessionToken };
}

/** Parses a `Session` body (response: unknown fields are ignored). */
export function parseSession(json: unknown): Session {
  const r = object(json, "session");
  return {
    sessionId: bytes32(r.sessionId, "sessionId"),
    sender: address(r.sender, "sender"),
    recipient: address(r.recipient, "recipient"),
    chainId: safeInt(r.chainId, "chainId"),
    broker: address(r.broker, "broker"),
    recipientRandHash: bytes32(r.recipientRandHash, "recipientRandHash"),
    nextNonce: uint(r.nextNonce, "nextNonce"),
    faceValue: uint(r.faceValue, "faceValue"),
    winProb: uint(r.winProb, "winProb"),
    pricePerGiB: uint(r.pricePerGiB, "pricePerGiB"),
    bytesPerTicket: uint(r.bytesPerTicket, "bytesPerTicket"),
    creditWindowBytes: uint(r.creditWindowBytes, "creditWindowBytes"),
    minExpiry: uint(r.minExpiry, "minExpiry"),
    maxExpiry: uint(r.maxExpiry, "maxExpiry"),
    servedBytes: uint(r.servedBytes, "servedBytes"),
    paidBytes: uint(r.paidBytes, "paidBytes"),
    service: r.service === undefined ? "cdn" : service(r.service, "service"),
  };
}

/** Turns a session into its JSON body. */
export function serializeSession(s: Session): Record<string, unknown> {
  return {
    sessionId: s.sessionId,
    sender: s.sender,
    recipient: s.recipient,
    chainId: s.chainId,
    broker: s.broker,
    recipientRandHash: s.recipientRandHash,
    nextNonce: s.nextNonce.toString(),
    faceValue: s.faceValue.toString(),
    winProb: s.winProb.toString(),
    pricePerGiB: s.pricePerGiB.toString(),
    bytesPerTicket: s.bytesPerTicket.toString(),
    creditWindowBytes: s.creditWindowBytes.toString(),
    minExpiry: s.minExpiry.toString(),
    maxExpiry: s.maxExpiry.toString(),
    servedBytes: s.servedBytes.toString(),
    paidBytes: s.paidBytes.toString(),
    service: s.service,
  };
}

/**
 * Parses one `TicketPayment` strictly: `{ticket, signature}` and nothing else; the ticket through
 * `parseTicket` (its errors name the field under `<field>.ticket`), the signature as 0x hex bytes (its canonical 65-byte
 * form is checked by the receiver, which owns InvalidSignatureError for it).
 */
export function parseTicketPayment(json: unknown, field = "payment"): TicketPayment {
  const r = object(json, field);
  onlyFields(r, ["ticket", "signature"], `${field}.`);
  const signature = signatureHex(r.signature, `${field}.signature`);
  return { ticket: parseTicket(r.ticket, `${field}.ticket`), signature };
}

/** Turns a ticket payment into its JSON form. */
export function serializeTicketPayment(p: TicketPayment): { ticket: TicketJson; signature: Hex } {
  return { ticket: serializeTicket(p.ticket), signature: p.signature };
}

/** Parses a `POST /sessions/<id>/tickets` body strictly (1..MAX_TICKETS_PER_BATCH tickets). */
export function parseTicketBatch(json: unknown): TicketBatch {
  const r = object(json, "body");
  onlyFields(r, ["tickets"], "");
  if (!Array.isArray(r.tickets) || r.tickets.length === 0 || r.tickets.length > MAX_TICKETS_PER_BATCH) {
    throw new WireFormatError({ field: "tickets", reason: `must be an array of 1..${MAX_TICKETS_PER_BATCH} ticket payments` });
  }
  return { tickets: r.tickets.map((t, i) => parseTicketPayment(t, `tickets[${i}]`)) };
}

/** Parses a `TicketBatchResult` response body. */
export function parseTicketBatchResult(json: unknown): TicketBatchResult {
  const r = object(json, "result");
  return { accepted: safeInt(r.accepted, "accepted"), session: parseSession(r.session) };
}

/** Encodes ticket payments as an `X-Bandmint-Ticket` header value (comma-separated base64url JSON). */
export function encodeTicketHeader(payments: readonly TicketPayment[]): string {
  return payments
    .map((p) => Buffer.from(JSON.stringify(serializeTicketPayment(p)), "utf8").toString("base64url"))
    .join(",");
}

/**
 * Decodes an `X-Bandmint-Ticket` header value (or the array Node gives for repeated headers) into
 * ticket payments, in order. Throws WireFormatError / InvalidTicketError naming the bad entry.
 */
export function decodeTicketHeader(value: string | readonly string[]): TicketPayment[] {
  const parts = (typeof value === "string" ? [value] : value)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  return parts.map((part, i) => {
    const field = `${TICKET_HEADER}[${i}]`;
    // The cap bounds the JSON.parse work per entry; a real ticket encodes to ~900 characters.
    if (part.length > MAX_TICKET_HEADER_ENTRY_CHARS || !BASE64URL.test(part)) {
      throw new WireFormatError({ field, reason: `must be base64url (no padding) of at most ${MAX_TICKET_HEADER_ENTRY_CHARS} characters` });
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    } catch (cause) {
      throw new WireFormatError({ field, reason: "is not base64url-encoded JSON", cause });
    }
    return parseTicketPayment(json, field);
  });
}

/** Parses an error response body `{error, message, details?}`. */
export function parseWireError(json: unknown): WireError {
  const r = object(json, "error body");
  if (typeof r.error !== "string" || typeof r.message !== "string") {
    throw new WireFormatError({ field: "error", reason: "must have string fields error and message" });
  }
  const details = r.details === undefined ? undefined : object(r.details, "details");
  return details === undefined ? { error: r.error, message: r.message } : { error: r.error, message: r.message, details };
}

/** Parses the `details` of a 402 `PaymentRequiredError` body. */
export function parsePaymentRequiredDetails(details: unknown): PaymentRequiredDetails {
  const r = object(details, "details");
  return {
    sessionId: bytes32(r.sessionId, "details.sessionId"),
    servedBytes: uint(r.servedBytes, "details.servedBytes"),
    inFlightBytes: uint(r.inFlightBytes, "details.inFlightBytes"),
    paidBytes: uint(r.paidBytes, "details.paidBytes"),
    requestedBytes: uint(r.requestedBytes, "details.requestedBytes"),
    creditWindowBytes: uint(r.creditWindowBytes, "details.creditWindowBytes"),
    minCumulativeBytes: uint(r.minCumulativeBytes, "details.minCumulativeBytes"),
    nextNonce: uint(r.nextNonce, "details.nextNonce"),
    recipientRandHash: bytes32(r.recipientRandHash, "details.recipientRandHash"),
  };
}
