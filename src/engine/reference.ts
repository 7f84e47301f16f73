/**
 * The naive reference SimpleRNN: one output element at a time, straight from the formula
 *   h_t[j] = tanh(b[j] + Σ_i x_t[i]·W[i][j] + Σ_k h_{t-1}[k]·U[k][j])
 * It is slow on purpose and exists so the tests can hold the fast path (`simple-rnn.ts`) equal to it.
 * Same layouts and float32 semantics as the fast path (see there).
 */
import { checkForwardArguments, type Shape3, type SimpleRnnResult, type SimpleRnnWeights } from './simple-rnn.js';

export function simpleRnnForwardReference(
  inputs: Float32Array,
  shape: Shape3,
  weights: SimpleRnnWeights,
  initialState: Float32Array | null = null,
): SimpleRnnResult {
  checkForwardArguments(inputs, shape, weights, initialState);
  const [batch, time, inputDim] = shape;
  const { hiddenSize, kernel, recurrentKernel, bias } = weights;
  const outputs = new Float32Array(batch * time * hiddenSize);
  const states = new Float32Array(batch * hiddenSize);
  for (let b = 0; b < batch; b++) {
    let h = new Float32Array(hiddenSize);
    if (initialState !== null) h.set(initialState.subarray(b * hiddenSize, (b + 1) * hiddenSize));
    for (let t = 0; t < time; t++) {
      const next = new Float32Array(hiddenSize);
      for (let j = 0; j < hiddenSize; j++) {
        let z = bias[j];
        for (let i = 0; i < inputDim; i++) z += inputs[(b * time + t) * inputDim + i] * kernel[i * hiddenSize + j];
        for (let k = 0; k < hiddenSize; k++) z += h[k] * recurrentKernel[k * hiddenSize + j];
        next[j] = Math.tanh(z);
      }
      outputs.set(next, (b * time + t) * hiddenSize);
      h = next;
    }
    states.set(h, b * hiddenSize);
  }
  return { outputs, states };
}
