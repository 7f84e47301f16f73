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
import { type ActivationName, DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS, tanhToFloat32 } from './activations.js';
import { float32Array, float64Array, int32Array, scratchFloat64 } from './arrays.js';

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
 * The register tile of `addPackedProduct`: ROW_BLOCK rows × COLUMN_BLOCK columns of float64 accumulators,
 * kept in local variables for a whole dot product. Measured on packed operands (mid's two products): 3 × 4,
 * 3 × 2 and 5 × 2 are equally fast (~5.5 GFLOP/s here); 2 × 4, 4 × 2, 1 × 8 and 2 × 8 are 10–20 % slower,
 * 4 × 4 ~10 % slower (V8 has 15 float registers to give, and spills).
 */
const ROW_BLOCK = 3;
const COLUMN_BLOCK = 4;

/** The work space slots of a forward pass (arrays.ts `scratchFloat64`): both are filled before they are read. */
const SCRATCH_PRE = 0;
const SCRATCH_PACKED_ROWS = 1;

/**
 * A [depth, n] float32 matrix (Keras layout) as float64 column panels, the order in which the product
 * reads it: panel j (columns j … j+3, for j < n - n % 4) holds w[k, j … j+3] for k = 0 … depth-1 at
 * j·depth + 4k; each column j left over holds w[k, j] at j·depth + k. Float64 because every product is
 * formed in float64 anyway (the conversion is exact), so the loop loads with no conversion; contiguous so
 * that it streams. Cached per matrix: weights are treated as immutable once used. Small panels are views
 * into the slab (arrays.ts), so a cached small matrix keeps its 256 KiB slab alive as long as it lives.
 */
const packedMatrices = new WeakMap<Float32Array, { readonly n: number; readonly packed: Float64Array }>();

export function packColumnPanels(w: Float32Array, depth: number, n: number): Float64Array {
  const cached = packedMatrices.get(w);
  if (cached !== undefined && cached.n === n && cached.packed.length === depth * n) return cached.packed;
  const packed = float64Array(depth * n);
  const nTiled = n - (n % COLUMN_BLOCK);
  let o = 0;
  for (let j = 0; j < nTiled; j += COLUMN_BLOCK) {
    for (let k = 0, wk = j; k < depth; k++, wk += n) {
      packed[o] = w[wk];
      packed[o + 1] = w[wk + 1];
      packed[o + 2] = w[wk + 2];
      packed[o + 3] = w[wk + 3];
      o += COLUMN_BLOCK;
    }
  }
  for (let j = nTiled; j < n; j++) for (let k = 0, wk = j; k < depth; k++, wk += n) packed[o++] = w[wk];
  packedMatrices.set(w, { n, packed });
  return packed;
}

/**
 * The first `count` rows listed in `rows` (offsets into `a`, `depth` values each) as float64, in the order
 * `addPackedProduct` reads them: each group of ROW_BLOCK rows interleaved (row r of the group q … q+2 at
 * q·depth + ROW_BLOCK·k + r), the rows left over one after the other (at q·depth + k).
 */
function packRows(packed: Float64Array, a: Float32Array, rows: Int32Array, count: number, depth: number): void {
  let q = 0;
  for (; q + ROW_BLOCK <= count; q += ROW_BLOCK) {
    const a0 = rows[q], a1 = rows[q + 1], a2 = rows[q + 2];
    for (let k = 0, o = q * depth; k < depth; k++, o += ROW_BLOCK) {
      packed[o] = a[a0 + k];
      packed[o + 1] = a[a1 + k];
      packed[o + 2] = a[a2 + k];
    }
  }
  for (; q < count; q++) {
    const a0 = rows[q];
    for (let k = 0, o = q * depth; k < depth; k++, o++) packed[o] = a[a0 + k];
  }
}

/**
 * acc[accRows[q] + j] += Σ_k a_q[k] · w[k, j], k = 0 … depth-1 in that order, for the first `count` rows q
 * and every column j < n: a matrix product over a list of rows (the valid ones), so masked rows cost nothing.
 *   acc  float64 accumulators, a row of n per listed row, at accRows[q]
 *   a    the rows, packed by `packRows`
 *   w    the [depth, n] matrix, packed by `packColumnPanels`
 *
 * Each accumulator still adds its terms one by one in k order, so every sum is the naive loop's sum, bit
 * for bit (the float32 × float32 products are exact in float64). The tiling only changes which elements
 * are computed together: each weight loaded serves ROW_BLOCK rows and each input value COLUMN_BLOCK
 * columns, and the sums live in local variables, not array elements, for the whole k loop. Both operands
 * are read at consecutive addresses.
 */
function addPackedProduct(
  acc: Float64Array,
  accRows: Int32Array,
  a: Float64Array,
  count: number,
  w: Float64Array,
  depth: number,
  n: number,
): void {
  const nTiled = n - (n % COLUMN_BLOCK);
  let q = 0;
  for (; q + ROW_BLOCK <= count; q += ROW_BLOCK) {
    const c0 = accRows[q], c1 = accRows[q + 1], c2 = accRows[q + 2];
    for (let j = 0; j < nTiled; j += COLUMN_BLOCK) addTile(acc, c0 + j, c1 + j, c2 + j, a, q * depth, w, j * depth, depth);
    for (let j = nTiled; j < n; j++) addColumn(acc, c0 + j, c1 + j, c2 + j, a, q * depth, w, j * depth, depth);
  }
  // The rows left over (fewer than ROW_BLOCK; all of them with batch 1), one at a time.
  for (; q < count; q++) {
    const c0 = accRows[q];
    for (let j = 0; j < nTiled; j += COLUMN_BLOCK) addRowTile(acc, c0 + j, a, q * depth, w, j * depth, depth);
    for (let j = nTiled; j < n; j++) addRowColumn(acc, c0 + j, a, q * depth, w, j * depth, depth);
  }
}

/*
 * The four kernels of addPackedProduct, each a small function of its own: V8 then optimises each on
 * feedback from its own loop, and a branch the first long call has not reached yet is a separate function,
 * not a hole in the feedback of a function compiled mid-loop. Splitting alone did not settle it (mid still
 * ran ~1.45× slower in some processes than in others); primeKernels, at the end of this file, did.
 */

/** Three rows × four columns: acc[c_r + 0 … 3] += Σ_k a[aAt + 3k + r] · w[wAt + 4k + 0 … 3]. */
function addTile(
  acc: Float64Array,
  c0: number,
  c1: number,
  c2: number,
  a: Float64Array,
  aAt: number,
  w: Float64Array,
  wAt: number,
  depth: number,
): void {
  let s00 = acc[c0], s01 = acc[c0 + 1], s02 = acc[c0 + 2], s03 = acc[c0 + 3];
  let s10 = acc[c1], s11 = acc[c1 + 1], s12 = acc[c1 + 2], s13 = acc[c1 + 3];
  let s20 = acc[c2], s21 = acc[c2 + 1], s22 = acc[c2 + 2], s23 = acc[c2 + 3];
  const aEnd = aAt + ROW_BLOCK * depth;
  for (let i = aAt, wk = wAt; i < aEnd; i += ROW_BLOCK, wk += COLUMN_BLOCK) {
    const x0 = a[i], x1 = a[i + 1], x2 = a[i + 2];
    let v = w[wk];
    s00 += x0 * v; s10 += x1 * v; s20 += x2 * v;
    v = w[wk + 1];
    s01 += x0 * v; s11 += x1 * v; s21 += x2 * v;
    v = w[wk + 2];
    s02 += x0 * v; s12 += x1 * v; s22 += x2 * v;
    v = w[wk + 3];
    s03 += x0 * v; s13 += x1 * v; s23 += x2 * v;
  }
  acc[c0] = s00; acc[c0 + 1] = s01; acc[c0 + 2] = s02; acc[c0 + 3] = s03;
  acc[c1] = s10; acc[c1 + 1] = s11; acc[c1 + 2] = s12; acc[c1 + 3] = s13;
  acc[c2] = s20; acc[c2 + 1] = s21; acc[c2 + 2] = s22; acc[c2 + 3] = s23;
}

/** Three rows × one column left over: acc[c_r] += Σ_k a[aAt + 3k + r] · w[wAt + k]. */
function addColumn(
  acc: Float64Array,
  c0: number,
  c1: number,
  c2: number,
  a: Float64Array,
  aAt: number,
  w: Float64Array,
  wAt: number,
  depth: number,
): void {
  let s0 = acc[c0], s1 = acc[c1], s2 = acc[c2];
  const aEnd = aAt + ROW_BLOCK * depth;
  for (let i = aAt, wk = wAt; i < aEnd; i += ROW_BLOCK, wk++) {
    const v = w[wk];
    s0 += a[i] * v; s1 += a[i + 1] * v; s2 += a[i + 2] * v;
  }
  acc[c0] = s0; acc[c1] = s1; acc[c2] = s2;
}

/** One row × four columns: acc[c + 0 … 3] += Σ_k a[aAt + k] · w[wAt + 4k + 0 … 3]. */
function addRowTile(acc: Float64Array, c: number, a: Float64Array, aAt: number, w: Float64Array, wAt: number, depth: number): void {
  let s0 = acc[c], s1 = acc[c + 1], s2 = acc[c + 2], s3 = acc[c + 3];
  const aEnd = aAt + depth;
  for (let i = aAt, wk = wAt; i < aEnd; i++, wk += COLUMN_BLOCK) {
    const x = a[i];
    s0 += x * w[wk]; s1 += x * w[wk + 1]; s2 += x * w[wk + 2]; s3 += x * w[wk + 3];
  }
  acc[c] = s0; acc[c + 1] = s1; acc[c + 2] = s2; acc[c + 3] = s3;
}

/** One row × one column: acc[c] += Σ_k a[aAt + k] · w[wAt + k]. */
function addRowColumn(acc: Float64Array, c: number, a: Float64Array, aAt: number, w: Float64Array, wAt: number, depth: number): void {
  let s = acc[c];
  const aEnd = aAt + depth;
  for (let i = aAt, wk = wAt; i < aEnd; i++, wk++) s += a[i] * w[wk];
  acc[c] = s;
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
  const act = FLOAT32_ACTIVATIONS[options.activation ?? DEFAULT_ACTIVATION];
  const clip = options.clip ?? Infinity;
  const plainTanh = act === tanhToFloat32 && clip === Infinity;
  const mask = options.mask ?? null;
  const goBackwards = options.goBackwards ?? false;
  const zeroOutputForMask = options.zeroOutputForMask ?? false;
  const rows = batch * time;

  // 1. pre [batch·time, hiddenSize] in input order, float64: bias + inputs · kernel, valid rows only.
  const pre = scratchFloat64(SCRATCH_PRE, rows * hiddenSize);
  const preRows = int32Array(rows);
  const inputRows = int32Array(rows);
  const valid = listValidRows(pre, preRows, inputRows, mask, rows, bias, hiddenSize, inputDim);
  const packedInputs = scratchFloat64(SCRATCH_PACKED_ROWS, valid * inputDim);
  packRows(packedInputs, inputs, inputRows, valid, inputDim);
  addPackedProduct(pre, preRows, packedInputs, valid, packColumnPanels(kernel, inputDim, hiddenSize), inputDim, hiddenSize);

  // 2. state [batch, hiddenSize]: h_{t-1} of every sequence, float32 as Keras carries it; in the end the
  // final states. Per step, the valid rows' pre rows (stepRows) and state rows (stateRows).
  const outputs = float32Array(rows * hiddenSize);
  const state = float32Array(batch * hiddenSize);
  if (options.initialState) state.set(options.initialState);
  const stepRows = int32Array(batch);
  const stateRows = int32Array(batch);
  const packedState = scratchFloat64(SCRATCH_PACKED_ROWS, batch * hiddenSize); // phase 1 is done with it
  const packedRecurrent = packColumnPanels(recurrentKernel, hiddenSize, hiddenSize);
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
    packRows(packedState, state, stateRows, active, hiddenSize);
    addPackedProduct(pre, stepRows, packedState, active, packedRecurrent, hiddenSize, hiddenSize);
    // The state is overwritten only now: the product above read every row's whole previous state.
    for (let q = 0; q < active; q++) {
      const s = stateRows[q]; // b·hiddenSize
      const out = s * time + p * hiddenSize; // (b·time + p)·hiddenSize
      if (plainTanh) activateRowTanh(pre, stepRows[q], outputs, out, state, s, hiddenSize);
      else activateRow(pre, stepRows[q], outputs, out, state, s, hiddenSize, act, clip);
    }
  }
  return { outputs, states: state };
}

