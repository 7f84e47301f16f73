/**
 * One layer and direction of any cell: the dispatch runNetwork (network.ts) goes through, so that stacks,
 * bidirectional merges, masks and states work the same for every cell.
 */
import type { ActivationName } from './activations.js';
import { type CellSpec, cellOf, DEFAULT_RESET_AFTER, type RecurrentWeights } from './cells.js';
import { gruForward } from './gru.js';
import { lstmForward } from './lstm.js';
import { type Shape3, simpleRnnForward } from './simple-rnn.js';

export interface CellRunOptions {
  readonly activation: ActivationName;
  readonly clip: number | null;
  readonly goBackwards: boolean;
  readonly initialState: Float32Array | null;
  /** LSTM only; ignored by the other cells. */
  readonly initialCellState: Float32Array | null;
  readonly mask: Uint8Array | null;
  readonly zeroOutputForMask: boolean;
}

export interface CellRunResult {
  /** [batch, time, hiddenSize], in processing order */
  readonly outputs: Float32Array;
  /** [batch, hiddenSize] */
  readonly states: Float32Array;
  /** [batch, hiddenSize] for LSTM; null for the cells without a cell state. */
  readonly cellStates: Float32Array | null;
}

export function cellForward(
  spec: CellSpec,
  inputs: Float32Array,
  shape: Shape3,
  weights: RecurrentWeights,
  options: CellRunOptions,
): CellRunResult {
  // Results and options are built field by field: on Node 20 a spread followed by another property takes V8's slow
  // path (~2 µs, more than a hello-sized pass computes in) and leaves an object slow to read.
  const cell = cellOf(spec);
  if (cell === 'simpleRNN') {
    const run = simpleRnnForward(inputs, shape, weights, options);
    return { outputs: run.outputs, states: run.states, cellStates: null };
  }
  const gated = {
    activation: options.activation,
    clip: options.clip,
    goBackwards: options.goBackwards,
    initialState: options.initialState,
    initialCellState: options.initialCellState,
    mask: options.mask,
    zeroOutputForMask: options.zeroOutputForMask,
    recurrentActivation: spec.recurrentActivation,
    resetAfter: spec.resetAfter ?? DEFAULT_RESET_AFTER,
  };
  if (cell === 'lstm') return lstmForward(inputs, shape, weights, gated);
  const run = gruForward(inputs, shape, weights, gated);
  return { outputs: run.outputs, states: run.states, cellStates: null };
}
