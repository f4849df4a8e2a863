import { InvalidAmountError } from "./errors.ts";

/** Decimals of BandToken (ERC-20 default); amounts on the command line are in whole tokens. */
export const TOKEN_DECIMALS = 18;

const MAX_UINT256 = 2n ** 256n - 1n;
// Strict on purpose: no sign, exponent, separators or bare dot. A typo in an amount of money should
// be an error, not a guess.
const AMOUNT_RE = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal token string ("12.5") into base units (wei) exactly, without floating point.
 * Throws InvalidAmountError for malformed input, more fraction digits than `decimals`, or > uint256.
 */
export function parseTokenAmount(input: string, decimals: number = TOKEN_DECIMALS): bigint {
  const text = input.trim();
  const match = AMOUNT_RE.exec(text);
  if (match === null) {
    throw new InvalidAmountError(input, "expected a decimal number of tokens such as 12 or 12.5");
  }
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new InvalidAmountError(input, `at most ${decimals} decimal places (the token's smallest unit)`);
  }
  const value = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (value > MAX_UINT256) throw new InvalidAmountError(input, "larger than the largest on-chain amount (2^256 - 1 wei)");
  return value;
}

/** Formats base units (wei) as a decimal token string with no trailing zeros ("12.5", "0.001"). */
export function formatTokenAmount(value: bigint, decimals: number = TOKEN_DECIMALS): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  const fraction = (abs % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}
