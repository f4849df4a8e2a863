import type { Hex } from "viem";
import { domainSeparatorBytes, hashTicketBytes } from "../protocol/hashTicket.ts";
import { secp256k1Backend } from "../protocol/secp256k1.ts";
import type { Ticket, TicketDomain } from "../protocol/ticket.ts";

/**
 * A ticket signer for a raw private key on the process's secp256k1 backend (libsecp256k1 when the
 * `secp256k1` binding loads, @noble/curves otherwise): the EIP-712 digest with the domain separator
 * computed once, then an RFC 6979 deterministic, low-s signature. It returns exactly what
 * `signTicket` (viem, pure JS) returns for the same ticket, about ten times faster on the native
 * backend: at one ticket per MiB, viem's signing alone costs the client as much CPU as receiving
 * the bytes (bench/paid.ts prints both).
 */
export function createNativeTicketSigner(privateKey: Hex, domain: TicketDomain): (ticket: Ticket) => Promise<Hex> {
  const key = Uint8Array.from(Buffer.from(privateKey.slice(2), "hex"));
  const backend = secp256k1Backend();
  if (!backend.isPrivateKey(key)) throw new RangeError("not a valid secp256k1 private key");
  const separator = domainSeparatorBytes(domain);
  return async (ticket) => {
    const { signature, recovery } = backend.sign(hashTicketBytes(ticket, separator), key);
    return `0x${Buffer.from(signature).toString("hex")}${(27 + recovery).toString(16)}` as Hex;
  };
}
