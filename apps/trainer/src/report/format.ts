// Number formatting shared by the report table and the findings text; missing values print as "n/a".

/**
 * Fixed decimals, or "n/a" for undefined/NaN/±∞.
 * @example fixed(0.12345, 3); // "0.123"
 */
export function fixed(x: number | undefined, digits: number): string {
  return x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

/**
 * Three significant digits, switching to exponent notation outside [1e-3, 1e4); "n/a" when missing.
 * @example sig(0.000123); // "1.23e-4"
 */
export function sig(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e4) return x.toExponential(2).replace("e+", "e");
  return String(Number(x.toPrecision(3)));
}

/**
 * Signed fixed decimals, e.g. for changes: "+0.52", "−0.10".
 * @example signed(-0.1, 2); // "-0.10"
 */
export function signed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return (x >= 0 ? "+" : "") + x.toFixed(digits);
}

/** β as the shortest exact decimal the user typed: 0, 0.1, 2. */
export function betaLabel(beta: number): string {
  return String(beta);
}
