/**
 * The naive references of the gated cells, kept out of the engine's barrel like reference.ts: one gate
 * pre-activation at a time, straight from the formulas, with the masking rules written out step by step.
 * Slow on purpose; test/engine/gated-cells.test.ts and test/engine/gated-properties.test.ts hold the fast paths
 * (lstm.ts, gru.ts) equal to them bit for bit.
 *
 * Float semantics (TF.js: float32 tensors, each elementwise op rounded). A gate's pre-activation is summed
 * in float64: its bias, the input terms in feature order, then the recurrent terms in unit order; clipped,
 * activated and rounded once to float32. Every elementwise product and sum after that is rounded to float32,
 * as TF.js's tensor ops round it:
 *
 *   LSTM  i, f, o = ract(z_i, z_f, z_o), g = act(z_c)
 *         c' = f·c + i·g            (f·c and i·g rounded, then their sum)
 *         h' = o·act(c')            (act(c') rounded, then the product)
 *   GRU   z, r = ract(z_z, z_r)
 *         resetAfter false: h̃ = act(b_h + Σ x·W_h + Σ (r⊙h)·U_h), r⊙h rounded first (TF.js)
 *         resetAfter true:  h̃ = act(ax_h + r·ah_h) with ax = b_in + Σ x·W and ah = b_rec + Σ h·U (float64),
 *                           and z, r from ax + ah (Keras 3, PyTorch)
 *         h' = z·h + (1 - z)·h̃      (each product and 1 - z rounded, then the sum)
 */
import { ACTIVATIONS, DEFAULT_ACTIVATION } from './activations.js';
import {
  checkGatedArguments,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  type GatedResult,
  type GruOptions,
  type LstmOptions,
  type LstmResult,
  type RecurrentWeights,
} from './cells.js';
import type { Shape3 } from './simple-rnn.js';

const f32 = Math.fround;

/** Σ in float64: start + Σ_i a[aAt + i]·w[i·n + j] over i < rows. */
function dotColumn(
  start: number,
  a: ArrayLike<number>,
  aAt: number,
  w: Float32Array,
  rows: number,
  n: number,
  j: number,
) {
  let s = start;
  for (let i = 0; i < rows; i++) s += a[aAt + i] * w[i * n + j];
  return s;
}

export function lstmForwardReference(
  inputs: Float32Array,
  shape: Shape3,
  weights: RecurrentWeights,
  options: LstmOptions = {},
): LstmResult {
  checkGatedArguments('lstm', inputs, shape, weights, options);
  const [batch, time, inputDim] = shape;
  const { hiddenSize: h, kernel, recurrentKernel, bias } = weights;
  const n = 4 * h;
  const act = ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const ract = ACTIVATIONS[options.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const clamp = (z: number) => Math.min(clip, Math.max(-clip, z));
  const outputs = new Float32Array(batch * time * h);
  const states = new Float32Array(batch * h);
  const cellStates = new Float32Array(batch * h);
  for (let b = 0; b < batch; b++) {
    let hPrev = new Float32Array(h);
    let cPrev = new Float32Array(h);
    if (options.initialState) hPrev.set(options.initialState.subarray(b * h, (b + 1) * h));
    if (options.initialCellState) cPrev.set(options.initialCellState.subarray(b * h, (b + 1) * h));
    for (let p = 0; p < time; p++) {
      const t = options.goBackwards ? time - 1 - p : p;
      const valid = !options.mask || options.mask[b * time + t] === 1;
      let out: Float32Array;
      if (valid) {
        const x = (b * time + t) * inputDim;
        const pre = (j: number) =>
          clamp(dotColumn(dotColumn(bias[j], inputs, x, kernel, inputDim, n, j), hPrev, 0, recurrentKernel, h, n, j));
        const hNext = new Float32Array(h);
        const cNext = new Float32Array(h);
        for (let j = 0; j < h; j++) {
          const i = f32(ract(pre(j)));
          const f = f32(ract(pre(h + j)));
          const g = f32(act(pre(2 * h + j)));
          const o = f32(ract(pre(3 * h + j)));
          cNext[j] = f32(f * cPrev[j]) + f32(i * g);
          hNext[j] = o * f32(act(cNext[j]));
        }
        hPrev = hNext;
        cPrev = cNext;
        out = hNext;
      } else {
        out = options.zeroOutputForMask ? new Float32Array(h) : hPrev;
      }
      outputs.set(out, (b * time + p) * h);
    }
    states.set(hPrev, b * h);
    cellStates.set(cPrev, b * h);
  }
  return { outputs, states, cellStates };
}

export function gruForwardReference(
  inputs: Float32Array,
  shape: Shape3,
  weights: RecurrentWeights,
  options: GruOptions = {},
): GatedResult {
  checkGatedArguments('gru', inputs, shape, weights, options);
  const [batch, time, inputDim] = shape;
  const { hiddenSize: h, kernel, recurrentKernel, bias } = weights;
  const n = 3 * h;
  const resetAfter = options.resetAfter ?? DEFAULT_RESET_AFTER;
  const act = ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const ract = ACTIVATIONS[options.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const clamp = (z: number) => Math.min(clip, Math.max(-clip, z));
  const outputs = new Float32Array(batch * time * h);
  const states = new Float32Array(batch * h);
  for (let b = 0; b < batch; b++) {
    let hPrev = new Float32Array(h);
    if (options.initialState) hPrev.set(options.initialState.subarray(b * h, (b + 1) * h));
    for (let p = 0; p < time; p++) {
      const t = options.goBackwards ? time - 1 - p : p;
      const valid = !options.mask || options.mask[b * time + t] === 1;
      let out: Float32Array;
      if (valid) {
        const x = (b * time + t) * inputDim;
        const hNext = new Float32Array(h);
        if (resetAfter) {
          // ax: the input part with the input bias (row 0); ah: the recurrent part with the recurrent bias (row 1).
          const ax = (j: number) => dotColumn(bias[j], inputs, x, kernel, inputDim, n, j);
          const ah = (j: number) => dotColumn(bias[n + j], hPrev, 0, recurrentKernel, h, n, j);
          for (let j = 0; j < h; j++) {
            const z = f32(ract(clamp(ax(j) + ah(j))));
            const r = f32(ract(clamp(ax(h + j) + ah(h + j))));
            const candidate = f32(act(clamp(ax(2 * h + j) + r * ah(2 * h + j))));
            hNext[j] = f32(z * hPrev[j]) + f32(f32(1 - z) * candidate);
          }
        } else {
          const pre = (j: number, state: Float32Array) =>
            clamp(dotColumn(dotColumn(bias[j], inputs, x, kernel, inputDim, n, j), state, 0, recurrentKernel, h, n, j));
          const z = new Float32Array(h);
          const resetState = new Float32Array(h); // r ⊙ h, rounded
          for (let j = 0; j < h; j++) {
            z[j] = ract(pre(j, hPrev));
            resetState[j] = f32(ract(pre(h + j, hPrev))) * hPrev[j];
          }
          for (let j = 0; j < h; j++) {
            const candidate = f32(act(pre(2 * h + j, resetState)));
            hNext[j] = f32(z[j] * hPrev[j]) + f32(f32(1 - z[j]) * candidate);
          }
        }
        hPrev = hNext;
        out = hNext;
      } else {
        out = options.zeroOutputForMask ? new Float32Array(h) : hPrev;
      }
      outputs.set(out, (b * time + p) * h);
    }
    states.set(hPrev, b * h);
  }
  return { outputs, states };
}
