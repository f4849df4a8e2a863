import type { Address, Hex } from "viem";
import { BaseError } from "../../protocol/errors.ts";

// Errors of the payment layer (docs/protocol/payments.md §4). Each carries the values a client
// needs to act on it in `wireDetails` (decimal strings for money and bytes), and its HTTP status
// lives in paymentErrorStatus.ts so the whole table is in one place.

/** Values an error exposes to the client in the JSON `details` of its response. */
export type WireDetails = Record<string, string | number | boolean>;

/** Base of payment-layer errors: adds the client-facing details. */
export class PaymentLayerError extends BaseError {
  override name = "PaymentLayerError";
  /** A refusal of a client's request: no stack (BaseError.stackless). StorageFullError, the node's own trouble, keeps one. */
  static override readonly stackless: boolean = true;
  wireDetails: WireDetails = {};
}

/** A content request carries no `X-Bandmint-Session` header. */
export class SessionRequiredError extends PaymentLayerError {
  override name = "SessionRequiredError";
  constructor() {
    super("Payment required: open a session (POST /sessions) and send its sessionToken in X-Bandmint-Session.");
  }
}

/** Why a session token was refused (`details.reason`). */
export type SessionTokenRefusal = "missing" | "unknown" | "wrong" | "legacy";

/**
 * `X-Bandmint-Session` does not carry the secret token of a session this node knows (for
 * `/sessions/<id>` routes: of that session). A sessionId is not a token: ids are public.
 */
export class InvalidSessionTokenError extends PaymentLayerError {
  override name = "InvalidSessionTokenError";
  reason: SessionTokenRefusal;
  constructor({ reason }: { reason: SessionTokenRefusal }) {
    const why = {
      missing: "no X-Bandmint-Session token was sent",
      unknown: "X-Bandmint-Session is not the token of any session here (the sessionId is not the token)",
      wrong: "X-Bandmint-Session is not this session's token",
      legacy: "this session was opened before session tokens and cannot be used",
    }[reason];
    super(`Session token refused: ${why}; send the sessionToken of POST /sessions, or open a new session.`);
    this.reason = reason;
    this.wireDetails = { reason };
  }
}

/** A request body is larger than the node reads (MAX_REQUEST_BODY_BYTES, src/protocol/wire.ts): 413. */
export class RequestBodyTooLargeError extends PaymentLayerError {
  override name = "RequestBodyTooLargeError";
  constructor({ limit }: { limit: number }) {
    super(`Request body too large: at most ${limit} bytes; send fewer tickets per POST.`);
    this.wireDetails = { limit: limit.toString() };
  }
}

/** A request body did not arrive within REQUEST_BODY_TIMEOUT_SECONDS (src/protocol/wire.ts) of its head: 408. */
export class RequestTimeoutError extends PaymentLayerError {
  override name = "RequestTimeoutError";
  constructor({ limitSeconds }: { limitSeconds: number }) {
    super(`Request timeout: the body did not arrive within ${limitSeconds} s.`);
    this.wireDetails = { limit: limitSeconds.toString() };
  }
}

/** The session id is not known to this node (never opened, or forgotten). */
export class UnknownSessionError extends PaymentLayerError {
  override name = "UnknownSessionError";
  sessionId: string;
  constructor({ sessionId }: { sessionId: string }) {
    super(`Unknown session ${sessionId}: open a new one.`);
    this.sessionId = sessionId;
    this.wireDetails = { sessionId };
  }
}

/** The ticket names another session than the one it was sent with. */
export class SessionMismatchError extends PaymentLayerError {
  override name = "SessionMismatchError";
  constructor({ expected, actual }: { expected: Hex; actual: Hex }) {
    super(`Ticket is for session ${actual}, not ${expected}.`);
    this.wireDetails = { expected, actual };
  }
}

/** The ticket carries a recipientRandHash that is not the session's current one. */
export class StaleRecipientRandError extends PaymentLayerError {
  override name = "StaleRecipientRandError";
  constructor({ expected, actual }: { expected: Hex; actual: Hex }) {
    super("Ticket carries a stale recipientRandHash: re-sign it with the current one.", {
      metaMessages: [`Current: ${expected}`, `Ticket:  ${actual}`],
    });
    this.wireDetails = { recipientRandHash: expected, actual };
  }
}

