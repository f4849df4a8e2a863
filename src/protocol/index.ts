// Public API of the protocol core: the ticket, its EIP-712 hashing and signing, the win draw,
// pricing, validation and the typed errors. Pure: no I/O, no clock, no global state.
export * from "./errors.ts";
export * from "./ticket.ts";
export * from "./ticketTypedData.ts";
export {
  TICKET_TYPEHASH,
  domainSeparator,
  domainSeparatorBytes,
  hashTicket,
  hashTicketBytes,
  hashTicketWithSeparator,
  ticketStructHash,
} from "./hashTicket.ts";
export { keccak256Bytes } from "./keccak256.ts";
export * from "./signature.ts";
export * from "./secp256k1.ts";
export * from "./signTicket.ts";
export * from "./recoverTicketSigner.ts";
export * from "./winningTicket.ts";
export * from "./ticketParams.ts";
export * from "./checkTicket.ts";
export * from "./compactBatch.ts";
export * from "./sessionRequest.ts";
export * from "./tokenAmount.ts";
