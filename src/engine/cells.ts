/**
 * The recurrent cells a layer may use, and what each one's weights look like. Keras is canonical:
 *
 *   cell        G   kernel W           recurrentKernel U   bias
 *   simpleRNN   1   [inputDim, h]      [h, h]              [h]
 *   lstm        4   [inputDim, 4·h]    [h, 4·h]            [4·h]                gates i, f, c, o
 *   gru         3   [inputDim, 3·h]    [h, 3·h]            [2, 3·h] resetAfter  gates z, r, h
 *                                                          [3·h]    otherwise
 *
 * Each gate is a block of h columns, in the order listed. A GRU with `resetAfter` keeps an input bias
 * (row 0) and a recurrent bias (row 1), because its reset gate multiplies the recurrent candidate term
 * *with* its bias: h̃ = act(x·W_h + b_in_h + r ⊙ (h·U_h + b_rec_h)).
 *
 * Which formulation each tool uses by default (GRU):
 *   Keras 3 `GRU(reset_after=True)`, PyTorch `nn.GRU` (always), ONNX `linear_before_reset = 1`  → resetAfter true
 *   TF.js 4.22 `tf.layers.gru` (the only one it has), Keras 1/2 `reset_after=False`,
 *   ONNX `linear_before_reset = 0` (its default)                                                → resetAfter false
 *
 * Porting note: TF.js 4.22 defaults `recurrentActivation` to 'hardSigmoid' (0.2·x + 0.5 clipped) for both
 * LSTM and GRU; Keras 3 and PyTorch use 'sigmoid', and so do we. A TF.js model built with the default needs
 * `recurrentActivation: 'hardSigmoid'` here.
 */
import type { ActivationName } from './activations.js';

export const CELL_NAMES = ['simpleRNN', 'lstm', 'gru'] as const;
export type CellName = (typeof CELL_NAMES)[number];

export const DEFAULT_CELL: CellName = 'simpleRNN';
/** The gates' activation for LSTM and GRU (Keras 3; see the porting note above). */
export const DEFAULT_RECURRENT_ACTIVATION: ActivationName = 'sigmoid';
/** Keras's default: the forget gate's bias starts at 1 (Jozefowicz et al. 2015). Seeded weights only. */
export const DEFAULT_UNIT_FORGET_BIAS = true;
/** Keras 3's and PyTorch's GRU. */
export const DEFAULT_RESET_AFTER = true;

/** The weights of one layer and direction of any cell; sizes as in the table above. */
export interface RecurrentWeights {
  readonly inputDim: number;
  readonly hiddenSize: number;
  /** [inputDim, G·hiddenSize] */
  readonly kernel: Float32Array;
  /** [hiddenSize, G·hiddenSize] */
  readonly recurrentKernel: Float32Array;
  /** biasLength(...) elements; zeros for a layer without bias */
  readonly bias: Float32Array;
}

