/**
 * What the ONNX recurrent operators (RNN, LSTM, GRU: rnn-op.ts, gated-op.ts) share: their common attributes,
 * the activations list, and the moves between ONNX's layouts and the engine's.
 *
 *   X             [seq, batch, input] (layout 0) or [batch, seq, input] (layout 1); the engine's is [batch, seq, input]
 *   sequence_lens [batch]  → the engine's mask: step t of sequence b is valid when t < len[b]
 *   initial_h/c   [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) → per direction [batch, hidden]
 *   Y             [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden])
 *   Y_h, Y_c      [dirs, batch, hidden]      (layout 1: [batch, dirs, hidden])
 *
 * `activation_alpha`/`activation_beta` are consumed in order by the activations that take them, as onnxruntime
 * reads them; values left over are refused. An activation is mapped to the engine's only where the definitions
 * agree exactly (see engineActivation); any other is refused at load.
 */
import {
  type ActivationName,
  type CellName,
  type CellSpec,
  cellForward,
  cellOf,
  cellWork,
  gateCount,
  kerasFromOnnx,
  type RecurrentWeights,
} from '../../engine/index.js';
import { type Attributes, nodeLabel } from './attributes.js';
import { fail } from './decode.js';
import { mismatch } from './operator.js';
import { type Tensor, type TensorMeta, formatShape, makeTensor } from './tensor.js';

export type Direction = 'forward' | 'reverse' | 'bidirectional';

export const directionsOf = (direction: Direction): 1 | 2 => (direction === 'bidirectional' ? 2 : 1);

const PARAMETERS: Readonly<Record<string, { alpha?: number; beta?: number }>> = {
  Tanh: {},
  Relu: {},
  Sigmoid: {},
  Softsign: {},
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  Elu: { alpha: 1 },
  Affine: { alpha: 1, beta: 0 },
  LeakyRelu: { alpha: 0.01 },
  ThresholdedRelu: { alpha: 1 },
  ScaledTanh: { alpha: 1, beta: 1 },
  Softplus: {},
};

/** The engine's function for an ONNX activation with these parameters, or null when it has none. */
function engineActivation(name: string, alpha: number | undefined, beta: number | undefined): ActivationName | null {
  const f = Math.fround;
  if (name === 'Tanh') return 'tanh';
  if (name === 'Relu') return 'relu';
  if (name === 'Sigmoid') return 'sigmoid';
  if (name === 'Softsign') return 'softsign';
  if (name === 'HardSigmoid' && f(alpha as number) === f(0.2) && f(beta as number) === f(0.5)) return 'hardSigmoid';
  if (name === 'Elu' && alpha === 1) return 'elu';
  if (name === 'Affine' && alpha === 1 && beta === 0) return 'linear';
  return null;
}

/**
 * The node's `activations`, mapped to the engine's: `defaults` are one direction's (RNN: Tanh; LSTM: Sigmoid,
 * Tanh, Tanh; GRU: Sigmoid, Tanh), `what` says in a message how many a direction takes.
 */
