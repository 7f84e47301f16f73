/**
 * The naive references, kept out of the engine's barrel (`index.ts`): the tests hold the fast kernels equal to
 * them. The SimpleRNN layer: one output element at a time, straight from the formula
 *   h_t[j] = act(clip(b[j] + Σ_i x_t[i]·W[i][j] + Σ_k h_{t-1}[k]·U[k][j]))
 * with the masking rules written out step by step. It is slow on purpose and exists so the tests can hold
 * the fast path (`simple-rnn.ts`) equal to it. Same layouts, options and float32 semantics (see there).
 */
import { ACTIVATIONS, type ActivationName, DEFAULT_ACTIVATION } from './activations.js';
import type { DenseWeights } from './dense.js';
import {
  checkForwardArguments,
  type Shape3,
  type SimpleRnnOptions,
  type SimpleRnnResult,
  type SimpleRnnWeights,
} from './simple-rnn.js';

export function simpleRnnForwardReference(
  inputs: Float32Array,
  shape: Shape3,
  weights: SimpleRnnWeights,
  options: SimpleRnnOptions = {},
): SimpleRnnResult {
  checkForwardArguments(inputs, shape, weights, options);
  const [batch, time, inputDim] = shape;
  const { hiddenSize, kernel, recurrentKernel, bias } = weights;
  const act = ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const outputs = new Float32Array(batch * time * hiddenSize);
  const states = new Float32Array(batch * hiddenSize);
  for (let b = 0; b < batch; b++) {
    let h: Float32Array = new Float32Array(hiddenSize);
    if (options.initialState) h.set(options.initialState.subarray(b * hiddenSize, (b + 1) * hiddenSize));
    for (let p = 0; p < time; p++) {
      const t = options.goBackwards ? time - 1 - p : p;
      const valid = !options.mask || options.mask[b * time + t] === 1;
      let out: Float32Array;
      if (valid) {
        out = new Float32Array(hiddenSize);
        for (let j = 0; j < hiddenSize; j++) {
          let z = bias[j];
          for (let i = 0; i < inputDim; i++) z += inputs[(b * time + t) * inputDim + i] * kernel[i * hiddenSize + j];
          for (let k = 0; k < hiddenSize; k++) z += h[k] * recurrentKernel[k * hiddenSize + j];
          out[j] = act(Math.min(clip, Math.max(-clip, z)));
        }
        h = out;
      } else {
        out = options.zeroOutputForMask ? new Float32Array(hiddenSize) : h;
      }
      outputs.set(out, (b * time + p) * hiddenSize);
    }
    states.set(h, b * hiddenSize);
  }
  return { outputs, states };
}

/** The definition, one output at a time: the reference denseForward is held to. */
export function denseReference(x: Float32Array, rows: number, layer: DenseWeights): Float32Array {
  const { inputDim, units, kernel, bias } = layer;
  const out = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      let sum = bias === null ? 0 : bias[j];
      if (kernel === null) sum += x[r * inputDim + j];
      else for (let i = 0; i < inputDim; i++) sum += x[r * inputDim + i] * kernel[i * units + j];
      out[r * units + j] = sum;
    }
  }
  if (layer.activation === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const row = Array.from(out.subarray(r * units, (r + 1) * units));
      const max = Math.max(...row);
      const exps = row.map((v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, j) => (out[r * units + j] = e / total));
    }
    return out;
  }
  return out.map((v) => ACTIVATIONS[layer.activation as ActivationName](v));
}
