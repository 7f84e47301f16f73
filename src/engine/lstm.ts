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
 * and test/engine/gated-properties.test.ts. As simple-rnn.ts: per step, the valid rows [x_t, h_{t-1}] are
 * packed once and multiplied against the stacked [W; U] panels, then the gates are computed row by row; no
 * allocation inside the time loop. One product per gate (n = h), each into its own block of accumulators:
 * the kernel streams all of its panels once per row pair, and one gate's panels are SimpleRNN's size (mid:
 * 192 KiB, in L2), where all four (768 KiB) were not: one product of n = 4·h ran ~1.6× slower.
 */
import { DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS, sigmoid, tanhToFloat32 } from './activations.js';
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

/** [W; U] panels of each gate's h columns, gate after gate: gate G's at G·(inputDim + h)·h. */
export function packLstmPanels(weights: RecurrentWeights): Float64Array {
  const { inputDim, hiddenSize: h, kernel, recurrentKernel } = weights;
  const parts = [
    { matrix: kernel, rows: inputDim },
    { matrix: recurrentKernel, rows: h },
  ];
  const segments = [0, 1, 2, 3].map((gate) => ({ parts, n: 4 * h, from: gate * h, to: (gate + 1) * h }));
  return packSegments(`lstm ${inputDim} ${h}`, kernel, recurrentKernel, segments);
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
  const plain = act === tanhToFloat32 && ract === sigmoid && clip === Infinity;
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;

  // The heap, in float64 elements: [W; U] panels from 0, the accumulators from accAt (gate G's [batch, h]
  // at accAt + G·batch·h), the packed rows [batch, inputDim + h] from aAt.
  const depth = inputDim + h;
  const accAt = depth * n;
  const block = batch * h;
  const aAt = accAt + 4 * block;
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
    for (let gate = 0; gate < 4; gate++) {
      fillRows(f64, accAt + gate * block, bias, gate * h, count, h);
      kernels.product((accAt + gate * block) * 8, aAt * 8, count, gate * depth * h * 8, depth, h);
    }
    for (let q = 0; q < count; q++) {
      const s = active[q] * h;
      if (plain) lstmRowPlain(f64, accAt + q * h, block, outputs, s * time + p * h, state, cell, s, h);
      else lstmRow(f64, accAt + q * h, block, outputs, s * time + p * h, state, cell, s, h, act, ract, clip);
    }
  }
  return { outputs, states: state, cellStates: cell };
}

/**
 * One row's gates from its pre-activations f64[row + G·block …], h per gate G: writes h and c of units
 * s … s+h-1 and the output at `out`. Each unit reads only its own previous h and c, so they are overwritten
 * in place.
 */
function lstmRow(
  f64: Float64Array,
  row: number,
  block: number,
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
    const zf = f64[row + block + j];
    const zc = f64[row + 2 * block + j];
    const zo = f64[row + 3 * block + j];
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

/**
 * lstmRow for the defaults (sigmoid gates, tanh, no clip), calling both directly: V8 inlines a direct call to
 * a small function, while a call through `act` is inlined only while it has seen one function (as
 * simple-rnn.ts activateRowTanh).
 */
function lstmRowPlain(
  f64: Float64Array,
  row: number,
  block: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  cell: Float32Array,
  s: number,
  h: number,
): void {
  const f32 = Math.fround;
  for (let j = 0; j < h; j++) {
    const i = f32(sigmoid(f64[row + j]));
    const f = f32(sigmoid(f64[row + block + j]));
    const g = f32(tanhToFloat32(f64[row + 2 * block + j]));
    const o = f32(sigmoid(f64[row + 3 * block + j]));
    const c = f32(f32(f * cell[s + j]) + f32(i * g));
    cell[s + j] = c;
    const value = f32(o * f32(tanhToFloat32(c)));
    state[s + j] = value;
    outputs[out + j] = value;
  }
}
