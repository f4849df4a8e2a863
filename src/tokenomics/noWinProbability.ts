import { MAX_WIN_PROB } from "../protocol/ticket.ts";
import { ticketParams } from "../protocol/ticketParams.ts";

/**
 * Probability that a provider moving `bytes` in a period sees no winning ticket in it:
 * (1 - p)^n with n = bytes / bytesPerTicket tickets and p = winProb / 2^256 ≈ ev / faceValue,
 * with winProb from the protocol's own `ticketParams` (docs/PROTOCOL.md "Ticket parameters from
 * a price"), so the simulator prices tickets exactly as nodes do.
 * A probability, so a number; computed as exp(n · log1p(-p)) to stay accurate for tiny p.
 */
export function noWinProbability({ bytes, pricePerGiB, bytesPerTicket, faceValue }: { bytes: number; pricePerGiB: bigint; bytesPerTicket: bigint; faceValue: bigint }): number {
  if (bytes <= 0 || pricePerGiB <= 0n) return 1;
  const { winProb } = ticketParams({ pricePerGiB, bytesPerTicket, faceValue });
  if (winProb === MAX_WIN_PROB) return 0; // face value raised to the ticket's value: every ticket wins
  const p = Number(winProb) / 2 ** 256;
  const n = Math.floor(bytes / Number(bytesPerTicket));
  return Math.exp(n * Math.log1p(-p));
}
