/**
 * Parses a non-negative decimal (`"1.5"`, `"2e6"`, `0.001`) into an integer number of
 * 10^-decimals units, exactly: no floating point touches the value. Returns undefined when the
 * text is not a decimal or has more fractional digits than `decimals` can hold.
 *
 * Numbers are accepted because YAML turns `0.5` into one; `String(n)` of a JS number is its
 * shortest round-trip decimal, so `0.1` becomes exactly 10^(decimals-1) units, not 0.1000000000000000055.
 */
export function parseDecimal(value: string | number, decimals: number): bigint | undefined {
  let text = typeof value === "number" ? String(value) : value.trim().replaceAll("_", "");
  if (text.startsWith(".")) text = `0${text}`;
  const match = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) return undefined;
  const [, intPart = "", fracPart = "", expPart = "0"] = match;
  const exponent = Number(expPart) + decimals;
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, "");
  const shift = exponent - fracPart.length;
  if (shift >= 0) return BigInt(digits) * 10n ** BigInt(shift);
  const cut = digits.length + shift;
  const kept = cut > 0 ? digits.slice(0, cut) : "0";
  const dropped = cut > 0 ? digits.slice(cut) : digits;
  if (/[^0]/.test(dropped)) return undefined;
  return BigInt(kept);
}

/** Formats an integer amount of 10^-decimals units as a decimal with at most `maxFraction` digits (rounded down). */
export function formatUnits(amount: bigint, decimals: number, maxFraction = 2): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const unit = 10n ** BigInt(decimals);
  const whole = (abs / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = (abs % unit).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}