export function readActivations(
  a: Attributes,
  directions: number,
  defaults: readonly string[],
  what: string,
): ActivationName[] {
  const label = nodeLabel(a.node);
  const names = a.strings('activations') ?? Array.from({ length: directions }, () => defaults).flat();
  if (names.length !== directions * defaults.length)
    fail(
      `${label}: attribute 'activations' has ${names.length} entries; expected ${directions * defaults.length} (${what})`,
    );
  const alphas = [...(a.floats('activation_alpha') ?? [])];
  const betas = [...(a.floats('activation_beta') ?? [])];
  const taking = { alpha: 0, beta: 0 };
  const out = names.map((name) => {
    const parameters = PARAMETERS[name];
    if (parameters === undefined)
      fail(`${label}: activation '${name}' is not an ONNX RNN activation (${Object.keys(PARAMETERS).join(', ')})`);
    const alpha = parameters.alpha === undefined ? undefined : (alphas.shift() ?? parameters.alpha);
    const beta = parameters.beta === undefined ? undefined : (betas.shift() ?? parameters.beta);
    if (parameters.alpha !== undefined) taking.alpha++;
    if (parameters.beta !== undefined) taking.beta++;
    const mapped = engineActivation(name, alpha, beta);
    if (mapped === null)
      fail(
        `${label}: activation '${name}'${alpha === undefined ? '' : ` with alpha ${alpha}`}${beta === undefined ? '' : ` and beta ${beta}`} is not supported ` +
          '(supported: Tanh, Relu, Sigmoid, Softsign, HardSigmoid with alpha 0.2 and beta 0.5, Elu with alpha 1, Affine with alpha 1 and beta 0)',
      );
    return mapped;
  });
  if (alphas.length > 0)
    fail(
      `${label}: attribute 'activation_alpha' has ${alphas.length} value(s) more than the activations take (${taking.alpha})`,
    );
  if (betas.length > 0)
    fail(
      `${label}: attribute 'activation_beta' has ${betas.length} value(s) more than the activations take (${taking.beta})`,
    );
  return out;
}

export interface RecurrentAttributes {
  readonly hiddenSize: number;
  readonly direction: Direction;
  readonly clip: number | null;
  readonly layout: 0 | 1;
}

/** direction, hidden_size, clip and layout, as RNN, LSTM and GRU define them. */
export function readRecurrentAttributes(a: Attributes): RecurrentAttributes {
  const label = nodeLabel(a.node);
  const direction = a.string('direction', 'forward');
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional')
    fail(`${label}: attribute 'direction' is '${direction}'; expected forward, reverse or bidirectional`);
  const hiddenSize = a.requiredInt('hidden_size');
  if (hiddenSize < 1) fail(`${label}: attribute 'hidden_size' is ${hiddenSize}; expected at least 1`);
  const clip = a.optionalFloat('clip') ?? null;
  if (clip !== null && !(clip > 0)) fail(`${label}: attribute 'clip' is ${clip}; expected a positive number`);
  const layout = a.int('layout', 0);
  if (layout !== 0 && layout !== 1) fail(`${label}: attribute 'layout' is ${layout}; expected 0 or 1`);
  return { hiddenSize, direction, clip, layout };
}

/** Throws a ShapeError unless `meta` (when present) has this type and shape. */
export function expectMeta(meta: TensorMeta | null, name: string, shape: readonly number[], type = 'float'): void {
  if (meta == null) return;
  if (meta.type !== type || meta.shape.length !== shape.length || meta.shape.some((d, i) => d !== shape[i]))
    mismatch(`${name} is ${meta.type} ${formatShape(meta.shape)}; expected ${type} ${formatShape(shape)}`);
}

/** [seq, batch, input] of X, whatever its layout; X must be float with 3 dimensions. */
export function sequenceShape(x: TensorMeta, layout: 0 | 1): [seq: number, batch: number, input: number] {
  if (x.type !== 'float' || x.shape.length !== 3)
    mismatch(`X is ${x.type} ${formatShape(x.shape)}; expected float with 3 dimensions`);
  return layout === 0 ? [x.shape[0], x.shape[1], x.shape[2]] : [x.shape[1], x.shape[0], x.shape[2]];
}

/** [seq, batch, input] → [batch, seq, input], the engine's layout. */
export function batchMajor(x: Float32Array, seq: number, batch: number, inputSize: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let t = 0; t < seq; t++)
    for (let b = 0; b < batch; b++)
      out.set(x.subarray((t * batch + b) * inputSize, (t * batch + b + 1) * inputSize), (b * seq + t) * inputSize);
  return out;
}

