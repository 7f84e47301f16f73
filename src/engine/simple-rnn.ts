/**
 * One SimpleRNN layer, Keras semantics: h_t = act(x_t · W + h_{t-1} · U + b).
 *
 * Layouts (row-major, flat typed arrays):
 *   inputs          [batch, time, inputDim]      float32
 *   kernel  W       [inputDim, hiddenSize]       float32 (Keras layout)
 *   recurrentKernel [hiddenSize, hiddenSize]     float32 (Keras layout)
 *   bias    b       [hiddenSize]                 float32 (zeros when the layer has no bias)
 *   initialState    [batch, hiddenSize]          float32, or null for zeros
 *   mask            [batch, time]                1 = valid step, 0 = masked; null = every step valid
 *   outputs         [batch, time, hiddenSize]    float32, in processing order (reversed with goBackwards)
 *   states          [batch, hiddenSize]          float32, the state after the last processed step
 *
 * Float32 semantics as in Keras: every stored tensor is float32 and the state carried from one step to the
 * next is the float32 output. Each pre-activation is accumulated in float64 (bias, then the input terms in
 * feature order, then the recurrent terms in unit order), clipped if asked, activated, and rounded once.
 * The naive reference in `reference.ts` adds in exactly that order, so the two agree bit for bit.
 *
 * Masking (Keras): at a masked step the state is carried unchanged and the output repeats it (or is zero
 * with `zeroOutputForMask`). Masked steps are not computed at all.
 * Porting note: TF.js repeats the carried *state* at a masked step; Keras 2/3 repeat the previous *output*,
 * which is zero before the first valid step. They differ only for leading masked steps with a non-zero
 * initial state; we follow TF.js.
 */
import { ACTIVATIONS, type ActivationName, DEFAULT_ACTIVATION } from './activations.js';
import { float32Array, float64Array, int32Array } from './arrays.js';

export interface SimpleRnnWeights {
  readonly inputDim: number;
  readonly hiddenSize: number;
  /** [inputDim, hiddenSize] */
  readonly kernel: Float32Array;
  /** [hiddenSize, hiddenSize] */
  readonly recurrentKernel: Float32Array;
  /** [hiddenSize]; zeros for a layer without bias */
  readonly bias: Float32Array;
}

export interface SimpleRnnOptions {
  /** Default `tanh`. */
  readonly activation?: ActivationName;
  /** Process the sequence last step first; outputs stay in processing order (Keras `go_backwards`). */
  readonly goBackwards?: boolean;
  /** ONNX `clip`: clamp the pre-activation to [-clip, clip]; null or undefined for none. */
  readonly clip?: number | null;
  /** [batch, hiddenSize]; null or undefined for zeros. */
  readonly initialState?: Float32Array | null;
  /** [batch, time], in input order; null or undefined when every step is valid. */
  readonly mask?: Uint8Array | null;
  /** Masked steps output zeros instead of repeating the state (Keras `zero_output_for_mask`). */
  readonly zeroOutputForMask?: boolean;
}

export interface SimpleRnnResult {
  /** [batch, time, hiddenSize] */
  readonly outputs: Float32Array;
  /** [batch, hiddenSize] */
  readonly states: Float32Array;
}

export type Shape3 = readonly [batch: number, time: number, features: number];

/** Throws when the arrays do not have the sizes their shapes promise: a programming error, not user input. */
export function checkForwardArguments(
  inputs: Float32Array,
  shape: Shape3,
  weights: SimpleRnnWeights,
  options: SimpleRnnOptions,
): void {
  const [batch, time, inputDim] = shape;
  const { hiddenSize } = weights;
  if (inputDim !== weights.inputDim) {
    throw new RangeError(`inputs have ${inputDim} features; the kernel expects ${weights.inputDim}`);
  }
  sizeIs('inputs', inputs.length, batch * time * inputDim);
  sizeIs('kernel', weights.kernel.length, inputDim * hiddenSize);
  sizeIs('recurrentKernel', weights.recurrentKernel.length, hiddenSize * hiddenSize);
  sizeIs('bias', weights.bias.length, hiddenSize);
  if (options.initialState) sizeIs('initialState', options.initialState.length, batch * hiddenSize);
  if (options.mask) sizeIs('mask', options.mask.length, batch * time);
  if (options.clip != null && !(options.clip > 0)) throw new RangeError(`clip is ${options.clip}; expected > 0`);
}

