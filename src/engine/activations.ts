/**
 * The activations a SimpleRNN layer may use, defined as TF.js 4.22 defines them (tfjs-layers
 * `activations.ts` and the CPU kernels behind it). Each maps a float64 pre-activation to its value; the
 * caller rounds the result to float32.
 */

export const ACTIVATION_NAMES = [
  'tanh',
  'relu',
  'sigmoid',
  'hardSigmoid',
  'linear',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'relu6',
] as const;

export type ActivationName = (typeof ACTIVATION_NAMES)[number];

export const DEFAULT_ACTIVATION: ActivationName = 'tanh';

/** SELU constants (Klambauer et al. 2017), as tfjs-core `selu_util.ts` has them. */
// biome-ignore lint/correctness/noPrecisionLoss: copied digit for digit from tfjs-core; the double is the same
const SELU_ALPHA = 1.6732632423543772848170429916717;
// biome-ignore lint/correctness/noPrecisionLoss: as above
const SELU_SCALE = 1.0507009873554804934193349852946;

/** tfjs's softplus switches to x or exp(x) where log(1 + exp(x)) is within float32 epsilon of them. */
const SOFTPLUS_THRESHOLD = Math.log(1.1920928955078125e-7) + 2.0;

function softplus(x: number): number {
  if (x < SOFTPLUS_THRESHOLD) return Math.exp(x);
  if (x > -SOFTPLUS_THRESHOLD) return x;
  return Math.log(1.0 + Math.exp(x));
}

/** A named function, so that the gated cells' fast paths can call it directly (and V8 inline it). */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export const ACTIVATIONS: Readonly<Record<ActivationName, (x: number) => number>> = {
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  sigmoid,
  // Porting note: TF.js (and Keras 2) use 0.2·x + 0.5 clipped to [0, 1]; Keras 3 changed hard_sigmoid to
  // relu6(x + 3) / 6 (slope 1/6). We follow TF.js, so a Keras 3 model using it needs the Keras 2 form.
  hardSigmoid: (x) => Math.min(1, Math.max(0, 0.5 + 0.2 * x)),
  linear: (x) => x,
  elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
  selu: (x) => (x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * (Math.exp(x) - 1)),
  softplus,
  softsign: (x) => x / (Math.abs(x) + 1),
  relu6: (x) => Math.min(6, x > 0 ? x : 0),
};

/** tanh through e^(2x) = 2^(n/64)·e^r: n = round(2x·64/ln 2), |r| ≤ ln 2/128, ln 2/64 split in two parts. */
const LN2_OVER_64_HI = 0.6931471803691238 / 64;
const LN2_OVER_64_LO = 1.9082149292705877e-10 / 64;
const SIXTY_FOUR_OVER_LN2 = 64 / Math.LN2;
/** 2^(j/64), j = 0 … 63. */
const EXP2_SIXTY_FOURTHS = Float64Array.from({ length: 64 }, (_, j) => 2 ** (j / 64));
/** 2^(k - 32), k = 0 … 63: the power of two 2^⌊n/64⌋ for |n| < 2048. */
const EXP2_INTEGER = Float64Array.from({ length: 64 }, (_, k) => 2 ** (k - 32));
/** Adding and subtracting 1.5·2^52 rounds a double below 2^51 to the nearest integer, without a branch. */
const ROUND_TO_INTEGER = 6755399441055744;
/**
 * The approximation's relative error bound that the float32 check below relies on. The measured worst case
 * is ~4e-15 (test/engine/activations.test.ts), so the bound has a margin of over 1000×. The price of the
 * check is a Math.tanh call for about one value in 3,000 (those within 1e-11 of a float32 rounding tie).
 */
const TANH_RELATIVE_ERROR_BOUND = 1e-11;
/** Beyond ±9.5, tanh is within 2^-27 of ±1, so its float32 rounding is ±1. */
const TANH_SATURATES = 9.5;

/**
 * tanh for a caller that rounds the result to float32: a value whose float32 rounding is exactly that of
 * `Math.tanh(x)` (so the fast path stays bit for bit equal to the reference), about 2.5× faster on the
 * pre-activations of an RNN (~8 ns). V8's Math.tanh (fdlibm) costs ~20 ns there, mostly in mispredicted branches
 * on the range of x; this has no data-dependent branch in the common case.
 *
 * tanh(x) = (e^(2x) - 1) / (e^(2x) + 1), with e^(2x) - 1 = (s - 1) + s·(e^r - 1), s = 2^(n/64) from two
 * tables and e^r - 1 a degree-6 Taylor polynomial (|r| ≤ 0.0055, truncation < 1e-17). For n = 0 (|x| <
 * 0.0028) s - 1 is exactly 0, so small x keep their full relative precision. The result y is within
 * TANH_RELATIVE_ERROR_BOUND of tanh(x) relative, so when y·(1 ± bound) round to the same float32, so does
 * Math.tanh(x) (float32 rounding is monotonic); otherwise, and for ±0 (whose sign must survive), it asks
 * Math.tanh.
 *
 * Fast path of: Math.fround(Math.tanh(x)). test/engine/activations.test.ts holds the two equal.
 */
export function tanhToFloat32(x: number): number {
  if (!(x > -TANH_SATURATES && x < TANH_SATURATES)) return x >= TANH_SATURATES ? 1 : x <= -TANH_SATURATES ? -1 : x;
  const t = 2 * x;
  const nd = t * SIXTY_FOUR_OVER_LN2 + ROUND_TO_INTEGER - ROUND_TO_INTEGER;
  const n = nd | 0; // |n| ≤ 1756
  const r = t - nd * LN2_OVER_64_HI - nd * LN2_OVER_64_LO;
  const r2 = r * r;
  const expm1r = r + r2 * (0.5 + r * (1 / 6) + r2 * (1 / 24 + r * (1 / 120) + r2 * (1 / 720)));
  const s = EXP2_INTEGER[(n >> 6) + 32] * EXP2_SIXTY_FOURTHS[n & 63];
  const em1 = s - 1 + s * expm1r;
  const y = em1 / (em1 + 2);
  if (
    Math.fround(y * (1 + TANH_RELATIVE_ERROR_BOUND)) !== Math.fround(y * (1 - TANH_RELATIVE_ERROR_BOUND)) ||
    y === 0
  ) {
    return Math.tanh(x);
  }
  return y;
}

/**
 * The activations for a caller that rounds each result to float32 at once (the fast paths): the same
 * float32 results as ACTIVATIONS, bit for bit, some computed faster.
 */
export const FLOAT32_ACTIVATIONS: Readonly<Record<ActivationName, (x: number) => number>> = {
  ...ACTIVATIONS,
  tanh: tanhToFloat32,
};
