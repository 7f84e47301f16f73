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
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** tfjs's softplus switches to x or exp(x) where log(1 + exp(x)) is within float32 epsilon of them. */
const SOFTPLUS_THRESHOLD = Math.log(1.1920928955078125e-7) + 2.0;

function softplus(x: number): number {
  if (x < SOFTPLUS_THRESHOLD) return Math.exp(x);
  if (x > -SOFTPLUS_THRESHOLD) return x;
  return Math.log(1.0 + Math.exp(x));
}

export const ACTIVATIONS: Readonly<Record<ActivationName, (x: number) => number>> = {
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
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