/** The ticket's expiry is further out than the node accepts. */
export class TicketExpiryTooFarError extends PaymentLayerError {
  override name = "TicketExpiryTooFarError";
  constructor({ expiry, maxExpiry }: { expiry: bigint; maxExpiry: bigint }) {
    super(`Ticket expiry ${expiry} is after the latest accepted expiry ${maxExpiry}.`);
    this.wireDetails = { expiry: expiry.toString(), maxExpiry: maxExpiry.toString() };
  }
}

/** The ticket's nonce is not above the last nonce accepted from its sender (replay). */
export class TicketNonceError extends PaymentLayerError {
  override name = "TicketNonceError";
  nonce: bigint;
  lastNonce: bigint;
  constructor({ nonce, lastNonce, duplicate }: { nonce: bigint; lastNonce: bigint; duplicate: boolean }) {
    super(`Ticket nonce ${nonce} is not above the last accepted nonce ${lastNonce}${duplicate ? " (this ticket is already stored)" : ""}.`);
    this.nonce = nonce;
    this.lastNonce = lastNonce;
    this.wireDetails = { nonce: nonce.toString(), lastNonce: lastNonce.toString(), nextNonce: (lastNonce + 1n).toString(), duplicate };
  }
}

/** The ticket's cumulativeBytes does not advance past what is already paid. */
export class TicketAcknowledgesNothingError extends PaymentLayerError {
  override name = "TicketAcknowledgesNothingError";
  constructor({ cumulativeBytes, paidBytes }: { cumulativeBytes: bigint; paidBytes: bigint }) {
    super(`Ticket acknowledges ${cumulativeBytes} bytes, not above the ${paidBytes} already paid.`);
    this.wireDetails = { cumulativeBytes: cumulativeBytes.toString(), paidBytes: paidBytes.toString() };
  }
}

/** The ticket acknowledges bytes this node never sent in the session. */
export class TicketOverAcknowledgesError extends PaymentLayerError {
  override name = "TicketOverAcknowledgesError";
  constructor({ cumulativeBytes, servedBytes }: { cumulativeBytes: bigint; servedBytes: bigint }) {
    super(`Ticket acknowledges ${cumulativeBytes} bytes but only ${servedBytes} were served.`);
    this.wireDetails = { cumulativeBytes: cumulativeBytes.toString(), servedBytes: servedBytes.toString() };
  }
}

/** The ticket's expected value is below the price of the bytes it acknowledges. */
export class TicketUnderpricedError extends PaymentLayerError {
  override name = "TicketUnderpricedError";
  constructor({ bytes, price, value, maxBytes }: { bytes: bigint; price: bigint; value: bigint; maxBytes: bigint }) {
    super(`Ticket is worth ${value} wei but acknowledges ${bytes} bytes costing ${price} wei (at most ${maxBytes} bytes per ticket).`);
    this.wireDetails = { bytes: bytes.toString(), price: price.toString(), value: value.toString(), maxBytes: maxBytes.toString() };
  }
}

/** The sender's broker funds cannot cover its tickets, or it is about to withdraw them. */
export class InsufficientFundsError extends PaymentLayerError {
  override name = "InsufficientFundsError";
  sender: Address;
  constructor({ sender, deposit, reserve, required, withdrawTime, reason }: {
    sender: Address; deposit: bigint; reserve: bigint; required: bigint; withdrawTime: bigint; reason: string;
  }) {
    super(`Sender ${sender} cannot back its tickets: ${reason}.`);
    this.sender = sender;
    this.wireDetails = { sender, deposit: deposit.toString(), reserve: reserve.toString(), required: required.toString(), withdrawTime: withdrawTime.toString() };
  }
}

/**
 * The sender holds as many sessions as the node keeps per sender and every one of them still owes
 * bytes or has a response in flight, so none can be let go for a new one (HTTP 429).
 */
export class TooManySessionsError extends PaymentLayerError {
  override name = "TooManySessionsError";
  constructor({ sender, limit }: { sender: Address; limit: number }) {
    super(`Sender ${sender} holds ${limit} sessions here, each with unpaid bytes: pay what they owe (or wait for responses in flight) before opening another.`);
    this.wireDetails = { sender, limit: limit.toString() };
  }
}

/**
 * The sender opened sessions faster than the node lets one sender do (HTTP 429, `Retry-After`):
 * each new session is a durable write and chain reads, and a client needs one per node and service.
 */
