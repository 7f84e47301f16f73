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
 * and test/engine/gated-properties.test.ts. Per step, over the valid rows, one product per block of h columns
 * (one gate's panels at a time stay in L2; see lstm.ts), each into its own block of accumulators:
 *   resetAfter true   [x_t] against W_z, W_r, W_h and [h_{t-1}] against U_z, U_r, U_h: six blocks that start
 *                     as b_in and b_rec, because the candidate needs its recurrent part on its own.
 *   resetAfter false  [x_t, h_{t-1}] against the stacked [W; U] for z and r, then [x_t, r ⊙ h_{t-1}] against
 *                     [W; U] for h̃: the reset comes before the product. Three blocks.
 * Either way the multiply-adds are those of one (inputDim + h) × 3·h product. Block s starts as bias[s·h …].
 */
import { DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS, sigmoid, tanhToFloat32 } from './activations.js';
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

/**
 * The blocks' panels, one after the other (resetAfter: W_z, W_r, W_h, U_z, U_r, U_h; else [W; U] of z, r, h);
 * `offsets[s]` is block s's float64 offset.
 */
export function packGruPanels(
  weights: RecurrentWeights,
  resetAfter: boolean,
): { packed: Float64Array; offsets: readonly number[] } {
  const { inputDim, hiddenSize: h, kernel, recurrentKernel } = weights;
  const n = 3 * h;
  const w = { matrix: kernel, rows: inputDim };
  const u = { matrix: recurrentKernel, rows: h };
  const gate = (parts: { matrix: Float32Array; rows: number }[], g: number) => ({
    parts,
    n,
    from: g * h,
    to: (g + 1) * h,
  });
  const segments = resetAfter
    ? [gate([w], 0), gate([w], 1), gate([w], 2), gate([u], 0), gate([u], 1), gate([u], 2)]
    : [gate([w, u], 0), gate([w, u], 1), gate([w, u], 2)];
  const offsets: number[] = [];
  let at = 0;
  for (const segment of segments) {
    offsets.push(at);
    at += segmentSize(segment);
  }
  const key = `gru ${resetAfter ? 'after' : 'before'} ${inputDim} ${h}`;
  return { packed: packSegments(key, kernel, recurrentKernel, segments), offsets };
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
  const plain = act === tanhToFloat32 && ract === sigmoid && clip === Infinity;
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;
  const { packed, offsets } = packGruPanels(weights, resetAfter);
  const blocks = offsets.length;

  // The heap, in float64 elements, after the panels: the accumulators (block s's [batch, h] at
  // accAt + s·batch·h), then two blocks of packed rows:
  //   resetAfter true:  [batch, inputDim] and [batch, h]
  //   resetAfter false: [batch, inputDim + h] twice ([x, h] and [x, r ⊙ h])
  const depth1 = resetAfter ? inputDim : inputDim + h;
  const depth2 = resetAfter ? h : inputDim + h;
  const block = batch * h;
  const accAt = packed.length;
  const rows1 = accAt + blocks * block;
  const rows2 = rows1 + batch * depth1;
  const { f64, kernels } = kernelHeap((rows2 + batch * depth2) * 8, packed);
  /** Block s's product: its accumulators start as its bias, then its panels against `rows` (depth deep). */
  const product = (s: number, count: number, rows: number, depth: number) => {
    fillRows(f64, accAt + s * block, bias, s * h, count, h);
    kernels.product((accAt + s * block) * 8, rows * 8, count, offsets[s] * 8, depth, h);
  };

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
      for (let s = 0; s < 3; s++) product(s, count, rows1, depth1);
      for (let s = 3; s < 6; s++) product(s, count, rows2, depth2);
      for (let q = 0; q < count; q++) {
        const s = active[q] * h;
        if (plain) gruAfterRowPlain(f64, accAt + q * h, block, outputs, s * time + p * h, state, s, h);
        else gruAfterRow(f64, accAt + q * h, block, outputs, s * time + p * h, state, s, h, act, ract, clip);
      }
      continue;
    }
    packStep(f64, rows1, inputs, state, active, count, step, time, inputDim, h);
    product(0, count, rows1, depth1);
    product(1, count, rows1, depth1);
    for (let q = 0; q < count; q++) {
      if (plain) resetRowPlain(f64, accAt + q * h, block, resetState, state, active[q] * h, h);
      else resetRow(f64, accAt + q * h, block, resetState, state, active[q] * h, h, ract, clip);
    }
    packStep(f64, rows2, inputs, resetState, active, count, step, time, inputDim, h);
    product(2, count, rows2, depth2);
    for (let q = 0; q < count; q++) {
      const s = active[q] * h;
      gruBeforeRow(f64, accAt + q * h, block, outputs, s * time + p * h, state, s, h, act, clip);
    }
  }
  return { outputs, states: state };
}

