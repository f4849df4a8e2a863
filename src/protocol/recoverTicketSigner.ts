import type { Address, Hex } from "viem";
import { SignerMismatchError } from "./errors.ts";
import { domainSeparatorBytes, hashTicketBytes } from "./hashTicket.ts";
import { recoverAddressFromParts } from "./secp256k1.ts";
import { assertCanonicalSignature } from "./signature.ts";
import type { Ticket, TicketDomain } from "./ticket.ts";

/**
 * Recovers who signed `ticket` under `domain`. Throws InvalidSignatureError unless the signature
 * is in the canonical form the broker accepts, so a ticket the node accepts is one the broker
 * would accept too. Uses the native secp256k1 binding when available.
 */
export function recoverTicketSigner(ticket: Ticket, domain: TicketDomain | Uint8Array, signature: Hex): Address {
  return recoverTicketSignerAndDigest(ticket, domain, signature).signer;
}

/** `recoverTicketSigner`, also returning the ticket's EIP-712 digest (32 bytes) it recovered from. */
export function recoverTicketSignerAndDigest(ticket: Ticket, domain: TicketDomain | Uint8Array, signature: Hex): { signer: Address; digest: Uint8Array } {
  const parts = assertCanonicalSignature(signature);
  const separator = domain instanceof Uint8Array ? domain : domainSeparatorBytes(domain);
  const digest = hashTicketBytes(ticket, separator);
  return { signer: recoverAddressFromParts(digest, signature, parts), digest };
}

/**
 * Throws unless `signature` is a canonical signature of `ticket` by `ticket.sender`
 * (InvalidSignatureError, or SignerMismatchError with both addresses). Returns the signer.
 * `domain` may be a precomputed domain separator (32 bytes) to skip rehashing the domain.
 */
export function verifyTicketSignature(ticket: Ticket, domain: TicketDomain | Uint8Array, signature: Hex): Address {
  const recovered = recoverTicketSigner(ticket, domain, signature);
  // Case-insensitive: the ticket may carry a lowercase address, recovery returns a checksummed one.
  if (recovered.toLowerCase() !== ticket.sender.toLowerCase()) throw new SignerMismatchError({ expected: ticket.sender, recovered });
  return recovered;
}
