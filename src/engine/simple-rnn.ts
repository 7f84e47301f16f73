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
 * The naive reference in `reference.ts` adds in exactly that order, so the two agree bit for bit
 * (fast path of the reference: held bit-equal by test/engine/simple-rnn.test.ts and test/engine/properties.test.ts).
 *
 * Masking (Keras): at a masked step the state is carried unchanged and the output repeats it (or is zero
 * with `zeroOutputForMask`). Masked steps are not computed at all.
 * Porting note: TF.js repeats the carried *state* at a masked step; Keras 2/3 repeat the previous *output*,
 * which is zero before the first valid step. They differ only for leading masked steps with a non-zero
 * initial state; we follow TF.js.
 */
import { type ActivationName, DEFAULT_ACTIVATION, FLOAT32_ACTIVATIONS, tanhToFloat32 } from './activations.js';
import { float32Array, float64Array, int32Array } from './arrays.js';
import { COLUMN_BLOCK, kernelHeap, ROW_BLOCK } from './asm-kernels.js';

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
 * [W; U] (the kernel's inputDim rows, then the recurrent kernel's hiddenSize rows) as the float64 column
 * panels the product kernel reads (asm-kernels.ts): depth inputDim + hiddenSize, n = hiddenSize. Stacked so
 * that one product per step computes x_t · W + h_{t-1} · U, each sum in the reference's order (bias, the
 * input terms, then the recurrent terms). Float64 because every product is formed in float64 anyway (the
 * conversion is exact). Cached per kernel matrix: weights are treated as immutable once used. Small panels
 * are views into the slab (arrays.ts), so a cached small matrix keeps its 256 KiB slab alive while it lives.
 */
const packedWeights = new WeakMap<
  Float32Array,
  { readonly recurrentKernel: Float32Array; readonly packed: Float64Array }
>();

export function packStackedPanels(
  kernel: Float32Array,
  recurrentKernel: Float32Array,
  inputDim: number,
  hiddenSize: number,
): Float64Array {
  const depth = inputDim + hiddenSize;
  const cached = packedWeights.get(kernel);
  if (
    cached !== undefined &&
    cached.recurrentKernel === recurrentKernel &&
    cached.packed.length === depth * hiddenSize
  ) {
    return cached.packed;
  }
  const packed = float64Array(depth * hiddenSize);
  const n = hiddenSize;
  const nTiled = n - (n % COLUMN_BLOCK);
  let o = 0;
  for (let j = 0; j < nTiled; j += COLUMN_BLOCK) {
    o = appendPanel(packed, o, kernel, inputDim, n, j, COLUMN_BLOCK);
    o = appendPanel(packed, o, recurrentKernel, hiddenSize, n, j, COLUMN_BLOCK);
  }
  for (let j = nTiled; j < n; j++) {
    o = appendPanel(packed, o, kernel, inputDim, n, j, 1);
    o = appendPanel(packed, o, recurrentKernel, hiddenSize, n, j, 1);
  }
  packedWeights.set(kernel, { recurrentKernel, packed });
  return packed;
}

/** Appends columns j … j+width-1 of the [rows, n] matrix w, row by row, to packed from o; returns the new end. */
function appendPanel(
  packed: Float64Array,
  o: number,
  w: Float32Array,
  rows: number,
  n: number,
  j: number,
  width: number,
): number {
  for (let k = 0, wk = j; k < rows; k++, wk += n) for (let c = 0; c < width; c++) packed[o++] = w[wk + c];
  return o;
}

/**
 * The fast path, one step at a time with no allocation inside the time loop. Per step, the batch rows valid
 * at that step go through one product in asm-kernels.ts:
 *   acc  [count, hiddenSize]                    starts as the bias
 *   a    [count, inputDim + hiddenSize]         each row [x_t, h_{t-1}], float64, packed in row pairs
 *   w    [inputDim + hiddenSize, hiddenSize]    [W; U] as column panels (packStackedPanels)
 * then the activation writes each row's output and new state. So W and U are streamed once per step for
 * all rows, and masked rows cost nothing: only their output is copied. The heap (asm-kernels.ts
 * `kernelHeap`) holds [w | acc | a] and is reused from call to call: its size depends on the weights and
 * the batch, not on the number of steps.
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

  // The heap, in float64 elements: [W; U] panels from 0, the accumulators from accAt, the packed rows from aAt.
  const depth = inputDim + hiddenSize;
  const accAt = depth * hiddenSize;
  const aAt = accAt + batch * hiddenSize;
  const { f64, kernels } = kernelHeap(
    (aAt + batch * depth) * 8,
    packStackedPanels(kernel, recurrentKernel, inputDim, hiddenSize),
  );

  // state [batch, hiddenSize]: h_{t-1} of every sequence, float32 as Keras carries it; in the end the final
  // states. active: the batch rows valid at this step.
  const outputs = float32Array(batch * time * hiddenSize);
  const state = float32Array(batch * hiddenSize);
  if (options.initialState) state.set(options.initialState);
  const active = int32Array(batch);
  for (let p = 0; p < time; p++) {
    const step = goBackwards ? time - 1 - p : p; // input step processed at position p
    let count = 0;
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[b * time + step] === 0) {
        if (!zeroOutputForMask)
          outputs.set(state.subarray(b * hiddenSize, (b + 1) * hiddenSize), (b * time + p) * hiddenSize);
        continue;
      }
      active[count++] = b;
    }
    if (count === 0) continue;
    packStep(f64, aAt, inputs, state, active, count, step, time, inputDim, hiddenSize);
    fillBias(f64, accAt, bias, count, hiddenSize);
    kernels.product(accAt * 8, aAt * 8, count, 0, depth, hiddenSize);
    // The state is overwritten only now: packStep copied every row's whole previous state.
    for (let q = 0; q < count; q++) {
      const s = active[q] * hiddenSize; // b·hiddenSize
      const out = s * time + p * hiddenSize; // (b·time + p)·hiddenSize
      const row = accAt + q * hiddenSize;
      if (plainTanh) activateRowTanh(f64, row, outputs, out, state, s, hiddenSize);
      else activateRow(f64, row, outputs, out, state, s, hiddenSize, act, clip);
    }
  }
  return { outputs, states: state };
}

/**
 * The rows of this step's product (asm-kernels.ts layout `a`), from f64[aAt]: for each listed batch row b,
 * its inputs at `step` then its state, as float64; rows 2g and 2g+1 interleaved, an odd last row alone.
 * Also packs inputs only (hiddenSize 0) or states only (inputDim 0): the gated cells (lstm.ts, gru.ts) do.
 */