/** sequence_lens → the engine's mask [batch, seq]; each length must be in [0, seq]. */
export function lengthMask(lengths: Float32Array | Float64Array, batch: number, seq: number): Uint8Array {
  const mask = new Uint8Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    const length = lengths[b];
    if (!(Number.isInteger(length) && length >= 0 && length <= seq))
      mismatch(`sequence_lens[${b}] is ${length}; expected an integer in [0, ${seq}] (the sequence length)`, 4);
    mask.fill(1, b * seq, b * seq + length);
  }
  return mask;
}

/** Direction d's initial state [batch, hidden] from initial_h (or initial_c). */
export function stateOf(
  h: Float32Array,
  d: number,
  dirs: number,
  batch: number,
  hidden: number,
  layout: 0 | 1,
): Float32Array {
  if (layout === 0) return h.subarray(d * batch * hidden, (d + 1) * batch * hidden);
  const out = new Float32Array(batch * hidden);
  for (let b = 0; b < batch; b++) out.set(h.subarray((b * dirs + d) * hidden, (b * dirs + d + 1) * hidden), b * hidden);
  return out;
}

/** Where direction d's step t of sequence b starts in Y. */
export function yOffset(layout: 0 | 1, t: number, d: number, b: number, dims: YDims): number {
  const { seq, dirs, batch, hidden } = dims;
  return layout === 0 ? ((t * dirs + d) * batch + b) * hidden : ((b * seq + t) * dirs + d) * hidden;
}

/** Where direction d's state of sequence b starts in Y_h (and Y_c). */
export function stateOffset(layout: 0 | 1, d: number, b: number, dims: YDims): number {
  const { dirs, batch, hidden } = dims;
  return layout === 0 ? (d * batch + b) * hidden : (b * dirs + d) * hidden;
}

export interface YDims {
  readonly seq: number;
  readonly dirs: number;
  readonly batch: number;
  readonly hidden: number;
}

/** Multiply-adds of an RNN, LSTM or GRU node: G·dirs·seq·batch·hidden·(input + hidden), G the cell's gate count. */
export function recurrentCost(
  cell: CellName,
  hiddenSize: number,
  direction: Direction,
  inputs: readonly (TensorMeta | null)[],
): number {
  const [a, b, inputSize] = (inputs[0] as TensorMeta).shape;
  return gateCount(cell) * directionsOf(direction) * a * b * hiddenSize * (inputSize + hiddenSize);
}

/**
 * Bytes an RNN, LSTM or GRU node's run allocates besides its outputs: the batch-major copy of X (layout 0), and
 * per direction the engine's output sequence and states, its weights' conversion and panels (unless W is a
 * constant, whose converted weights and panels stay with the model), and the kernel heap (engine/work-memory.ts).
 */
export function recurrentWorkBytes(
  cell: CellSpec,
  hiddenSize: number,
  direction: Direction,
  layout: 0 | 1,
  inputs: readonly (TensorMeta | null)[],
): number {
  const [seq, batch, inputSize] = sequenceShape(inputs[0] as TensorMeta, layout);
  const dirs = directionsOf(direction);
  const work = cellWork(cell, inputSize, hiddenSize, batch);
  // A W computed per request: its panels, and its conversion to the engine's float32 layout (half their bytes).
  const panels = inputs[1]?.known === undefined ? (work.panelBytes * 3) / 2 : 0;
  const copy = layout === 0 ? seq * batch * inputSize * 4 : 0;
  return copy + dirs * (seq * batch * hiddenSize * 4 + work.stateBytes + panels) + work.heapBytes;
}

/** One direction's cell as the engine runs it: ONNX f is the gates' function, g (and h) the candidate's. */
export interface DirectionCell {
  readonly spec: CellSpec;
  readonly activation: ActivationName;
}

/**
 * Runs an RNN, LSTM or GRU node: X to the engine's batch-major layout, each direction through cellForward
 * (`reverse` and a bidirectional node's second direction as goBackwards, sequence_lens as the mask with zero
 * outputs past each length), and Y, Y_h (and Y_c, when `metas` has it) written back in the node's layout.
 * Inputs 4, 5 and 6 are sequence_lens, initial_h and initial_c. A sequence of length 0 has no last step:
 * onnxruntime answers zero states, not the initial ones.
 */
