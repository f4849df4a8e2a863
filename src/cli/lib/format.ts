import { formatUnits } from "viem";

/** Token amount (wei) as a decimal string with the token's 18 decimals, for people. */
export function formatToken(wei: bigint, symbol = "BAND"): string {
  return `${formatUnits(wei, 18)} ${symbol}`;
}

/** Byte count in binary units (KiB, MiB, ...), one decimal, for people. */
export function formatBytes(bytes: bigint): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = Number(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
