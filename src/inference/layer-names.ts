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

interface Names {
  readonly output: string;
  readonly states: readonly string[];
  readonly cellStates: readonly string[];
  readonly inputs: readonly string[];
}

/** Every name of a model, made once per model (served and remembered models are kept; a request asks often). */
const namesOf = new WeakMap<ResolvedModel, Names>();

function names(model: ResolvedModel): Names {
  let found = namesOf.get(model);
  if (found === undefined) {
    const count = stateLayers(model.spec).length;
    const states = count === 1 ? ['state'] : Array.from({ length: count }, (_, i) => `state_${i}`);
    const cellStates = cellStateIndices(model).map((i) => `cell_${states[i]}`);
    const inputs = [
      LAYER_INPUT,
      LAYER_LENGTHS,
      ...states.map((name) => `initial_${name}`),
      ...cellStates.map((name) => `initial_${name}`),
    ];
    found = { output: LAYER_OUTPUT, states, cellStates, inputs };
    namesOf.set(model, found);
  }
  return found;
}

/** The state outputs' names: `state` for one layer and direction, else `state_i` in state order. */
export const stateNames = (model: ResolvedModel): readonly string[] => names(model).states;

/** The LSTM layers' cell-state outputs: `cell_state`, or `cell_state_i` for state i (its pair `state_i`). */
export const cellStateNames = (model: ResolvedModel): readonly string[] => names(model).cellStates;

export const layerOutputNames = (model: ResolvedModel): Names => names(model);

/** The inputs, the one required first: `input`, `lengths`, the initial states, the initial cell states. */
export const layerInputNames = (model: ResolvedModel): readonly string[] => names(model).inputs;