/**
 * outputs[out + j] = state[s + j] = act(clip(pre[row + j])), j < n; both stores round to float32, once.
 * Its own function, so that V8 optimises the loop on its own feedback (see addTile).
 */
function activateRow(
  pre: Float64Array,
  row: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  n: number,
  act: (x: number) => number,
  clip: number,
): void {
  for (let j = 0; j < n; j++) {
    const z = pre[row + j];
    const h = act(z > clip ? clip : z < -clip ? -clip : z);
    outputs[out + j] = h;
    state[s + j] = h;
  }
}

/**
 * activateRow for the default (tanh, no clip), calling tanhToFloat32 directly: V8 inlines a direct call
 * to a small function, while the call through `act` above is inlined only while it has seen one function.
 */
function activateRowTanh(
  pre: Float64Array,
  row: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  n: number,
): void {
  for (let j = 0; j < n; j++) {
    const h = tanhToFloat32(pre[row + j]);
    outputs[out + j] = h;
    state[s + j] = h;
  }
}

/**
 * Phase 1's row lists: for each valid row r of batch·time (in order), pre row r starts as the bias, and its
 * offsets go to preRows and inputRows. Returns how many rows are valid. A function of its own, like the
 * kernels, so that the forward pass itself has no long loop for V8 to compile in the middle of.
 */
