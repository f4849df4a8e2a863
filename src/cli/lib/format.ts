import { formatUnits } from "viem";

/** Token amount (wei) as a decimal string with the token's 18 decimals, for people. */
export function formatToken(wei: bigint, symbol = "BAND"): string {
  return `${formatUnits(wei, 18)} ${symbol}`;
}