export function packStep(
  f64: Float64Array,
  aAt: number,
  inputs: Float32Array,
  state: Float32Array,
  rows: Int32Array,
  count: number,
  step: number,
  time: number,
  inputDim: number,
  hiddenSize: number,
): void {
  const depth = inputDim + hiddenSize;
  let q = 0;
  for (; q + ROW_BLOCK <= count; q += ROW_BLOCK) {
    const b0 = rows[q],
      b1 = rows[q + 1];
    const x0 = (b0 * time + step) * inputDim,
      x1 = (b1 * time + step) * inputDim;
    const h0 = b0 * hiddenSize,
      h1 = b1 * hiddenSize;
    let o = aAt + q * depth;
    for (let k = 0; k < inputDim; k++, o += ROW_BLOCK) {
      f64[o] = inputs[x0 + k];
      f64[o + 1] = inputs[x1 + k];
    }
    for (let k = 0; k < hiddenSize; k++, o += ROW_BLOCK) {
      f64[o] = state[h0 + k];
      f64[o + 1] = state[h1 + k];
    }
  }
  if (q < count) {
    const b0 = rows[q];
    const x0 = (b0 * time + step) * inputDim,
      h0 = b0 * hiddenSize;
    let o = aAt + q * depth;
    for (let k = 0; k < inputDim; k++) f64[o++] = inputs[x0 + k];
    for (let k = 0; k < hiddenSize; k++) f64[o++] = state[h0 + k];
  }
}

/**
 * count rows of n accumulators from f64[accAt], each the bias. A loop, not f64.set(bias): set() between
 * element types converts value by value on a slow path, which cost as much as all of mid's activations.
 */
function fillBias(f64: Float64Array, accAt: number, bias: Float32Array, count: number, n: number): void {
  for (let q = 0, o = accAt; q < count; q++) for (let j = 0; j < n; j++) f64[o++] = bias[j];
}

/**
 * outputs[out + j] = state[s + j] = act(clip(f64[row + j])), j < n; both stores round to float32, once.
 * Its own function, so that V8 optimises the loop on its own feedback.
 */
function activateRow(
  f64: Float64Array,
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
    const z = f64[row + j];
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
  f64: Float64Array,
  row: number,
  outputs: Float32Array,
  out: number,
  state: Float32Array,
  s: number,
  n: number,
): void {
  for (let j = 0; j < n; j++) {
    const h = tanhToFloat32(f64[row + j]);
    outputs[out + j] = h;
    state[s + j] = h;
  }
}

/**
 * Runs a few tiny passes that take every branch of the pass (row pairs and an odd row left over, column
 * tiles and columns left over, a mask, a clip, both directions), so that V8 has type feedback for all of
 * them before it optimises any. Without it, the first large call was compiled mid-loop with no feedback for
 * the branches it had not reached yet, and each later call deoptimised there again (the same code, up to 39
 * times in a process): mid ran at ~21 ms in some processes and ~30 ms in others. The first pass also links
 * the asm.js kernels, which compiles them (~9 ms). Called once, when this module loads: ~20 ms, most of it
 * compiling, which the first call would do anyway. test/engine/optimisation.test.ts reads V8's
 * deoptimisation log to hold this.
 */
function primeKernels(): void {
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 8);
  // Rounds, because V8 allots a function its feedback vector only after its first calls: what runs before
  // that is not recorded.
  for (let round = 0; round < PRIMING_ROUNDS; round++) {
    for (const [batch, time, inputDim, hiddenSize] of [
      [4, 2, 5, 6],
      [3, 3, 4, 4],
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