function listValidRows(
  pre: Float64Array,
  preRows: Int32Array,
  inputRows: Int32Array,
  mask: Uint8Array | null,
  rows: number,
  bias: Float32Array,
  hiddenSize: number,
  inputDim: number,
): number {
  let valid = 0;
  for (let r = 0; r < rows; r++) {
    if (mask !== null && mask[r] === 0) continue;
    const at = r * hiddenSize;
    // A loop, not pre.set(bias, at): set() between element types converts value by value on a slow path,
    // which cost as much as all of mid's activations.
    for (let j = 0; j < hiddenSize; j++) pre[at + j] = bias[j];
    preRows[valid] = at;
    inputRows[valid] = r * inputDim;
    valid++;
  }
  return valid;
}

/**
 * Runs a few tiny passes that take every branch of the kernels (row groups and rows left over, column tiles
 * and columns left over, a mask, a clip, both directions), so that V8 has type feedback for all of them
 * before it optimises any. Without it, the first large call was compiled mid-loop with no feedback for the
 * branches it had not reached yet, and each later call deoptimised there again (the same code, up to 39
 * times in a process): mid ran at ~21 ms in some processes and ~30 ms in others. Called once, when this
 * module loads: ~12 ms, most of it compiling these functions, which the first call would do anyway.
 * test/engine/optimisation.test.ts reads V8's deoptimisation log to hold this.
 */