/** How many gate blocks of hiddenSize columns a cell's kernels have. */
export function gateCount(cell: CellName): 1 | 3 | 4 {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/** Elements of a cell's bias; `resetAfter` matters only for GRU. */
export function biasLength(cell: CellName, hiddenSize: number, resetAfter = DEFAULT_RESET_AFTER): number {
  if (cell === 'gru' && resetAfter) return 6 * hiddenSize;
  return gateCount(cell) * hiddenSize;
}

/** The shape of a cell's bias: [2, 3·h] for a GRU with resetAfter, else [G·h]. */
export function biasShape(cell: CellName, hiddenSize: number, resetAfter = DEFAULT_RESET_AFTER): number[] {
  return cell === 'gru' && resetAfter ? [2, 3 * hiddenSize] : [gateCount(cell) * hiddenSize];
}

/** Options shared by the gated cells, beside SimpleRNN's. */
export interface GatedCellOptions {
  /** Default `tanh`: the candidate and, for LSTM, the output's squashing of the cell state. */
  readonly activation?: ActivationName;
  /** Default `sigmoid`: the gates. */
  readonly recurrentActivation?: ActivationName;
  readonly goBackwards?: boolean;
  /** ONNX `clip`: each gate's pre-activation (not the LSTM cell state) is clamped to [-clip, clip]. */
  readonly clip?: number | null;
  /** [batch, hiddenSize]; null or undefined for zeros. */
  readonly initialState?: Float32Array | null;
  /** [batch, time], in input order; null or undefined when every step is valid. */
  readonly mask?: Uint8Array | null;
  readonly zeroOutputForMask?: boolean;
}

export interface LstmOptions extends GatedCellOptions {
  /** [batch, hiddenSize]: the cell state c; null or undefined for zeros. */
  readonly initialCellState?: Float32Array | null;
}

export interface GruOptions extends GatedCellOptions {
  /** Default true; the bias has [2, 3·h] elements then, else [3·h]. */
  readonly resetAfter?: boolean;
}

export interface GatedResult {
  /** [batch, time, hiddenSize], in processing order */
  readonly outputs: Float32Array;
  /** [batch, hiddenSize]: h after the last processed step */
  readonly states: Float32Array;
}

export interface LstmResult extends GatedResult {
  /** [batch, hiddenSize]: c after the last processed step */
  readonly cellStates: Float32Array;
}

/** Throws when the arrays do not have the sizes their shapes promise: a programming error, not user input. */
export function checkGatedArguments(
  cell: 'lstm' | 'gru',
  inputs: Float32Array,
  shape: readonly [batch: number, time: number, features: number],
  weights: RecurrentWeights,
  options: GatedCellOptions & { readonly initialCellState?: Float32Array | null; readonly resetAfter?: boolean },
): void {
  const [batch, time, inputDim] = shape;
  const { hiddenSize: h } = weights;
  const g = gateCount(cell);
  if (inputDim !== weights.inputDim) {
    throw new RangeError(`inputs have ${inputDim} features; the kernel expects ${weights.inputDim}`);
  }
  sizeIs('inputs', inputs.length, batch * time * inputDim);
  sizeIs('kernel', weights.kernel.length, inputDim * g * h);
  sizeIs('recurrentKernel', weights.recurrentKernel.length, h * g * h);
  sizeIs('bias', weights.bias.length, biasLength(cell, h, options.resetAfter ?? DEFAULT_RESET_AFTER));
  if (options.initialState) sizeIs('initialState', options.initialState.length, batch * h);
  if (options.initialCellState) sizeIs('initialCellState', options.initialCellState.length, batch * h);
  if (options.mask) sizeIs('mask', options.mask.length, batch * time);
  if (options.clip != null && !(options.clip > 0)) throw new RangeError(`clip is ${options.clip}; expected > 0`);
}

function sizeIs(name: string, actual: number, expected: number): void {
  if (actual !== expected) throw new RangeError(`${name} has ${actual} elements; expected ${expected}`);
}

/** A layer's cell and the cell's own options, as a LayerSpec (network.ts) carries them. */
export interface CellSpec {
  /** Default 'simpleRNN'. */
  readonly cell?: CellName;
  /** LSTM and GRU: the gates' activation; default 'sigmoid'. */
  readonly recurrentActivation?: ActivationName;
  /** LSTM: seeded weights start the forget gate's bias at 1 (when the layer has a bias); default true. */
  readonly unitForgetBias?: boolean;
  /** GRU: the formulation, and so the bias shape; default true. */
  readonly resetAfter?: boolean;
}

/** A layer's cell, its default ('simpleRNN') filled in: the one place that default is applied. */
export function cellOf(spec: { readonly cell?: CellName }): CellName {
  return spec.cell ?? DEFAULT_CELL;
}

/**
 * Float32 values of one layer direction's weights (kernel, recurrent kernel, bias when it has one): for the
 * layers that count weight bytes (weights export, memory estimates, seeded-weights cost).
 */
export function weightCount(spec: CellSpec, inputDim: number, hiddenSize: number, useBias = true): number {
  const cell = cellOf(spec);
  const columns = gateCount(cell) * hiddenSize;
  return (inputDim + hiddenSize) * columns + (useBias ? biasLength(cell, hiddenSize, spec.resetAfter) : 0);
}
