/**
 * The tensor names of a recurrent layer model, as its metadata lists them and requests name them: the input
 * `input` [batch, time, inputDim], optionally `lengths` [batch] and the initial states (`initial_state`, or
 * `initial_state_0`, ... one per layer and direction); the outputs `output` and the final states `state` (`state_0`,
 * `state_1`, ... for a stack or a bidirectional model). An LSTM layer also has the output `cell_state`
 * (`cell_state_i`, named as the state it pairs with) and the optional input `initial_cell_state`.
 */
import { stateLayers } from '../engine/index.js';
import type { ResolvedModel } from './model.js';
import { cellStateIndices } from './layer-inputs.js';

export const LAYER_INPUT = 'input';
export const LAYER_LENGTHS = 'lengths';
export const LAYER_OUTPUT = 'output';

/** The state outputs' names: `state` for one layer and direction, else `state_i` in state order. */
export function stateNames(model: ResolvedModel): string[] {
  const count = stateLayers(model.spec).length;
  return count === 1 ? ['state'] : Array.from({ length: count }, (_, i) => `state_${i}`);
}

/** The LSTM layers' cell-state outputs: `cell_state`, or `cell_state_i` for state i (its pair `state_i`). */
export function cellStateNames(model: ResolvedModel): string[] {
  const states = stateNames(model);
  return cellStateIndices(model).map((i) => `cell_${states[i]}`);
}

export function layerOutputNames(model: ResolvedModel): {
  output: string;
  states: string[];
  cellStates: string[];
} {
  return { output: LAYER_OUTPUT, states: stateNames(model), cellStates: cellStateNames(model) };
}

/** The inputs, the one required first: `input`, `lengths`, the initial states, the initial cell states. */
export function layerInputNames(model: ResolvedModel): string[] {
  return [
    LAYER_INPUT,
    LAYER_LENGTHS,
    ...stateNames(model).map((name) => `initial_${name}`),
    ...cellStateNames(model).map((name) => `initial_${name}`),
  ];
}
