/**
 * One GRU layer, Keras semantics (gates z, r, h in blocks of hiddenSize columns):
 *   z = ract(x·W_z + h·U_z + b_z),  r = ract(x·W_r + h·U_r + b_r)
 *   resetAfter false: h̃ = act(x·W_h + (r ⊙ h)·U_h + b_h)                bias [3·h]
 *   resetAfter true:  h̃ = act(x·W_h + b_in_h + r ⊙ (h·U_h + b_rec_h))   bias [2, 3·h] = [b_in; b_rec]
 *   h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃
 *
 * Layouts as lstm.ts, with kernel [inputDim, 3·h] and recurrentKernel [h, 3·h]; one state, h.
 * Float semantics: gated-reference.ts. Which tool uses which formulation: cells.ts.
 *
 * Fast path of: gruForwardReference (gated-reference.ts), held bit-equal by test/engine/gated-cells.test.ts
 * and test/engine/gated-properties.test.ts. Two products per step, each over the valid rows:
 *   resetAfter true   [x_t] against W (n = 3·h), [h_{t-1}] against U (n = 3·h), into two accumulators
 *                     that start as b_in and b_rec: the candidate needs its recurrent part on its own.
 *   resetAfter false  [x_t, h_{t-1}] against the stacked [W; U] for z and r (n = 2·h), then
 *                     [x_t, r ⊙ h_{t-1}] against [W; U] for h̃ (n = h): the reset comes before the product.
 * Either way the multiply-adds are those of one (inputDim + h) × 3·h product.
 */
import { DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS } from './activations.js';
import { float32Array, int32Array } from './arrays.js';
import { kernelHeap } from './asm-kernels.js';
import {
  checkGatedArguments,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  type GatedResult,
  type GruOptions,
  type RecurrentWeights,
} from './cells.js';
import { fillRows, packSegments, segmentSize } from './gate-panels.js';
import { packStep, type Shape3 } from './simple-rnn.js';

/** The two products' panels, one after the other; `second` is the float64 offset of the second. */
export function packGruPanels(
  weights: RecurrentWeights,
  resetAfter: boolean,
): { packed: Float64Array; second: number } {
  const { inputDim, hiddenSize: h, kernel, recurrentKernel } = weights;
  const n = 3 * h;
  const w = { matrix: kernel, rows: inputDim };
  const u = { matrix: recurrentKernel, rows: h };
  const segments = resetAfter
    ? [
        { parts: [w], n, from: 0, to: n },
        { parts: [u], n, from: 0, to: n },
      ]
    : [
        { parts: [w, u], n, from: 0, to: 2 * h },
        { parts: [w, u], n, from: 2 * h, to: n },
      ];
  const key = `gru ${resetAfter ? 'after' : 'before'} ${inputDim} ${h}`;
  return { packed: packSegments(key, kernel, recurrentKernel, segments), second: segmentSize(segments[0]) };
}

