import { TicketParamsError } from "./errors.ts";
import { MAX_UINT256, MAX_WIN_PROB } from "./ticket.ts";

/** Bytes in a GiB: prices are quoted in wei per 2^30 bytes. */
export const GIB = 2n ** 30n;
const TWO_256 = 2n ** 256n;

/** Price in wei of `bytes` at `pricePerGiB`, rounded up (the provider is never underpaid). */
export function priceOfBytes(pricePerGiB: bigint, bytes: bigint): bigint {
  if (pricePerGiB < 0n) throw new TicketParamsError({ field: "pricePerGiB", value: pricePerGiB, reason: "must not be negative" });
  if (bytes < 0n) throw new TicketParamsError({ field: "bytes", value: bytes, reason: "must not be negative" });
  return ceilDiv(pricePerGiB * bytes, GIB);
}

/** Inputs of ticketParams: the agreed price, how many bytes each ticket pays for, the target face value. */
export type TicketParamsParameters = { pricePerGiB: bigint; bytesPerTicket: bigint; faceValue: bigint };
/**
 * Terms of each ticket: the (possibly raised) face value, the win threshold, and the value each
 * ticket carries (`priceOfBytes(pricePerGiB, bytesPerTicket)`), which the node credits per ticket.
 */
export type TicketParams = { faceValue: bigint; winProb: bigint; expectedValue: bigint };

/**
 * Ticket terms from a price (docs/PROTOCOL.md "Ticket parameters from a price"):
 * ev = ceil(pricePerGiB · bytesPerTicket / 2^30), winProb = ceil(ev · 2^256 / faceValue) capped at
 * 2^256 - 1; if ev > faceValue the face value is raised to ev and winProb is 2^256 - 1.
 *
 * Both roundings are up, in the provider's favour: the ticket's true expected value
 * faceValue · winProb / 2^256 is at least the exact price of the bytes (except at the cap, where
 * it falls short by faceValue / 2^256 wei, less than one wei) and exceeds it by less than
 * 1 wei + faceValue / 2^256. Throws TicketParamsError for zero, negative or overflowing inputs.
 */
export function ticketParams({ pricePerGiB, bytesPerTicket, faceValue }: TicketParamsParameters): TicketParams {
  positive("pricePerGiB", pricePerGiB);
  positive("bytesPerTicket", bytesPerTicket);
  positive("faceValue", faceValue);
  if (faceValue > MAX_UINT256) throw new TicketParamsError({ field: "faceValue", value: faceValue, reason: "exceeds uint256" });
  const ev = priceOfBytes(pricePerGiB, bytesPerTicket);
  if (ev > MAX_UINT256) {
    throw new TicketParamsError({ field: "bytesPerTicket", value: bytesPerTicket, reason: `the price of one ticket (${ev}) exceeds uint256` });
  }
  if (ev >= faceValue) {
    // ev == faceValue also lands here: ceil(2^256) would be capped to the same threshold anyway.
    return { faceValue: ev, winProb: MAX_WIN_PROB, expectedValue: ev };
  }
  const winProb = ceilDiv(ev * TWO_256, faceValue);
  return { faceValue, winProb: winProb > MAX_WIN_PROB ? MAX_WIN_PROB : winProb, expectedValue: ev };
}

function positive(field: string, value: bigint): void {
  if (typeof value !== "bigint") throw new TicketParamsError({ field, value: 0n, reason: `must be a bigint, got ${typeof value}` });
  if (value <= 0n) throw new TicketParamsError({ field, value, reason: "must be positive" });
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}
