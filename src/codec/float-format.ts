/**
 * Shortest round-trip decimal text of a float32, fast: the digits every float32 client reads back as the
 * same float32 (what NumPy and Keras print), without the generic double-to-string conversion.
 *
 * For p = 1..9 significant digits the candidate is m·10^-k with m = round(|x|·10^k); it is right when it
 * reads back (Math.fround) as x. Round-tripping is
 * monotone in p (if p digits read back, p + 1 do) and 9 always do, so the first p that works is the
 * shortest. Outside the exponents where 10^k is an exact double the slow, obviously right path is used.
 */

/** 10^k for k in 0 … 22: the powers of ten a double holds exactly (the JSON writer uses them too). */
export const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** 10^e for e in [-EXPONENT_BIAS, EXPONENT_BIAS] at [e + EXPONENT_BIAS], as `10 ** e` gives it. */
const EXPONENT_BIAS = 50;
const TENS = Array.from({ length: 2 * EXPONENT_BIAS + 1 }, (_, i) => 10 ** (i - EXPONENT_BIAS));
const LOG10_2 = Math.log10(2);
const double = new Float64Array(1);
const words = new Uint32Array(double.buffer);
/** The word of a double holding its sign and exponent: the second on little-endian machines. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The decimal exponent of a positive finite float32: the e with 10^e <= a < 10^(e+1). Estimated from the
 * binary exponent (floor(e2·log10 2) is e or e - 1) and settled against a table, instead of Math.log10 and
 * `10 ** e`, which cost most of the time a hello answer spent writing its twelve numbers.
 */
export function decimalExponent(a: number): number {
  double[0] = a;
  const e2 = ((words[HIGH_WORD] >>> 20) & 0x7ff) - 1023;
  let e = Math.floor(e2 * LOG10_2);
  while (TENS[e + EXPONENT_BIAS] > a) e--;
  while (TENS[e + 1 + EXPONENT_BIAS] <= a) e++;
  return e;
}

/** The slow path: JavaScript's own shortest text of the double nearest the p-digit decimal. */
function slowText(x: number): string {
  for (let p = 1; p < 9; p++) {
    const candidate = Number(x.toPrecision(p));
    if (Math.fround(candidate) === x) return String(candidate);
  }
  return String(Number(x.toPrecision(9)));
}

/**
 * `x` must be a float32 value (e.g. read from a Float32Array). Non-finite values have no JSON text; the
 * callers reject them before writing (422).
 */
export function float32Text(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const negative = x < 0;
  const a = negative ? -x : x;
  const e = decimalExponent(a);
  for (let p = 1; p <= 9; p++) {
    const k = p - 1 - e; // decimals after the point at p significant digits
    if (k > 22 || k < -22) return slowText(x);
    // Division and multiplication by an exact power of ten are correctly rounded: `value` is the double
    // nearest the decimal m·10^-k, exactly what parsing its text gives, so String(value) is that text.
    const m = k >= 0 ? Math.round(a * POW10[k]) : Math.round(a / POW10[-k]);
    const value = k >= 0 ? m / POW10[k] : m * POW10[-k];
    if (Math.fround(value) === a) return String(negative ? -value : value);
  }
  return slowText(x);
}
