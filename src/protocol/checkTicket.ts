import type { Address, Hex } from "viem";
import {
  RecipientMismatchError,
  SignerMismatchError,
  TicketExpiredError,
  TicketExpiresTooSoonError,
  TicketTermsMismatchError,
} from "./errors.ts";
import { toHexString } from "./hex.ts";
import { recoverTicketSignerAndDigest } from "./recoverTicketSigner.ts";
import type { Ticket, TicketDomain } from "./ticket.ts";

/** What the receiving node expects of a ticket; omitted optional terms are not checked. */
export type CheckTicketOptions = {
  /** The ticket domain, or its precomputed 32-byte separator (domainSeparatorBytes) to skip rehashing it. */
  domain: TicketDomain | Uint8Array;
  /** Current unix time in seconds (the caller's clock: this module reads none). */
  now: bigint;
  /** This provider's payout address. */
  expectedRecipient: Address;
  /** Reject tickets expiring before this time (leave room to redeem them). */
  minExpiry?: bigint;
  /** The agreed face value. */
  faceValue?: bigint;
  /** The agreed win threshold. */
  winProb?: bigint;
  /** The session the ticket must pay for. */
  sessionId?: Hex;
};

/** Result of a passed check: the verified signer (== sender) and the EIP-712 digest of the ticket. */
export type CheckTicketResult = { signer: Address; digest: Hex };

/**
 * The pure, stateless validation of a received ticket; throws the first failure as a typed error
 * (RecipientMismatchError, TicketTermsMismatchError, TicketExpiredError, TicketExpiresTooSoonError,
 * InvalidSignatureError, SignerMismatchError). Cheap comparisons run before signature recovery so
 * garbage costs a peer nothing to reject. The node adds the stateful checks on top: nonce order,
 * bytes served vs cumulativeBytes, deposit.
 */
export function checkTicket(ticket: Ticket, signature: Hex, options: CheckTicketOptions): CheckTicketResult {
  checkTicketTerms(ticket, options);
  const { signer, digest } = recoverTicketSignerAndDigest(ticket, options.domain, signature);
  if (signer.toLowerCase() !== ticket.sender.toLowerCase()) {
    throw new SignerMismatchError({ expected: ticket.sender, recovered: signer });
  }
  return { signer, digest: toHexString(digest) };
}

/**
 * The cheap part of `checkTicket`: everything but the signature (recipient, terms, session,
 * expiry). For callers that recover the signer elsewhere (the node's signer threads) and then
 * call `checkTicket` only to name a failure.
 */
export function checkTicketTerms(ticket: Ticket, options: Omit<CheckTicketOptions, "domain">): void {
  const { now, expectedRecipient, minExpiry } = options;
  if (ticket.recipient.toLowerCase() !== expectedRecipient.toLowerCase()) {
    throw new RecipientMismatchError({ expected: expectedRecipient, actual: ticket.recipient });
  }
  if (options.faceValue !== undefined && ticket.faceValue !== options.faceValue) {
    throw new TicketTermsMismatchError({ field: "faceValue", expected: options.faceValue, actual: ticket.faceValue });
  }
  if (options.winProb !== undefined && ticket.winProb !== options.winProb) {
    throw new TicketTermsMismatchError({ field: "winProb", expected: options.winProb, actual: ticket.winProb });
  }
  if (options.sessionId !== undefined && ticket.sessionId.toLowerCase() !== options.sessionId.toLowerCase()) {
    throw new TicketTermsMismatchError({ field: "sessionId", expected: options.sessionId, actual: ticket.sessionId });
  }
  // Same rule as the broker: valid while now <= expiry.
  if (now > ticket.expiry) throw new TicketExpiredError({ expiry: ticket.expiry, now });
  if (minExpiry !== undefined && ticket.expiry < minExpiry) {
    throw new TicketExpiresTooSoonError({ expiry: ticket.expiry, minExpiry });
  }
}
