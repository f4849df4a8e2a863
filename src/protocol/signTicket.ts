import type { Hex } from "viem";
import { signTypedData } from "viem/accounts";
import { normalizeSignature } from "./signature.ts";
import type { Ticket, TicketDomain } from "./ticket.ts";
import { ticketTypedData, type TicketTypedData } from "./ticketTypedData.ts";

/** Parameters of signTicket. */
export type SignTicketParameters = { ticket: Ticket; domain: TicketDomain; privateKey: Hex };

/**
 * Signs a ticket with a raw private key; returns the canonical 65-byte r ‖ s ‖ v (v in {27, 28},
 * low s, RFC 6979 deterministic, so the same ticket always gets the same signature).
 */
export async function signTicket({ ticket, domain, privateKey }: SignTicketParameters): Promise<Hex> {
  return normalizeSignature(await signTypedData({ privateKey, ...ticketTypedData(ticket, domain) }));
}

/** Anything that signs EIP-712 typed data: a viem LocalAccount, or a WalletClient with its account hoisted. */
export type TicketSigner = { signTypedData: (parameters: TicketTypedData) => Promise<Hex> };

/**
 * Signs a ticket with a viem account or wallet client. The result goes through normalizeSignature,
 * so a wallet that returns v in {0, 1} still yields the canonical form (and a malformed or high-s
 * signature throws InvalidSignatureError here rather than at the broker).
 */
export async function signTicketWith(
  signer: TicketSigner,
  { ticket, domain }: { ticket: Ticket; domain: TicketDomain },
): Promise<Hex> {
  return normalizeSignature(await signer.signTypedData(ticketTypedData(ticket, domain)));
}
