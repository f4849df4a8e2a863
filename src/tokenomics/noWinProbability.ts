const GIB = 1n << 30n;

/**
 * Probability that a provider moving `bytes` in a period sees no winning ticket in it:
 * (1 - p)^n with n = bytes / bytesPerTicket tickets and p = winProb / 2^256 ≈ ev / faceValue,
 * where ev = ceil(pricePerGiB x bytesPerTicket / 2^30) is the value each ticket must carry
 * (docs/PROTOCOL.md "Ticket parameters from a price"; rounding up as the protocol does).
 * A probability, so a number; computed as exp(n · log1p(-p)) to stay accurate for tiny p.
 */
export function noWinProbability({ bytes, pricePerGiB, bytesPerTicket, faceValue }: { bytes: number; pricePerGiB: bigint; bytesPerTicket: bigint; faceValue: bigint }): number {
  if (bytes <= 0 || pricePerGiB <= 0n) return 1;
  const ev = (pricePerGiB * bytesPerTicket + GIB - 1n) / GIB;
  if (ev >= faceValue) return 0; // face value raised to ev: every ticket wins
  const p = Number(ev) / Number(faceValue);
  const n = Math.floor(bytes / Number(bytesPerTicket));
  return Math.exp(n * Math.log1p(-p));
}
