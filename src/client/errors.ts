import type { Address } from "viem";
import { BaseError } from "../protocol/errors.ts";

// One parser, one error: the token-amount parser and its error live in the protocol core.
export { InvalidAmountError } from "../protocol/tokenAmount.ts";

/** A provider's offer disagrees with its on-chain listing (price, recipient, chain or broker). */
export class OfferMismatchError extends BaseError {
  override name = "OfferMismatchError";
  provider: Address;
  field: string;
  offered: string;
  expected: string;
  constructor({ provider, endpoint, field, offered, expected }: { provider: Address; endpoint: string; field: string; offered: string; expected: string }) {
    super(`Provider ${provider} offers ${field} ${offered} but its on-chain listing says ${expected}; refusing to pay it.`, {
      metaMessages: [`Endpoint: ${endpoint}`],
    });
    this.provider = provider;
    this.field = field;
    this.offered = offered;
    this.expected = expected;
  }
}

/** A provider served a chunk that failed verification: it is not paid for it and is dropped. */
export class BadChunkError extends BaseError {
  override name = "BadChunkError";
  provider: Address;
  path: string;
  index: number;
  constructor({ provider, path, index, cause }: { provider: Address; path: string; index: number; cause: unknown }) {
    super(`Provider ${provider} served a bad chunk ${index} of ${path}; it is not paid and is dropped.`, { cause });
    this.provider = provider;
    this.path = path;
    this.index = index;
  }
}

/** A provider's credit window is used up by bytes the client could not verify (so cannot pay). */
export class CreditExhaustedError extends BaseError {
  override name = "CreditExhaustedError";
  provider: Address;
  constructor({ provider, reason }: { provider: Address; reason: string }) {
    super(`Provider ${provider} will not serve more without payment: ${reason}.`);
    this.provider = provider;
  }
}

/** The consumer's broker deposit is too small for a provider to open a session. */
export class DepositTooLowError extends BaseError {
  override name = "DepositTooLowError";
  provider: Address;
  constructor({ provider, message }: { provider: Address; message: string }) {
    super(`Provider ${provider} refused the session: ${message}`, { details: "Fund the ticket broker first: bandmint deposit <amount> [--reserve <amount>]" });
    this.provider = provider;
  }
}

/** A request to a provider failed: connection error, unexpected status or malformed answer. */
export class ProviderRequestError extends BaseError {
  override name = "ProviderRequestError";
  provider: Address;
  url: string;
  status: number | undefined;
  errorName: string | undefined;
  /** The provider answered, but not in the protocol's form (not JSON, or fields that do not parse). */
  malformed: boolean;
  constructor({ provider, url, status, errorName, reason, cause, malformed = false }: { provider: Address; url: string; status?: number; errorName?: string; reason: string; cause?: unknown; malformed?: boolean }) {
    super(`Request to provider ${provider} failed: ${reason}.`, { cause, metaMessages: [`URL: ${url}`] });
    this.provider = provider;
    this.url = url;
    this.status = status;
    this.errorName = errorName;
    this.malformed = malformed;
  }
}

/**
 * A provider reported a session counter it cannot have honestly: more bytes served than we ever
 * asked it for (`servedBytes`), or more bytes paid than our tickets cover (`paidBytes`). We stop
 * paying it: the claim is false on its face, so it is dropped like a provider that served bad data.
 */
export class ProviderClaimError extends BaseError {
  override name = "ProviderClaimError";
  provider: Address;
  field: "servedBytes" | "paidBytes";
  claimed: bigint;
  actual: bigint;
  constructor({ provider, field, claimed, actual }: { provider: Address; field: "servedBytes" | "paidBytes"; claimed: bigint; actual: bigint }) {
    super(
      field === "servedBytes"
        ? `Provider ${provider} claims servedBytes ${claimed} in a session in which we asked for ${actual} bytes: not paying it further.`
        : `Provider ${provider} claims paidBytes ${claimed}, but our tickets to it cover ${actual} bytes: not paying it further.`,
    );
    this.provider = provider;
    this.field = field;
    this.claimed = claimed;
    this.actual = actual;
  }
}

/**
 * A provider made us sign tickets over again (each signature is one more lottery draw for the same
 * bytes) more often than an honest node can: it rotates its recipientRandHash only after one of our
 * tickets won, and refuses a nonce only when another of our sessions used it.
 */
