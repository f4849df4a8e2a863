import { BaseError } from "./errors.ts";

// The one parser of human token amounts, shared by the node config, the client config and the CLI.
// Strict on purpose: no sign, exponent, separators or bare dot. A typo in an amount of money should
// be an error, not a guess; and no floating point anywhere (0.1 + 0.2 must be 0.3).

/** Decimals of BandToken (ERC-20 default); human amounts are in whole tokens. */
export const TOKEN_DECIMALS = 18;
/** The token's symbol, accepted as an optional unit suffix ("12.5 BAND"). */
export const TOKEN_SYMBOL = "BAND";

const MAX_UINT256 = 2n ** 256n - 1n;
const AMOUNT_RE = /^(\d+)(?:\.(\d+))?(?:\s*BAND)?$/i;

/** A token amount given by a user is not an exact decimal amount. */
export class InvalidAmountError extends BaseError {
  override name = "InvalidAmountError";
  input: string;
  reason: string;
  constructor(input: string, reason: string) {
    super(`Invalid amount "${input}": ${reason}.`);
    this.input = input;
    this.reason = reason;
  }
}

/**
 * Parses a decimal token string ("12.5", "12.5 BAND", "12.5BAND") into base units (wei) exactly.
 * Throws InvalidAmountError for malformed input, more fraction digits than `decimals`, or > uint256.
 */
export function parseTokenAmount(input: string, decimals: number = TOKEN_DECIMALS): bigint {
  if (typeof input !== "string") throw new InvalidAmountError(String(input), "must be a string");
  const match = AMOUNT_RE.exec(input.trim());
  if (match === null) {
    throw new InvalidAmountError(input, `expected a decimal number of tokens such as 12, 12.5 or "12.5 ${TOKEN_SYMBOL}"`);
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
