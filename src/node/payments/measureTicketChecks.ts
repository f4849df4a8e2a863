import type { Hex } from "viem";
import { checkTicket } from "../../protocol/checkTicket.ts";
import { hashTicketBytes } from "../../protocol/hashTicket.ts";
import { toHexString } from "../../protocol/hex.ts";
import { privateKeyAddress, secp256k1Backend, type Secp256k1Backend } from "../../protocol/secp256k1.ts";
import type { Ticket } from "../../protocol/ticket.ts";
import type { Offer } from "../../protocol/wire.ts";

/** The node's secp256k1 backend and the ticket checks per second it measured at start. */
export type TicketCheckRate = {
  secp256k1: Secp256k1Backend["name"];
  /** Full stateless checks (terms, EIP-712 digest, canonical signature, recovery) per second on one core. */
  ticketChecksPerSecond: number;
  checks: number;
};

// A throwaway key: the sample ticket only has to be a real one, signed under the node's domain.
const SAMPLE_KEY_HEX: Hex = `0x${"5eed".repeat(16)}`;
const SAMPLE_KEY = Uint8Array.from(Buffer.from(SAMPLE_KEY_HEX.slice(2), "hex"));

/**
 * Times `checkTicket` (what the intake runs, on this process's secp256k1 backend) on a sample
 * ticket of `offer`: up to `maxChecks` checks or `budgetMs`, whichever comes first (a few hundred
 * checks, tens of milliseconds natively), at start-up, before the node serves anything.
 */
export function measureTicketChecks(p: {
  offer: Offer;
  domainSeparator: Uint8Array;
  maxChecks?: number;
  budgetMs?: number;
  /** Milliseconds, monotonic; defaults to performance.now. */
  now?: () => number;
}): TicketCheckRate {
  const backend = secp256k1Backend();
  const { offer, domainSeparator, maxChecks = 300, budgetMs = 250, now = () => performance.now() } = p;
  const expiry = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const signed: Ticket = {
    recipient: offer.recipient,
    sender: privateKeyAddress(SAMPLE_KEY),
    faceValue: offer.faceValue,
    winProb: offer.winProb,
    senderNonce: 1n,
    recipientRandHash: `0x${"11".repeat(32)}`,
    expiry,
    sessionId: `0x${"22".repeat(32)}`,
    cumulativeBytes: offer.bytesPerTicket,
  };
  const { signature: rs, recovery } = backend.sign(hashTicketBytes(signed, domainSeparator), SAMPLE_KEY);
  const signature: Hex = `0x${toHexString(rs).slice(2)}${(27 + recovery).toString(16)}`;
  const options = { domain: domainSeparator, now: expiry - 60n, expectedRecipient: offer.recipient, faceValue: offer.faceValue, winProb: offer.winProb };
  checkTicket(signed, signature, options); // warm up, and a wrong backend fails here rather than in a request
  const started = now();
  let checks = 0;
  while (checks < maxChecks && now() - started < budgetMs) {
    checkTicket(signed, signature, options);
    checks++;
  }
  const ms = Math.max(now() - started, 1e-3);
  return { secp256k1: backend.name, ticketChecksPerSecond: Math.round((checks * 1000) / ms), checks };
}
