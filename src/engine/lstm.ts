/**
 * One LSTM layer, Keras semantics (gates i, f, c, o in blocks of hiddenSize columns):
 *   z = x_t · W + h_{t-1} · U + b                                  [4·h]
 *   i = ract(z_i), f = ract(z_f), g = act(z_c), o = ract(z_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ act(c_t)
 *
 * Layouts (row-major, flat typed arrays):
 *   inputs            [batch, time, inputDim]   float32
 *   kernel  W         [inputDim, 4·h]           float32 (Keras layout)
 *   recurrentKernel U [h, 4·h]                  float32
 *   bias    b         [4·h]                     float32 (zeros when the layer has no bias)
 *   initialState, initialCellState [batch, h]  h_0 and c_0, null for zeros
 *   mask              [batch, time]             1 = valid step
 *   outputs           [batch, time, h]          in processing order (reversed with goBackwards)
 *   states, cellStates [batch, h]               h and c after the last processed step
 *
 * Float semantics, masking and clip: gated-reference.ts (the naive reference this restates) and cells.ts.
 * At a masked step both h and c are carried unchanged and the output repeats h (or is zero with
 * zeroOutputForMask), as in TF.js.
 *
 * Fast path of: lstmForwardReference (gated-reference.ts), held bit-equal by test/engine/gated-cells.test.ts
 * and test/engine/gated-properties.test.ts. As simple-rnn.ts: per step, one product of the valid rows
 * [x_t, h_{t-1}] against the stacked [W; U] panels, here all four gates at once (n = 4·h), then the
 * gates row by row; no allocation inside the time loop.
 */
import { DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS } from './activations.js';
import { float32Array, int32Array } from './arrays.js';
import { kernelHeap } from './asm-kernels.js';
import {
  checkGatedArguments,
  DEFAULT_RECURRENT_ACTIVATION,
  type LstmOptions,
  type LstmResult,
  type RecurrentWeights,
} from './cells.js';
import { fillRows, packSegments } from './gate-panels.js';
import { packStep, type Shape3 } from './simple-rnn.js';

/** [W; U] panels over all 4·h gate columns. */
export function packLstmPanels(weights: RecurrentWeights): Float64Array {
  const { inputDim, hiddenSize: h, kernel, recurrentKernel } = weights;
  const parts = [
    { matrix: kernel, rows: inputDim },
    { matrix: recurrentKernel, rows: h },
  ];
  return packSegments(`lstm ${inputDim} ${h}`, kernel, recurrentKernel, [{ parts, n: 4 * h, from: 0, to: 4 * h }]);
}

export function lstmForward(
  inputs: Float32Array,
  shape: Shape3,
  weights: RecurrentWeights,
  options: LstmOptions = {},
): LstmResult {
  checkGatedArguments('lstm', inputs, shape, weights, options);
  const [batch, time, inputDim] = shape;
  const { hiddenSize: h, bias } = weights;
  const n = 4 * h;
  const act = FLOAT32_ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const ract = FLOAT32_ACTIVATIONS[options.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;

  // The heap, in float64 elements: [W; U] panels from 0, the accumulators [batch, 4·h] from accAt, the
  // packed rows [batch, inputDim + h] from aAt.
  const depth = inputDim + h;
  const accAt = depth * n;
  const aAt = accAt + batch * n;
  const { f64, kernels } = kernelHeap((aAt + batch * depth) * 8, packLstmPanels(weights));

  const outputs = float32Array(batch * time * h);
  const state = float32Array(batch * h);
  const cell = float32Array(batch * h);
  if (options.initialState) state.set(options.initialState);
  if (options.initialCellState) cell.set(options.initialCellState);
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
    packStep(f64, aAt, inputs, state, active, count, step, time, inputDim, h);
    fillRows(f64, accAt, bias, 0, count, n);
    kernels.product(accAt * 8, aAt * 8, count, 0, depth, n);
    for (let q = 0; q < count; q++) {
      const s = active[q] * h;
      lstmRow(f64, accAt + q * n, outputs, s * time + p * h, state, cell, s, h, act, ract, clip);
    }
  }
  return { outputs, states: state, cellStates: cell };
}

/**
 * One row's gates from its pre-activations f64[row … row + 4·h): writes h and c of units s … s+h-1 and the
 * output at `out`. Each unit reads only its own previous h and c, so they are overwritten in place.
 */
function lstmRow(
  f64: Float64Array,
  row: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  cell: Float32Array,
  s: number,
  h: number,
  act: (x: number) => number,
  ract: (x: number) => number,
  clip: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const zi = f64[row + j];
    const zf = f64[row + h + j];
    const zc = f64[row + 2 * h + j];
    const zo = f64[row + 3 * h + j];
    const i = f32(ract(zi > clip ? clip : zi < -clip ? -clip : zi));
    const f = f32(ract(zf > clip ? clip : zf < -clip ? -clip : zf));
    const g = f32(act(zc > clip ? clip : zc < -clip ? -clip : zc));
    const o = f32(ract(zo > clip ? clip : zo < -clip ? -clip : zo));
    const c = f32(f32(f * cell[s + j]) + f32(i * g));
    cell[s + j] = c;
    const value = f32(o * f32(act(c)));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}