function sizeIs(name: string, actual: number, expected: number): void {
  if (actual !== expected) throw new RangeError(`${name} has ${actual} elements; expected ${expected}`);
}

/**
 * The register tile of `addRowsTimesMatrix`: ROW_BLOCK rows × COLUMN_BLOCK columns of float64
 * accumulators, kept in local variables for a whole dot product. Measured (bench/engine.ts shapes): 3 × 4
 * is the fastest; 2 × 4 reloads each weight for every 2 rows (~10 % slower on mid and large); 4 × 4,
 * 2 × 8 and unrolling the k loop by 2 make V8 spill more accumulators to the stack (no gain, or ~13 %
 * slower). 3 × 4 already spills a few of its 12 accumulators on x64, which costs less than the reloads.
 */
const ROW_BLOCK = 3;
const COLUMN_BLOCK = 4;

/**
 * acc[accRows[q] + j] += Σ_k a[aRows[q] + k] · w[k·n + j], k = 0 … depth-1 in that order, for the first
 * `count` listed rows q and every column j < n. A matrix product over a list of rows (the valid ones), so
 * masked rows cost nothing.
 *   acc  float64 accumulators, a row of n per listed row, at accRows[q]
 *   a    float32 rows of depth values, at aRows[q]
 *   w    [depth, n] float32, row-major (Keras layout)
 *
 * Each accumulator still adds its terms one by one in k order, so every sum is the naive loop's sum, bit
 * for bit (the float32 × float32 products are exact in float64). The tiling only changes which elements
 * are computed together: each weight loaded serves ROW_BLOCK rows and each input value COLUMN_BLOCK
 * columns, and the sums live in local variables, not array elements, for the whole k loop.
 */
function addRowsTimesMatrix(
  acc: Float64Array,
  accRows: Int32Array,
  a: Float32Array,
  aRows: Int32Array,
  count: number,
  w: Float32Array,
  depth: number,
  n: number,
): void {
  const nTiled = n - (n % COLUMN_BLOCK);
  let q = 0;
  for (; q + ROW_BLOCK <= count; q += ROW_BLOCK) {
    const c0 = accRows[q], c1 = accRows[q + 1], c2 = accRows[q + 2];
    const a0 = aRows[q], a1 = aRows[q + 1], a2 = aRows[q + 2];
    for (let j = 0; j < nTiled; j += COLUMN_BLOCK) {
      let s00 = acc[c0 + j], s01 = acc[c0 + j + 1], s02 = acc[c0 + j + 2], s03 = acc[c0 + j + 3];
      let s10 = acc[c1 + j], s11 = acc[c1 + j + 1], s12 = acc[c1 + j + 2], s13 = acc[c1 + j + 3];
      let s20 = acc[c2 + j], s21 = acc[c2 + j + 1], s22 = acc[c2 + j + 2], s23 = acc[c2 + j + 3];
      for (let k = 0, wk = j; k < depth; k++, wk += n) {
        const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k];
        let v = w[wk];
        s00 += x0 * v; s10 += x1 * v; s20 += x2 * v;
        v = w[wk + 1];
        s01 += x0 * v; s11 += x1 * v; s21 += x2 * v;
        v = w[wk + 2];
        s02 += x0 * v; s12 += x1 * v; s22 += x2 * v;
        v = w[wk + 3];
        s03 += x0 * v; s13 += x1 * v; s23 += x2 * v;
      }
      acc[c0 + j] = s00; acc[c0 + j + 1] = s01; acc[c0 + j + 2] = s02; acc[c0 + j + 3] = s03;
      acc[c1 + j] = s10; acc[c1 + j + 1] = s11; acc[c1 + j + 2] = s12; acc[c1 + j + 3] = s13;
      acc[c2 + j] = s20; acc[c2 + j + 1] = s21; acc[c2 + j + 2] = s22; acc[c2 + j + 3] = s23;
    }
    for (let j = nTiled; j < n; j++) {
      let s0 = acc[c0 + j], s1 = acc[c1 + j], s2 = acc[c2 + j];
      for (let k = 0, wk = j; k < depth; k++, wk += n) {
        const v = w[wk];
        s0 += a[a0 + k] * v; s1 += a[a1 + k] * v; s2 += a[a2 + k] * v;
      }
      acc[c0 + j] = s0; acc[c1 + j] = s1; acc[c2 + j] = s2;
    }
  }
  // The rows left over (fewer than ROW_BLOCK; all of them with batch 1), one at a time.
  for (; q < count; q++) {
    const c0 = accRows[q], a0 = aRows[q];
    for (let j = 0; j < nTiled; j += COLUMN_BLOCK) {
      let s0 = acc[c0 + j], s1 = acc[c0 + j + 1], s2 = acc[c0 + j + 2], s3 = acc[c0 + j + 3];
      for (let k = 0, wk = j; k < depth; k++, wk += n) {
        const x = a[a0 + k];
        s0 += x * w[wk]; s1 += x * w[wk + 1]; s2 += x * w[wk + 2]; s3 += x * w[wk + 3];
      }
      acc[c0 + j] = s0; acc[c0 + j + 1] = s1; acc[c0 + j + 2] = s2; acc[c0 + j + 3] = s3;
    }
    for (let j = nTiled; j < n; j++) {
      let s = acc[c0 + j];
      for (let k = 0, wk = j; k < depth; k++, wk += n) s += a[a0 + k] * w[wk];
      acc[c0 + j] = s;
    }
  }
}

