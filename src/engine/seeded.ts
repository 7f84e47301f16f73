/**
 * Seeded weights: a public, stable contract. For seed s, layer k (0-based) and direction d (0 forward,
 * 1 backward) of a network, with that layer's inputDim and hiddenSize:
 *   kernel          = tfjs glorotUniform({seed: s + 4k + 2d})      [inputDim, hiddenSize]
 *   recurrentKernel = tfjs orthogonal({seed: s + 4k + 2d + 1})     [hiddenSize, hiddenSize]
 *   bias            = zeros                                         [hiddenSize]
 * bit for bit as @tensorflow/tfjs 4.22 computes them, so anyone can rebuild the model in TF.js. The
 * single-layer model is k = 0, d = 0: glorotUniform(s) and orthogonal(s + 1).
 */
import { glorotUniform, orthogonal } from './initializers.js';
import { layerDirections, type NetworkSpec, type NetworkWeights, outputFeatures } from './network.js';
import type { SimpleRnnWeights } from './simple-rnn.js';

/** The seed of layer k, direction d's kernel; its recurrent kernel uses the next integer. */
export function kernelSeed(seed: number, layer: number, direction: number): number {
  return seed + 4 * layer + 2 * direction;
}

export function seededWeights(seed: number, inputDim: number, hiddenSize: number): SimpleRnnWeights {
  return {
    inputDim,
    hiddenSize,
    kernel: glorotUniform(seed, [inputDim, hiddenSize]),
    recurrentKernel: orthogonal(seed + 1, [hiddenSize, hiddenSize]),
    bias: new Float32Array(hiddenSize),
  };
}

export function seededNetworkWeights(seed: number, spec: NetworkSpec, inputDim: number): NetworkWeights {
  const weights: SimpleRnnWeights[][] = [];
  let layerInput = inputDim;
  spec.layers.forEach((layer, k) => {
    const directions: SimpleRnnWeights[] = [];
    for (let d = 0; d < layerDirections(spec, k); d++)
      directions.push(seededWeights(kernelSeed(seed, k, d), layerInput, layer.hiddenSize));
    weights.push(directions);
    layerInput = outputFeatures(spec, k);
  });
  return weights;
}
