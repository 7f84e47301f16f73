/**
 * layer-names.ts names the tensors of a layer model: `input`, `lengths`, the initial states, the outputs `output`,
 * `state` or `state_i` and the LSTM layers' `cell_state(_i)`. Held to: the names of one layer, of a stack, of a
 * bidirectional layer (two states), and of a mixed stack where only the LSTM layers have cell states.
 */
import t from 'tap';
import {
  LAYER_INPUT,
  LAYER_LENGTHS,
  LAYER_OUTPUT,
  cellStateNames,
  layerInputNames,
  layerOutputNames,
  stateNames,
} from '../../src/inference/layer-names.js';
import { explicitModel, layer } from '../helpers/inference.js';

t.test('one layer, one direction: `state`, and no cell state unless LSTM', async (t) => {
  t.same([LAYER_INPUT, LAYER_LENGTHS, LAYER_OUTPUT], ['input', 'lengths', 'output']);
  const simple = explicitModel({ layers: [layer(3)], bidirectional: null }, 2);
  t.same(stateNames(simple), ['state']);
  t.same(cellStateNames(simple), []);
  t.same(layerInputNames(simple), ['input', 'lengths', 'initial_state']);
  const lstm = explicitModel({ layers: [layer(3, { cell: 'lstm' })], bidirectional: null }, 2);
  t.same(cellStateNames(lstm), ['cell_state']);
  t.same(layerInputNames(lstm), ['input', 'lengths', 'initial_state', 'initial_cell_state']);
  t.same(layerOutputNames(lstm), {
    output: 'output',
    states: ['state'],
    cellStates: ['cell_state'],
    inputs: ['input', 'lengths', 'initial_state', 'initial_cell_state'],
  });
});

t.test('a stack or a bidirectional layer: state_i in state order, cell states named as their pair', async (t) => {
  // GRU, then LSTM: the LSTM's state is state_1, so its cell state is cell_state_1.
  const mixed = explicitModel(
    { layers: [layer(2, { cell: 'gru' }), layer(2, { cell: 'lstm' })], bidirectional: null },
    2,
  );
  t.same(stateNames(mixed), ['state_0', 'state_1']);
  t.same(cellStateNames(mixed), ['cell_state_1']);
  t.same(layerInputNames(mixed), ['input', 'lengths', 'initial_state_0', 'initial_state_1', 'initial_cell_state_1']);
  // A bidirectional LSTM: forward then backward, each with its cell state.
  const both = explicitModel({ layers: [layer(2, { cell: 'lstm' })], bidirectional: { mergeMode: 'sum' } }, 2);
  t.same(stateNames(both), ['state_0', 'state_1']);
  t.same(cellStateNames(both), ['cell_state_0', 'cell_state_1']);
  // Bidirectional only at layer 1 of 2: states 0 (layer 0), 1 and 2 (layer 1's two directions).
  const partly = explicitModel(
    { layers: [layer(2), layer(2)], bidirectional: null, layerBidirectional: [null, { mergeMode: 'concat' }] },
    2,
  );
  t.same(stateNames(partly), ['state_0', 'state_1', 'state_2']);
  t.equal(stateNames(partly), stateNames(partly), 'made once per model');
});