/**
 * The fast path, in two phases, with no allocation inside the time loop:
 * 1. The input projection of every valid step at once: pre = b + x · W for all valid batch·time rows, as
 *    one tiled matrix product ([rows, inputDim] × [inputDim, hiddenSize]).
 * 2. The recurrence, one step at a time with the batch rows valid at that step together: pre += h_{t-1} · U
 *    as one tiled product (so U is streamed once per step for all rows, not once per row), then the
 *    activation. Masked rows are left out of the product; only their output is copied.
 */
export function simpleRnnForward(
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
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;
  const rows = batch * time;

  // 1. pre [batch·time, hiddenSize] in input order, float64: bias + inputs · kernel, valid rows only.
  const pre = float64Array(rows * hiddenSize);
  const preRows = int32Array(rows);
  const inputRows = int32Array(rows);
  let valid = 0;
  for (let r = 0; r < rows; r++) {
    if (mask !== null && mask[r] === 0) continue;
    const at = r * hiddenSize;
    // A call to set() costs more than copying a few values.
    if (hiddenSize >= 16) pre.set(bias, at);
    else for (let j = 0; j < hiddenSize; j++) pre[at + j] = bias[j];
    preRows[valid] = at;
    inputRows[valid] = r * inputDim;
    valid++;
  }
  addRowsTimesMatrix(pre, preRows, inputs, inputRows, valid, kernel, inputDim, hiddenSize);

  // 2. state [batch, hiddenSize]: h_{t-1} of every sequence, float32 as Keras carries it; in the end the
  // final states. Per step, the valid rows' pre rows (stepRows) and state rows (stateRows).
  const outputs = float32Array(rows * hiddenSize);
  const state = float32Array(batch * hiddenSize);
  if (options.initialState) state.set(options.initialState);
  const stepRows = int32Array(batch);
  const stateRows = int32Array(batch);
  for (let p = 0; p < time; p++) {
    const step = goBackwards ? time - 1 - p : p; // input step processed at position p
    let active = 0;
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[b * time + step] === 0) {
        if (!zeroOutputForMask) outputs.set(state.subarray(b * hiddenSize, (b + 1) * hiddenSize), (b * time + p) * hiddenSize);
        continue;
      }
      stepRows[active] = (b * time + step) * hiddenSize;
      stateRows[active] = b * hiddenSize;
      active++;
    }
    addRowsTimesMatrix(pre, stepRows, state, stateRows, active, recurrentKernel, hiddenSize, hiddenSize);
    // The state is overwritten only now: the product above read every row's whole previous state.
    for (let q = 0; q < active; q++) {
      const row = stepRows[q];
      const s = stateRows[q]; // b·hiddenSize
      const out = s * time + p * hiddenSize; // (b·time + p)·hiddenSize
      for (let j = 0; j < hiddenSize; j++) {
        const z = pre[row + j];
        const h = act(z > clip ? clip : z < -clip ? -clip : z);
        outputs[out + j] = h; // both stores round to float32, once
        state[s + j] = h;
      }
    }
  }
  return { outputs, states: state };
}