export class TooManySessionRequestsError extends PaymentLayerError {
  override name = "TooManySessionRequestsError";
  retryAfterSeconds: number;
  constructor({ sender, limit, retryAfterSeconds }: { sender: Address; limit: number; retryAfterSeconds: number }) {
    super(`Sender ${sender} opened ${limit} sessions here in a short time: use the ones it has, or retry after ${retryAfterSeconds} s.`);
    this.retryAfterSeconds = retryAfterSeconds;
    this.wireDetails = { sender, limit: limit.toString(), retryAfterSeconds };
  }
}

/**
 * The sender's tickets were refused so often lately that the node no longer reads them for a while
 * (HTTP 429, `Retry-After`): a client sending bad tickets in a loop would otherwise cost the node a
 * parse of every batch (refusalBudget.ts).
 */
export class TooManyRefusalsError extends PaymentLayerError {
  override name = "TooManyRefusalsError";
  retryAfterSeconds: number;
  constructor({ sender, limit, retryAfterSeconds }: { sender: Address; limit: number; retryAfterSeconds: number }) {
    super(`Sender ${sender} had ${limit} tickets or batches refused in a short time: fix them, then retry after ${retryAfterSeconds} s.`);
    this.retryAfterSeconds = retryAfterSeconds;
    this.wireDetails = { sender, limit: limit.toString(), retryAfterSeconds };
  }
}

/** The session's credit window is used up: the client must acknowledge more bytes first. */
export class PaymentRequiredError extends PaymentLayerError {
  override name = "PaymentRequiredError";
  minCumulativeBytes: bigint;
  constructor(d: {
    sessionId: Hex; servedBytes: bigint; inFlightBytes: bigint; paidBytes: bigint; requestedBytes: bigint;
    creditWindowBytes: bigint; minCumulativeBytes: bigint; nextNonce: bigint; recipientRandHash: Hex;
  }) {
    super(`Payment required: acknowledge at least ${d.minCumulativeBytes - d.paidBytes} more bytes of session ${d.sessionId}.`);
    this.minCumulativeBytes = d.minCumulativeBytes;
    this.wireDetails = {
      sessionId: d.sessionId,
      servedBytes: d.servedBytes.toString(),
      inFlightBytes: d.inFlightBytes.toString(),
      paidBytes: d.paidBytes.toString(),
      requestedBytes: d.requestedBytes.toString(),
      creditWindowBytes: d.creditWindowBytes.toString(),
      minCumulativeBytes: d.minCumulativeBytes.toString(),
      nextNonce: d.nextNonce.toString(),
      recipientRandHash: d.recipientRandHash,
    };
  }
}

/** A ticket batch stopped at a bad ticket; wraps its error with how many went in before it. */
export class TicketBatchError extends PaymentLayerError {
  override name: string;
  accepted: number;
  constructor({ cause, accepted }: { cause: Error; accepted: number }) {
    super((cause as BaseError).shortMessage ?? cause.message, { cause });
    // The response names the underlying ticket error, so clients switch on one vocabulary.
    this.name = cause.name;
    this.accepted = accepted;
    this.wireDetails = { ...((cause as PaymentLayerError).wireDetails ?? {}), accepted };
  }
}

/** `POST /sessions` asked for a service this node does not offer (see `services` in its offer). */
export class ServiceNotOfferedError extends PaymentLayerError {
  override name = "ServiceNotOfferedError";
  constructor({ service, offered }: { service: string; offered: readonly string[] }) {
    super(`This node does not offer "${service}" (it offers ${offered.map((s) => `"${s}"`).join(", ")}).`);
    this.wireDetails = { service, offered: offered.join(",") };
  }
}

/** A session was used for another service than the one it was opened for (content vs relay). */
export class SessionServiceMismatchError extends PaymentLayerError {
  override name = "SessionServiceMismatchError";
  constructor({ sessionId, service, used }: { sessionId: Hex; service: string; used: string }) {
    super(`Session ${sessionId} pays for "${service}", not "${used}": open a session for "${used}".`);
    this.wireDetails = { sessionId, service, used };
  }
}

/**
 * The node's ticket store cannot write: its disk is full (SQLite's SQLITE_FULL). Nothing was
 * acknowledged that is not on disk; the node refuses new sessions and tickets until it has room.
 */
export class StorageFullError extends PaymentLayerError {
  override name = "StorageFullError";
  static override readonly stackless = false;
  constructor({ cause }: { cause?: unknown } = {}) {
    super("The node's disk is full: it cannot record sessions or tickets right now; retry later or use another provider.", { cause, details: "database or disk is full" });
  }
}

