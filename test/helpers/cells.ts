/**
 * One-unit recurrent cells written out from their formulas in plain float64 arithmetic, and small random cases,
 * for the unit tests of src/engine's cells: the fast kernels and the naive references are each held to these
 * within float32 rounding (1e-6), and to each other bit for bit.
 */
import type { RecurrentWeights } from '../../src/engine/cells.js';
import { rng } from './random.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One LSTM unit over scalar inputs: weights [i, f, c, o], returns every h and the last c. */
export function lstmByHand(
  xs: readonly number[],
  w: readonly number[],
  u: readonly number[],
  b: readonly number[],
): { hs: number[]; c: number } {
  let h = 0;
  let c = 0;
  const hs: number[] = [];
  for (const x of xs) {
    const [i, f, g, o] = [0, 1, 2, 3].map((k) => x * w[k] + h * u[k] + b[k]);
    c = sigmoid(f) * c + sigmoid(i) * Math.tanh(g);
    h = sigmoid(o) * Math.tanh(c);
    hs.push(h);
  }
  return { hs, c };
}

/** One GRU unit over scalar inputs: weights [z, r, h]; `b` [3] (reset before) or [6] = [b_in; b_rec] (after). */
export function gruByHand(
  xs: readonly number[],
  w: readonly number[],
  u: readonly number[],
  b: readonly number[],
  resetAfter: boolean,
): number[] {
  let h = 0;
  const hs: number[] = [];
  for (const x of xs) {
    const rec = (k: number) => (resetAfter ? b[3 + k] : 0);
    const z = sigmoid(x * w[0] + b[0] + h * u[0] + rec(0));
    const r = sigmoid(x * w[1] + b[1] + h * u[1] + rec(1));
    const candidate = resetAfter
      ? Math.tanh(x * w[2] + b[2] + r * (h * u[2] + rec(2)))
      : Math.tanh(x * w[2] + b[2] + r * h * u[2]);
    h = z * h + (1 - z) * candidate;
    hs.push(h);
  }
  return hs;
}

/** Random weights of a cell of `gates` blocks (and `biasLength` bias values). */
export function randomWeights(
  seed: number,
  inputDim: number,
  hiddenSize: number,
  gates: number,
  biasLength: number,
): RecurrentWeights {
  const random = rng(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  return {
    inputDim,
    hiddenSize,
    kernel: values(inputDim * gates * hiddenSize),
    recurrentKernel: values(hiddenSize * gates * hiddenSize),
    bias: values(biasLength),
  };
}

/** `n` random values in [-scale, scale). */
export function randomValues(seed: number, n: number, scale = 1): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

export const near = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-6): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) < tolerance);
