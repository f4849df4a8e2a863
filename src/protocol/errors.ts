import type { Address, Hex } from "viem";

/** Options every bandmint error accepts: the underlying cause, extra detail and context lines. */
export type BaseErrorParameters = {
  cause?: unknown;
  details?: string;
  metaMessages?: string[];
};

/**
 * Root of every bandmint error (modelled on viem's `BaseError`).
 *
 * `shortMessage` is what a CLI prints to a user; `message` adds the context lines and details for
 * logs. `name` is a string literal on every subclass (never derived from the constructor) so that
 * the node's error -> HTTP status table keeps working after bundling or minification.
 */
export class BaseError extends Error {
  /**
   * True on errors that are verdicts on someone else's input (a refused request, a bad ticket):
   * they get no stack trace. Their stack would only show our checking code, and capturing it costs
   * 10-50 µs, which a flood of bad requests multiplies (bench:attack). Anything wrapped as `cause`
   * keeps its own stack.
   */
  static readonly stackless: boolean = false;
  override name: string = "BaseError";
  shortMessage: string;
  details: string | undefined;
  metaMessages: string[] | undefined;

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause, details, metaMessages } = parameters;
    // Like viem: a wrapped BaseError contributes its details, any other Error its message.
    const detailText =
      details ??
      (cause instanceof BaseError
        ? (cause.details ?? cause.shortMessage)
        : cause instanceof Error
          ? cause.message
          : cause === undefined
            ? undefined
            : String(cause));
    const message = [
      shortMessage,
      ...(metaMessages && metaMessages.length > 0 ? ["", ...metaMessages] : []),
      ...(detailText ? ["", `Details: ${detailText}`] : []),
    ].join("\n");
    const limit = Error.stackTraceLimit;
    if ((new.target as typeof BaseError).stackless) Error.stackTraceLimit = 0;
    try {
      super(message, cause === undefined ? undefined : { cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.shortMessage = shortMessage;
    this.details = detailText;
    this.metaMessages = metaMessages;
  }
}

/** A ticket in wire (JSON) form is malformed; `field` names the offending field. */
export class InvalidTicketError extends BaseError {
  override name = "InvalidTicketError";
  static override readonly stackless = true;
  field: string;
  reason: string;
  constructor({ field, reason, cause }: { field: string; reason: string; cause?: unknown }) {
    super(`Invalid ticket: field "${field}" ${reason}.`, { cause });
    this.field = field;
    this.reason = reason;
  }
}

/** A signature is not in the one canonical form the broker accepts (65 bytes, v in {27,28}, low s). */
export class InvalidSignatureError extends BaseError {
  override name = "InvalidSignatureError";
  static override readonly stackless = true;
  signature: Hex;
  reason: string;
  constructor({ signature, reason, cause }: { signature: Hex; reason: string; cause?: unknown }) {
    super(`Invalid signature: ${reason}.`, { cause, metaMessages: [`Signature: ${signature}`] });
    this.signature = signature;
    this.reason = reason;
  }
}

/** The ticket was signed by someone other than its `sender`. */
export class SignerMismatchError extends BaseError {
  override name = "SignerMismatchError";
  static override readonly stackless = true;
  expected: Address;
  recovered: Address;
  constructor({ expected, recovered }: { expected: Address; recovered: Address }) {
    super("Ticket signer is not the ticket sender.", {
      metaMessages: [`Sender:    ${expected}`, `Recovered: ${recovered}`],
    });
    this.expected = expected;
    this.recovered = recovered;
  }
}

/** The ticket names another recipient than the node checking it. */
export class RecipientMismatchError extends BaseError {
  override name = "RecipientMismatchError";
  static override readonly stackless = true;
  expected: Address;
  actual: Address;
  constructor({ expected, actual }: { expected: Address; actual: Address }) {
    super("Ticket recipient is not this provider.", {
      metaMessages: [`Expected: ${expected}`, `Ticket:   ${actual}`],
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** The ticket is past its expiry (valid while `now <= expiry`). */
export class TicketExpiredError extends BaseError {
  override name = "TicketExpiredError";
  static override readonly stackless = true;
  expiry: bigint;
  now: bigint;
  constructor({ expiry, now }: { expiry: bigint; now: bigint }) {
    super(`Ticket expired at ${expiry} (now ${now}).`);
    this.expiry = expiry;
    this.now = now;
  }
}

/** The ticket is still valid but expires before the receiver could safely redeem it. */
export class TicketExpiresTooSoonError extends BaseError {
  override name = "TicketExpiresTooSoonError";
  static override readonly stackless = true;
  expiry: bigint;
  minExpiry: bigint;
  constructor({ expiry, minExpiry }: { expiry: bigint; minExpiry: bigint }) {
    super(`Ticket expires at ${expiry}, before the minimum accepted expiry ${minExpiry}.`);
    this.expiry = expiry;
    this.minExpiry = minExpiry;
  }
}

/** A ticket term (faceValue, winProb, sessionId, ...) differs from what the two sides agreed. */
export class TicketTermsMismatchError extends BaseError {
  override name = "TicketTermsMismatchError";
  static override readonly stackless = true;
  field: string;
  expected: bigint | string;
  actual: bigint | string;
  constructor({ field, expected, actual }: { field: string; expected: bigint | string; actual: bigint | string }) {
    super(`Ticket ${field} is not the agreed value.`, {
      metaMessages: [`Expected: ${expected}`, `Ticket:   ${actual}`],
    });
    this.field = field;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The ticket lost the draw (`keccak256(sig ‖ rand) >= winProb`), so it cannot be redeemed. */
export class TicketNotWinningError extends BaseError {
  override name = "TicketNotWinningError";
  static override readonly stackless = true;
  winProb: bigint;
  draw: bigint;
  constructor({ winProb, draw }: { winProb: bigint; draw: bigint }) {
    super("Ticket is not a winning ticket.", { metaMessages: [`Draw:    ${draw}`, `WinProb: ${winProb}`] });
    this.winProb = winProb;
    this.draw = draw;
  }
}

/** A revealed `recipientRand` does not hash to the ticket's `recipientRandHash`, or is out of range. */
export class InvalidRecipientRandError extends BaseError {
  override name = "InvalidRecipientRandError";
  static override readonly stackless = true;
  recipientRandHash: Hex | undefined;
  computedHash: Hex | undefined;
  constructor({
    reason,
    recipientRandHash,
    computedHash,
  }: { reason: string; recipientRandHash?: Hex; computedHash?: Hex }) {
    super(`Invalid recipientRand: ${reason}.`, {
      metaMessages: [
        ...(recipientRandHash ? [`Committed: ${recipientRandHash}`] : []),
        ...(computedHash ? [`Computed:  ${computedHash}`] : []),
      ],
    });
    this.recipientRandHash = recipientRandHash;
    this.computedHash = computedHash;
  }
}

/**
 * Tickets that the compact batch encoding (compactBatch.ts) cannot carry exactly, or bytes that
 * are not a well-formed compact batch. `index` is the offending ticket (encoding) or byte offset
 * (decoding). Redeem such tickets with the full `redeemTickets` call instead.
 */
export class CompactBatchError extends BaseError {
  override name = "CompactBatchError";
  index: number;
  reason: string;
  constructor({ index, reason, cause }: { index: number; reason: string; cause?: unknown }) {
    super(`Not a compact batch: ${reason} (at ${index}).`, { cause });
    this.index = index;
    this.reason = reason;
  }
}

/** Inputs to `ticketParams` / `priceOfBytes` are out of range (zero, negative, too large). */
export class TicketParamsError extends BaseError {
  override name = "TicketParamsError";
  field: string;
  value: bigint;
  constructor({ field, value, reason }: { field: string; value: bigint; reason: string }) {
    super(`Invalid ticket parameter "${field}" = ${value}: ${reason}.`);
    this.field = field;
    this.value = value;
  }
}

/** The `secp256k1` package could not load its native libsecp256k1 binding. */
export class NativeSecp256k1UnavailableError extends BaseError {
  override name = "NativeSecp256k1UnavailableError";
  constructor({ cause }: { cause?: unknown } = {}) {
    super("The native secp256k1 binding is not available; signature recovery would be ~10x slower.", {
      cause,
      metaMessages: [
        "Ticket checks then run on the JavaScript fallback (@noble/curves). Install the `secp256k1`",
        "package where bandmint runs (next to dist/bandmint.mjs for the self-contained build; it ships",
        "binaries for linux-x64, darwin-arm64 and win32-x64 and builds elsewhere with node-gyp).",
      ],
    });
  }
}
