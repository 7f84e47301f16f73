/**
 * Seeded weights: a public, stable contract. For seed s, a SimpleRNN of `inputDim → hiddenSize` has
 *   kernel          = tfjs glorotUniform({seed: s})     [inputDim, hiddenSize]
 *   recurrentKernel = tfjs orthogonal({seed: s + 1})    [hiddenSize, hiddenSize]
 *   bias            = zeros                              [hiddenSize]
 * bit for bit as @tensorflow/tfjs 4.22 computes them, so anyone can rebuild the model in TF.js.
 */
import { glorotUniform, orthogonal } from './initializers.js';
import type { SimpleRnnWeights } from './simple-rnn.js';

export function seededWeights(seed: number, inputDim: number, hiddenSize: number): SimpleRnnWeights {
  return {
    inputDim,
    hiddenSize,
    kernel: glorotUniform(seed, [inputDim, hiddenSize]),
    recurrentKernel: orthogonal(seed + 1, [hiddenSize, hiddenSize]),
    bias: new Float32Array(hiddenSize),
  };
}