function primeKernels(): void {
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 8);
  // Rounds, because V8 allots a function its feedback vector only after its first calls: what runs before
  // that is not recorded.
  for (let round = 0; round < PRIMING_ROUNDS; round++) {
    for (const [batch, time, inputDim, hiddenSize] of [
      [4, 2, 5, 6],
      [2, 3, 4, 4],
      [1, 2, 3, 5],
    ] as const) {
      const weights: SimpleRnnWeights = {
        inputDim,
        hiddenSize,
        kernel: values(inputDim * hiddenSize),
        recurrentKernel: values(hiddenSize * hiddenSize),
        bias: values(hiddenSize),
      };
      const inputs = values(batch * time * inputDim);
      const mask = Uint8Array.from({ length: batch * time }, (_, i) => (i % 3 === 1 ? 0 : 1));
      simpleRnnForward(inputs, [batch, time, inputDim], weights);
      simpleRnnForward(inputs, [batch, time, inputDim], weights, { mask, goBackwards: true, clip: 2 });
    }
    // Zero takes tanhToFloat32's rare branch (to Math.tanh, about one value in 3,000): inlined into the
    // activation loop without feedback, its first use deoptimised the loop.
    tanhToFloat32(0);
  }
}

/** Enough for every function above to have its feedback vector before its last round. */
const PRIMING_ROUNDS = 8;

primeKernels();
