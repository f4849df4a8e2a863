import type { Ticket, TicketDomain } from "./ticket.ts";
import { serializeTicket, ticketTypes } from "./ticket.ts";

/** The full EIP-712 typed-data object of a ticket, as viem's signTypedData takes it. */
export type TicketTypedData = {
  domain: TicketDomain;
  types: typeof ticketTypes;
  primaryType: "Ticket";
  message: Ticket;
};

/** Builds the typed data a sender signs for `ticket` under `domain`. */
export function ticketTypedData(ticket: Ticket, domain: TicketDomain): TicketTypedData {
  return { domain, types: ticketTypes, primaryType: "Ticket", message: ticket };
}

const EIP712_DOMAIN = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
] as const;

/**
 * The JSON string `eth_signTypedData_v4` expects (EIP712Domain type included, uints as decimal
 * strings because JSON numbers lose precision above 2^53): for wallets reached over JSON-RPC.
 */
export function ticketTypedDataJson(ticket: Ticket, domain: TicketDomain): string {
  return JSON.stringify({
    types: { EIP712Domain: EIP712_DOMAIN, ...ticketTypes },
    primaryType: "Ticket",
    domain: { ...domain, chainId: domain.chainId.toString() },
    message: serializeTicket(ticket),
  });
}
