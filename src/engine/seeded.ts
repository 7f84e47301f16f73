/**
 * Seeded weights: a public, stable contract. For seed s, layer k (0-based) and direction d (0 forward,
 * 1 backward) of a network, with that layer's inputDim, hiddenSize h and cell of G gates (cells.ts: 1 for
 * SimpleRNN, 4 for LSTM, 3 for GRU):
 *   kernel          = tfjs glorotUniform({seed: s + 4k + 2d})      [inputDim, G·h]   (the whole matrix at once)
 *   recurrentKernel = tfjs orthogonal({seed: s + 4k + 2d + 1})     [h, G·h]
 *   bias            = zeros                                         [G·h], or [2, 3·h] for a GRU with resetAfter
 *                     except an LSTM's forget-gate quarter (elements h … 2h-1) = 1 when unitForgetBias
 *                     (default true) and the layer has a bias
 * bit for bit as @tensorflow/tfjs 4.22 computes them, so anyone can rebuild the model in TF.js. The
 * single-layer model is k = 0, d = 0: glorotUniform(s) and orthogonal(s + 1).
 */
import { biasLength, type CellSpec, cellOf, DEFAULT_UNIT_FORGET_BIAS, gateCount } from './cells.js';
import { glorotUniform, orthogonal } from './initializers.js';
import { layerDirections, type NetworkSpec, type NetworkWeights, outputFeatures } from './network.js';
import type { SimpleRnnWeights } from './simple-rnn.js';

/** The seed of layer k, direction d's kernel; its recurrent kernel uses the next integer. */
export function kernelSeed(seed: number, layer: number, direction: number): number {
  return seed + 4 * layer + 2 * direction;
}

/** One layer and direction's weights; `layer` gives the cell (default SimpleRNN) and whether it has a bias. */
export function seededWeights(
  seed: number,
  inputDim: number,
  hiddenSize: number,
  layer: CellSpec & { readonly useBias?: boolean } = {},
): SimpleRnnWeights {
  const cell = cellOf(layer);
  const columns = gateCount(cell) * hiddenSize;
  const bias = new Float32Array(biasLength(cell, hiddenSize, layer.resetAfter));
  if (cell === 'lstm' && (layer.unitForgetBias ?? DEFAULT_UNIT_FORGET_BIAS) && (layer.useBias ?? true))
    bias.fill(1, hiddenSize, 2 * hiddenSize);
  return {
    inputDim,
    hiddenSize,
    kernel: glorotUniform(seed, [inputDim, columns]),
    recurrentKernel: orthogonal(seed + 1, [hiddenSize, columns]),
    bias,
  };
}

export function seededNetworkWeights(seed: number, spec: NetworkSpec, inputDim: number): NetworkWeights {
  const weights: SimpleRnnWeights[][] = [];
  let layerInput = inputDim;
  spec.layers.forEach((layer, k) => {
    const directions: SimpleRnnWeights[] = [];
    for (let d = 0; d < layerDirections(spec, k); d++)
      directions.push(seededWeights(kernelSeed(seed, k, d), layerInput, layer.hiddenSize, layer));
    weights.push(directions);
    layerInput = outputFeatures(spec, k);
  });
  return weights;
}