export function gruForward(
  inputs: Float32Array,
  shape: Shape3,
  weights: RecurrentWeights,
  options: GruOptions = {},
): GatedResult {
  checkGatedArguments('gru', inputs, shape, weights, options);
  const [batch, time, inputDim] = shape;
  const { hiddenSize: h, bias } = weights;
  const resetAfter = options.resetAfter ?? DEFAULT_RESET_AFTER;
  const act = FLOAT32_ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const ract = FLOAT32_ACTIVATIONS[options.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;
  const { packed, second } = packGruPanels(weights, resetAfter);

  // The heap, in float64 elements, after the panels: two accumulator blocks, two packed-row blocks.
  //   resetAfter true:  accX [batch, 3h], accH [batch, 3h], rows [batch, inputDim], [batch, h]
  //   resetAfter false: accZR [batch, 2h], accH [batch, h], rows [batch, inputDim + h] twice
  const n1 = resetAfter ? 3 * h : 2 * h;
  const n2 = resetAfter ? 3 * h : h;
  const depth1 = resetAfter ? inputDim : inputDim + h;
  const depth2 = resetAfter ? h : inputDim + h;
  const acc1 = packed.length;
  const acc2 = acc1 + batch * n1;
  const rows1 = acc2 + batch * n2;
  const rows2 = rows1 + batch * depth1;
  const { f64, kernels } = kernelHeap((rows2 + batch * depth2) * 8, packed);

  const outputs = float32Array(batch * time * h);
  const state = float32Array(batch * h);
  if (options.initialState) state.set(options.initialState);
  // r ⊙ h_{t-1} of the valid rows (resetAfter false), packed as the second product's "state".
  const resetState = resetAfter ? state : float32Array(batch * h);
  const active = int32Array(batch);
  for (let p = 0; p < time; p++) {
    const step = goBackwards ? time - 1 - p : p;
    let count = 0;
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[b * time + step] === 0) {
        if (!zeroOutputForMask) outputs.set(state.subarray(b * h, (b + 1) * h), (b * time + p) * h);
        continue;
      }
      active[count++] = b;
    }
    if (count === 0) continue;
    if (resetAfter) {
      packStep(f64, rows1, inputs, state, active, count, step, time, inputDim, 0);
      packStep(f64, rows2, inputs, state, active, count, step, time, 0, h);
      fillRows(f64, acc1, bias, 0, count, n1);
      fillRows(f64, acc2, bias, n1, count, n2);
      kernels.product(acc1 * 8, rows1 * 8, count, 0, depth1, n1);
      kernels.product(acc2 * 8, rows2 * 8, count, second * 8, depth2, n2);
      for (let q = 0; q < count; q++) {
        const s = active[q] * h;
        gruAfterRow(f64, acc1 + q * n1, acc2 + q * n2, outputs, s * time + p * h, state, s, h, act, ract, clip);
      }
      continue;
    }
    packStep(f64, rows1, inputs, state, active, count, step, time, inputDim, h);
    fillRows(f64, acc1, bias, 0, count, n1);
    kernels.product(acc1 * 8, rows1 * 8, count, 0, depth1, n1);
    for (let q = 0; q < count; q++) resetRow(f64, acc1 + q * n1, resetState, state, active[q] * h, h, ract, clip);
    packStep(f64, rows2, inputs, resetState, active, count, step, time, inputDim, h);
    fillRows(f64, acc2, bias, n1, count, n2);
    kernels.product(acc2 * 8, rows2 * 8, count, second * 8, depth2, n2);
    for (let q = 0; q < count; q++) {
      const s = active[q] * h;
      gruBeforeRow(f64, acc1 + q * n1, acc2 + q * n2, outputs, s * time + p * h, state, s, h, act, clip);
    }
  }
  return { outputs, states: state };
}

/** resetAfter true: one row's update from ax = f64[x …] and ah = f64[r …], each 3·h pre-activations. */
function gruAfterRow(
  f64: Float64Array,
  x: number,
  r: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  h: number,
  act: (x: number) => number,
  ract: (x: number) => number,
  clip: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const zz = f64[x + j] + f64[r + j];
    const zr = f64[x + h + j] + f64[r + h + j];
    const z = f32(ract(zz > clip ? clip : zz < -clip ? -clip : zz));
    const reset = f32(ract(zr > clip ? clip : zr < -clip ? -clip : zr));
    const zh = f64[x + 2 * h + j] + reset * f64[r + 2 * h + j];
    const candidate = f32(act(zh > clip ? clip : zh < -clip ? -clip : zh));
    const value = f32(f32(z * state[s + j]) + f32(f32(1 - z) * candidate));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}

/**
 * resetAfter false, between the products: z (float32, kept in its accumulator's place for gruBeforeRow)
 * and r ⊙ h_{t-1} into resetState, from f64[row …], 2·h pre-activations.
 */
function resetRow(
  f64: Float64Array,
  row: number,
  resetState: Float32Array,
  state: Float32Array,
  s: number,
  h: number,
  ract: (x: number) => number,
  clip: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const zz = f64[row + j];
    const zr = f64[row + h + j];
    f64[row + j] = f32(ract(zz > clip ? clip : zz < -clip ? -clip : zz));
    resetState[s + j] = f32(ract(zr > clip ? clip : zr < -clip ? -clip : zr)) * state[s + j];
  }
}

/** resetAfter false: the update from z at f64[zRow …] and the candidate's pre-activations at f64[hRow …]. */
function gruBeforeRow(
  f64: Float64Array,
  zRow: number,
  hRow: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  h: number,
  act: (x: number) => number,
  clip: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const z = f64[zRow + j];
    const zh = f64[hRow + j];
    const candidate = f32(act(zh > clip ? clip : zh < -clip ? -clip : zh));
    const value = f32(f32(z * state[s + j]) + f32(f32(1 - z) * candidate));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}
