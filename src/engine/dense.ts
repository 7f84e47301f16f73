/**
 * The layers around the recurrent ones, Keras semantics, on flat row-major buffers:
 *
 * - Dense (also Keras `TimeDistributed(Dense)`, and Dense on a 3-d input, which both act on the last axis):
 *   out[r, j] = activation(Σ_i x[r, i]·kernel[i, j] + bias[j]), kernel in Keras layout [inputDim, units].
 * - Activation (Keras `Activation`): a Dense layer without a kernel (`kernel` null), the activation alone.
 * - softmax over the last axis, as tfjs computes it: exp(x - max) / Σ exp(x - max).
 * - Embedding: ids [rows] → table rows [rows, outputDim]; `maskZero` masks id 0.
 *
 * Each optimised kernel has a naive reference beside it in `reference.ts`, held equal by the tests.
 */
import { ACTIVATIONS, type ActivationName } from './activations.js';

export type DenseActivation = ActivationName | 'softmax';

export interface DenseWeights {
  readonly inputDim: number;
  readonly units: number;
  /** Keras layout [inputDim, units]; null for the identity (a Keras Activation layer: units = inputDim, no bias). */
  readonly kernel: Float32Array | null;
  /** [units]; null when the layer has no bias. */
  readonly bias: Float32Array | null;
  readonly activation: DenseActivation;
}

/** In place: each row of `cols` values becomes its softmax. */
export function softmaxRows(x: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.fround(Math.exp(x[o + j] - max));
      x[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < cols; j++) x[o + j] = x[o + j] / sum;
  }
  return x;
}

function activate(out: Float32Array, rows: number, layer: DenseWeights): Float32Array {
  if (layer.activation === 'softmax') return softmaxRows(out, rows, layer.units);
  if (layer.activation === 'linear') return out;
  const f = ACTIVATIONS[layer.activation];
  for (let i = 0; i < out.length; i++) out[i] = f(out[i]);
  return out;
}

/** x [rows, inputDim] → [rows, units]. Row by row, accumulating kernel rows (contiguous in Keras layout). */
export function denseForward(x: Float32Array, rows: number, layer: DenseWeights): Float32Array {
  const { inputDim, units, kernel, bias } = layer;
  if (x.length !== rows * inputDim)
    throw new RangeError(`dense input has ${x.length} values; expected ${rows}·${inputDim}`);
  if (kernel === null) {
    if (units !== inputDim || bias !== null)
      throw new RangeError('an Activation layer keeps its inputDim and has no bias');
    return activate(Float32Array.from(x), rows, layer);
  }
  const out = new Float32Array(rows * units);
  const acc = new Float64Array(units);
  for (let r = 0; r < rows; r++) {
    if (bias === null) acc.fill(0);
    else for (let j = 0; j < units; j++) acc[j] = bias[j];
    for (let i = 0; i < inputDim; i++) {
      const xi = x[r * inputDim + i];
      if (xi === 0) continue;
      const k = i * units;
      for (let j = 0; j < units; j++) acc[j] += xi * kernel[k + j];
    }
    for (let j = 0; j < units; j++) out[r * units + j] = acc[j];
  }
  return activate(out, rows, layer);
}

export interface EmbeddingWeights {
  readonly inputDim: number;
  readonly outputDim: number;
  /** [inputDim, outputDim]: row k is the vector of id k. */
  readonly embeddings: Float32Array;
  readonly maskZero: boolean;
}

/** ids [rows] (integers in [0, inputDim)) → [rows, outputDim]; throws RangeError naming the first bad id. */
export function embeddingLookup(ids: Float32Array, layer: EmbeddingWeights): Float32Array {
  const { inputDim, outputDim, embeddings } = layer;
  const out = new Float32Array(ids.length * outputDim);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!Number.isInteger(id) || id < 0 || id >= inputDim)
      throw new RangeError(`id ${id} at position ${r} is not an integer in [0, ${inputDim})`);
    out.set(embeddings.subarray(id * outputDim, (id + 1) * outputDim), r * outputDim);
  }
  return out;
}

/** Keras Masking: [batch, time] with 0 where every feature of a step equals `maskValue`, 1 elsewhere. */
export function maskFromValue(
  inputs: Float32Array,
  batch: number,
  time: number,
  features: number,
  maskValue: number,
): Uint8Array {
  const mask = new Uint8Array(batch * time);
  for (let s = 0; s < batch * time; s++) {
    for (let f = 0; f < features; f++) {
      if (inputs[s * features + f] !== maskValue) {
        mask[s] = 1;
        break;
      }
    }
  }
  return mask;
}
