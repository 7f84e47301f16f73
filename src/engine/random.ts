/**
 * Alea pseudo-random number generator (Johannes Baagøe, 2010), reproducing
 * the `alea` generator of the `seedrandom` 3.x package output for output.
 *
 * Why we need it: @tensorflow/tfjs seeds every random op (randomUniform,
 * randomNormal, ...) with `seedrandom.alea(String(seed))`. To reproduce tfjs
 * initializers bit for bit without depending on tfjs or seedrandom at run
 * time, we re-implement the generator here from the published algorithm.
 *
 * Algorithm summary:
 * - State: three fractions s0, s1, s2 in [0, 1) and an integer carry c.
 * - Step: t = 2091639 * s0 + c * 2^-32; shift s0 <- s1 <- s2; the new carry is
 *   the integer part of t (t | 0) and the new s2 (the returned value) is the
 *   fractional part t - c. It is a lag-3 multiply-with-carry generator whose
 *   state lives in doubles, so every operation below must stay in double
 *   precision exactly as written (no Math.fround, no reordering).
 * - Seeding: each state word starts at mash(' ') and has mash(seed) subtracted
 *   (wrapping into [0, 1)); the carry starts at 1. `mash` is a stateful string
 *   hash whose accumulator carries over between calls, so the call order
 *   (three times ' ', then three times the seed) is part of the algorithm.
 */

/** 2^-32: scales a 32-bit unsigned integer into [0, 1). */
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

/** 2^32: scales a fraction in [0, 1) back up to 32 bits. */
const TWO_POW_32 = 0x100000000;

/** Alea's multiplier for the multiply-with-carry step. */
const ALEA_MULTIPLIER = 2091639;

/** Baagøe's Mash constant, the initial value of the hash accumulator. */
const MASH_INITIAL_STATE = 0xefc8249d;

/** Baagøe's Mash multiplier. */
const MASH_MULTIPLIER = 0.02519603282416938;

/**
 * Creates a Mash hash function. The returned function maps a string to a
 * number in [0, 1), and its internal accumulator persists between calls: the
 * result of a call depends on every string hashed before it by the same
 * instance.
 */
function createMash(): (data: string) => number {
  // The accumulator is a double holding up to ~2^32 + fraction; the
  // `>>> 0` steps below take its integer part modulo 2^32.
  let n = MASH_INITIAL_STATE;
  return (data: string): number => {
    // Iterates over UTF-16 code units (charCodeAt), as the reference does;
    // do not switch to code points (for...of) or non-BMP seeds would differ.
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = MASH_MULTIPLIER * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * TWO_POW_32;
    }
    return (n >>> 0) * TWO_POW_MINUS_32;
  };
}

/**
 * Returns a seeded Alea generator: each call yields the next number in
 * [0, 1), identical to `require('seedrandom').alea(seed)()` (seedrandom 3.0.5)
 * for the same seed string.
 *
 * The seed is a string because that is what tfjs passes (it converts numeric
 * seeds with `toString()`); callers must perform that conversion themselves so
 * the exact string used is visible at the call site.
 */
export function alea(seed: string): () => number {
  const mash = createMash();

  // Each state word is mash(' ') - mash(seed), wrapped into [0, 1). The
  // reference interleaves the calls as: mash(' ') x3, then for each word
  // mash(seed); we keep that exact order because mash is stateful.
  let s0 = mash(' ');
  let s1 = mash(' ');
  let s2 = mash(' ');
  s0 -= mash(seed);
  if (s0 < 0) s0 += 1;
  s1 -= mash(seed);
  if (s1 < 0) s1 += 1;
  s2 -= mash(seed);
  if (s2 < 0) s2 += 1;
  let carry = 1;

  return (): number => {
    const t = ALEA_MULTIPLIER * s0 + carry * TWO_POW_MINUS_32;
    s0 = s1;
    s1 = s2;
    // `t | 0` truncates to a signed 32-bit integer; t is always in
    // [0, 2091640) so this is simply its integer part.
    carry = t | 0;
    s2 = t - carry;
    return s2;
  };
}
