import type { Address } from "viem";
import { ticketParams } from "../../protocol/ticketParams.ts";
import { WIRE_VERSION, type Offer, type Service } from "../../protocol/wire.ts";

/** The operator's pricing choices from which the offered ticket terms follow. */
export type OfferTerms = {
  recipient: Address;
  chainId: number;
  broker: Address;
  pricePerGiB: bigint;
  bytesPerTicket: bigint;
  /** Target face value; raised to the ticket's value when that is larger (ticketParams). */
  faceValue: bigint;
  creditWindowBytes: bigint;
  ticketExpirySeconds: number;
  services: Service[];
};

/**
 * Builds the `GET /offer` document: faceValue and winProb from ticketParams, and a minimum
 * deposit of two face values (one winner being redeemed while the next is in flight).
 */
export function buildOffer(t: OfferTerms): Offer {
  const { faceValue, winProb, expectedValue } = ticketParams(t);
  return {
    version: WIRE_VERSION,
    recipient: t.recipient,
    chainId: t.chainId,
    broker: t.broker,
    pricePerGiB: t.pricePerGiB,
    bytesPerTicket: t.bytesPerTicket,
    faceValue,
    winProb,
    expectedValue,
    creditWindowBytes: t.creditWindowBytes,
    ticketExpirySeconds: t.ticketExpirySeconds,
    minDeposit: 2n * faceValue,
    services: t.services,
  };
}