/**
 * resetAfter true: one row's update from its pre-activations, h per block from f64[row + s·block]: the input
 * parts ax of z, r, h̃ in blocks 0–2, the recurrent parts ah in blocks 3–5.
 */
function gruAfterRow(
  f64: Float64Array,
  row: number,
  block: number,
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
    const zz = f64[row + j] + f64[row + 3 * block + j];
    const zr = f64[row + block + j] + f64[row + 4 * block + j];
    const z = f32(ract(zz > clip ? clip : zz < -clip ? -clip : zz));
    const reset = f32(ract(zr > clip ? clip : zr < -clip ? -clip : zr));
    const zh = f64[row + 2 * block + j] + reset * f64[row + 5 * block + j];
    const candidate = f32(act(zh > clip ? clip : zh < -clip ? -clip : zh));
    const value = f32(f32(z * state[s + j]) + f32(f32(1 - z) * candidate));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}

/**
 * resetAfter false, between the products: z (float32, kept in its accumulator's place for gruBeforeRow)
 * and r ⊙ h_{t-1} into resetState, from the pre-activations f64[row …] (z) and f64[row + block …] (r).
 */
function resetRow(
  f64: Float64Array,
  row: number,
  block: number,
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
    const zr = f64[row + block + j];
    f64[row + j] = f32(ract(zz > clip ? clip : zz < -clip ? -clip : zz));
    resetState[s + j] = f32(ract(zr > clip ? clip : zr < -clip ? -clip : zr)) * state[s + j];
  }
}

/** resetAfter false: the update from z at f64[row …] and the candidate's pre-activations at f64[row + 2·block …]. */
function gruBeforeRow(
  f64: Float64Array,
  row: number,
  block: number,
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
    const z = f64[row + j];
    const zh = f64[row + 2 * block + j];
    const candidate = f32(act(zh > clip ? clip : zh < -clip ? -clip : zh));
    const value = f32(f32(z * state[s + j]) + f32(f32(1 - z) * candidate));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}

/** The rows above for the defaults (sigmoid gates, tanh, no clip), calling both directly: see lstm.ts. */
function gruAfterRowPlain(
  f64: Float64Array,
  row: number,
  block: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  h: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const z = f32(sigmoid(f64[row + j] + f64[row + 3 * block + j]));
    const reset = f32(sigmoid(f64[row + block + j] + f64[row + 4 * block + j]));
    const candidate = f32(tanhToFloat32(f64[row + 2 * block + j] + reset * f64[row + 5 * block + j]));
    const value = f32(f32(z * state[s + j]) + f32(f32(1 - z) * candidate));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}

function resetRowPlain(
  f64: Float64Array,
  row: number,
  block: number,
  resetState: Float32Array,
  state: Float32Array,
  s: number,
  h: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    f64[row + j] = f32(sigmoid(f64[row + j]));
    resetState[s + j] = f32(sigmoid(f64[row + block + j])) * state[s + j];
  }
}