export class TicketRedrawError extends BaseError {
  override name = "TicketRedrawError";
  provider: Address;
  redraws: number;
  allowed: number;
  constructor({ provider, redraws, allowed, accepted }: { provider: Address; redraws: number; allowed: number; accepted: number }) {
    super(
      `Provider ${provider} refused tickets it had been sent and asked for new signatures ${redraws} times (rotating its recipientRandHash or skipping nonces; at most ${allowed} expected after ${accepted} accepted tickets): not signing for it again.`,
    );
    this.provider = provider;
    this.redraws = redraws;
    this.allowed = allowed;
  }
}

/** A provider took longer than its measured throughput allows for a chunk. */
export class ProviderTimeoutError extends BaseError {
  override name = "ProviderTimeoutError";
  provider: Address;
  timeoutMs: number;
  constructor({ provider, url, timeoutMs }: { provider: Address; url: string; timeoutMs: number }) {
    super(`Provider ${provider} was too slow (no complete chunk within ${timeoutMs} ms).`, { metaMessages: [`URL: ${url}`] });
    this.provider = provider;
    this.timeoutMs = timeoutMs;
  }
}

/** Every provider able to serve the content failed or was dropped. */
export class NoProviderAvailableError extends BaseError {
  override name = "NoProviderAvailableError";
  contentId: string;
  failures: string[];
  constructor({ contentId, failures }: { contentId: string; failures: string[] }) {
    super(`No provider could serve ${contentId}.`, {
      metaMessages: failures.length > 0 ? failures : ["No active cdn provider is listed on chain."],
    });
    this.contentId = contentId;
    this.failures = failures;
  }
}

/** The manifest could not be obtained from any provider, or failed verification. */
export class ManifestUnavailableError extends BaseError {
  override name = "ManifestUnavailableError";
  contentId: string;
  constructor({ contentId, reasons }: { contentId: string; reasons: string[] }) {
    super(`No valid manifest for ${contentId}.`, { metaMessages: reasons });
    this.contentId = contentId;
  }
}

/** The requested path is not a file of the content. */
export class FileNotInContentError extends BaseError {
  override name = "FileNotInContentError";
  contentId: string;
  path: string;
  constructor({ contentId, path }: { contentId: string; path: string }) {
    super(`${contentId} has no file "${path}".`);
    this.contentId = contentId;
    this.path = path;
  }
}

/** A download's resume state belongs to other content or is unreadable. */
export class ResumeStateError extends BaseError {
  override name = "ResumeStateError";
  statePath: string;
  constructor({ statePath, reason }: { statePath: string; reason: string }) {
    super(`Cannot resume from ${statePath}: ${reason}.`, { details: "Delete the .part and .part.state files to start over." });
    this.statePath = statePath;
  }
}

/** A relay node refused a tunnel or a forwarded request; `reason` is its X-Bandmint-Refusal. */
export class RelayRefusedError extends BaseError {
  override name = "RelayRefusedError";
  provider: Address;
  target: string;
  status: number;
  errorName: string | undefined;
  reason: string | undefined;
  constructor({ provider, target, status, errorName, reason, message }: { provider: Address; target: string; status: number; errorName?: string; reason?: string; message: string }) {
    super(`Provider ${provider} refused ${target}: ${message}`, { metaMessages: [`HTTP ${status}${errorName ? ` ${errorName}` : ""}${reason ? ` (${reason})` : ""}`] });
    this.provider = provider;
    this.target = target;
    this.status = status;
    this.errorName = errorName;
    this.reason = reason;
  }
}

/** A relay node counted more bytes than moved through our tunnels, beyond one credit window. */
export class RelayOverReportError extends BaseError {
  override name = "RelayOverReportError";
  provider: Address;
  constructor({ provider, nodeServedBytes, movedBytes, creditWindowBytes }: { provider: Address; nodeServedBytes: bigint; movedBytes: bigint; creditWindowBytes: bigint }) {
    super(
      `Provider ${provider} claims ${nodeServedBytes} relayed bytes, but only ${movedBytes} moved through our tunnels (more than one credit window of ${creditWindowBytes} apart): not paying it further.`,
    );
    this.provider = provider;
  }
}

/** No relay provider took a connection: every one tried failed, or none is listed. */
export class NoRelayAvailableError extends BaseError {
  override name = "NoRelayAvailableError";
  target: string;
  failures: string[];
  constructor({ target, failures }: { target: string; failures: string[] }) {
    super(
      failures.length === 0 ? `No relay provider is available for ${target} (none listed, or all cooling down).` : `No relay provider could reach ${target}.`,
      { metaMessages: failures },
    );
    this.target = target;
    this.failures = failures;
  }
}