export function runRecurrentNode(
  { hiddenSize: hidden, direction, layout, clip }: RecurrentAttributes,
  directionCell: (d: number) => DirectionCell,
  inputs: readonly (Tensor | null)[],
  metas: readonly TensorMeta[],
): Tensor[] {
  const dirs = directionsOf(direction);
  const x = inputs[0] as Tensor;
  const [seq, batch, inputSize] = layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
  const sequence = layout === 0 ? batchMajor(x.data as Float32Array, seq, batch, inputSize) : (x.data as Float32Array);
  const lengths = inputs[4]?.data ?? null;
  const mask = lengths === null ? null : lengthMask(lengths, batch, seq);
  const outputs = metas.map((m) => makeTensor('float', m.shape));
  const [y, yH, yC] = outputs;
  const dims = { seq, dirs, batch, hidden };
  const initial = (i: number, d: number) => {
    const given = inputs[i];
    return given == null ? null : stateOf(given.data as Float32Array, d, dirs, batch, hidden, layout);
  };
  for (let d = 0; d < dirs; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const { spec, activation } = directionCell(d);
    const weights = directionWeights(spec, hidden, inputs, d, inputSize);
    const result = cellForward(spec, sequence, [batch, seq, inputSize], weights, {
      activation,
      clip,
      goBackwards: reverse,
      initialState: initial(5, d),
      initialCellState: initial(6, d),
      mask,
      zeroOutputForMask: true,
    });
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < seq; p++) {
        const from = (b * seq + p) * hidden;
        y.data.set(
          result.outputs.subarray(from, from + hidden),
          yOffset(layout, reverse ? seq - 1 - p : p, d, b, dims),
        );
      }
      if (lengths !== null && lengths[b] === 0) continue;
      const to = stateOffset(layout, d, b, dims);
      yH.data.set(result.states.subarray(b * hidden, (b + 1) * hidden), to);
      if (yC !== undefined && result.cellStates !== null)
        yC.data.set(result.cellStates.subarray(b * hidden, (b + 1) * hidden), to);
    }
  }
  return outputs;
}

/**
 * Direction d's weights in the engine's (Keras) layout (engine/layouts.ts kerasFromOnnx: whole gate blocks
 * moved, no arithmetic but the sum of the two biases where the cell has one bias). Initializers are the same
 * arrays on every request, so the conversion is made once per W array, direction and GRU formulation, and kept
 * while W lives.
 */
const converted = new WeakMap<
  Float32Array | Float64Array,
  Map<string, { readonly r: unknown; readonly b: unknown; readonly weights: RecurrentWeights }>
>();

function directionWeights(
  spec: CellSpec,
  h: number,
  inputs: readonly (Tensor | null)[],
  d: number,
  inputSize: number,
): RecurrentWeights {
  const cell = cellOf(spec);
  const linearBeforeReset = spec.resetAfter ?? false;
  const w = (inputs[1] as Tensor).data as Float32Array;
  const r = (inputs[2] as Tensor).data as Float32Array;
  const b = (inputs[3]?.data ?? null) as Float32Array | null;
  const memo = converted.get(w) ?? new Map();
  converted.set(w, memo);
  const key = `${cell} ${d} ${linearBeforeReset}`;
  const hit = memo.get(key);
  if (hit !== undefined && hit.r === r && hit.b === b) return hit.weights;
  const rows = gateCount(cell) * h;
  const weights = kerasFromOnnx(
    cell,
    {
      W: w.subarray(d * rows * inputSize, (d + 1) * rows * inputSize),
      R: r.subarray(d * rows * h, (d + 1) * rows * h),
      B: b === null ? null : b.subarray(d * 2 * rows, (d + 1) * 2 * rows),
    },
    inputSize,
    h,
    linearBeforeReset,
  );
  memo.set(key, { r, b, weights });
  return weights;
}
