/**
 * layer-metadata.ts: a served layer model's metadata (the inference protocol's tensors and parameters) and its
 * forward view. Held to the names, datatypes and shapes of a single layer, a stack with an LSTM layer, a
 * bidirectional model answering both directions, a many-to-one classifier and an Embedding model.
 */
import t from 'tap';
import { defaultModelConfig } from '../../src/models/model-config/model-config.js';
import { LAYERS_PLATFORM, layerMetadata } from '../../src/models/layer-metadata.js';
import type { RnnServedModel } from '../../src/models/model-file.js';
import { modelSummary } from '../../src/inference/model.js';
import { explicitModel, layer, softmaxHead } from '../helpers/inference.js';

const served = (model: RnnServedModel['model'], extra: Partial<RnnServedModel> = {}): RnnServedModel => ({
  kind: 'rnn',
  name: 'm',
  version: '3',
  file: 'm/3/model.json',
  description: {},
  model,
  vocabulary: null,
  config: defaultModelConfig(),
  ...extra,
});

t.test('one SimpleRNN layer with a vocabulary', async (t) => {
  const model = explicitModel({ layers: [layer(3)], bidirectional: null }, 4);
  const metadata = layerMetadata(served(model, { vocabulary: ['h', 'e', 'l', 'o'] }));
  t.same([metadata.name, metadata.version, metadata.platform], ['m', '3', LAYERS_PLATFORM]);
  t.same(metadata.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, -1, 4] }]);
  t.same(metadata.outputs, [
    { name: 'output', datatype: 'FP32', shape: [-1, -1, 3] },
    { name: 'state', datatype: 'FP32', shape: [-1, 3] },
  ]);
  t.same(metadata.parameters, {
    input_datatypes: 'FP32, FP64, FP16',
    optional_inputs:
      'lengths INT32|INT64 [batch] (valid steps per sequence; later steps are masked); initial_state FP32 [batch, 3] (the initial state)',
  });
  t.same(metadata.view.inputs, [{ name: 'inputs', shape: [-1, -1, 4], description: '[batch, time, inputDim]' }]);
  t.same(metadata.view.outputs, [
    {
      name: 'outputs',
      shape: [-1, -1, 3],
      description: 'returnSequences true (default): every step, [batch, time, features]',
    },
    { name: 'outputs', shape: [-1, 3], description: 'returnSequences false: the last step, [batch, features]' },
    { name: 'states', shape: [-1, 3], description: 'final state of layer 0, [batch, hiddenSize]' },
  ]);
  t.same(metadata.view.vocabulary, ['h', 'e', 'l', 'o']);
  t.equal(metadata.view.labels, null);
  t.same(metadata.view.model, modelSummary(model));
});

t.test('a stack with an LSTM layer: states per layer, its cell state', async (t) => {
  const model = explicitModel(
    { layers: [layer(2, { cell: 'lstm' }), layer(5, { cell: 'gru' })], bidirectional: null },
    3,
  );
  const metadata = layerMetadata(served(model));
  t.same(
    metadata.outputs.map((o) => [o.name, o.shape]),
    [
      ['output', [-1, -1, 5]],
      ['state_0', [-1, 2]],
      ['state_1', [-1, 5]],
      ['cell_state_0', [-1, 2]],
    ],
  );
  t.equal(
    metadata.parameters.optional_inputs,
    'lengths INT32|INT64 [batch] (valid steps per sequence; later steps are masked); ' +
      'initial_state_0 FP32 [batch, 2], initial_state_1 FP32 [batch, 5] (the initial states, all or none, in state order); ' +
      "initial_cell_state_0 FP32 [batch, 2] (the LSTM layers' initial cell state)",
  );
  t.same(
    metadata.view.outputs.slice(2).map((o) => [o.name, o.description]),
    [
      ['states[0]', 'final state of layer 0, [batch, hiddenSize]'],
      ['states[1]', 'final state of layer 1, [batch, hiddenSize]'],
      ['cellStates', 'final cell state (c) of layer 0, [batch, hiddenSize]'],
    ],
  );
});

t.test('both directions answered apart (mergeMode null): [2, ...] outputs, forward first', async (t) => {
  const model = explicitModel({ layers: [layer(2)], bidirectional: { mergeMode: null } }, 3);
  const metadata = layerMetadata(served(model));
  t.same(metadata.outputs[0].shape, [2, -1, -1, 2]);
  t.same(
    metadata.view.outputs.map((o) => [o.name, o.shape, o.description]),
    [
      [
        'outputs',
        [2, -1, -1, 2],
        'returnSequences true (default): every step, [2, batch, time, hiddenSize], forward first',
      ],
      ['outputs', [2, -1, 2], 'returnSequences false: the last step, [2, batch, hiddenSize], forward first'],
      ['states[0]', [-1, 2], 'final state of layer 0 forward, [batch, hiddenSize]'],
      ['states[1]', [-1, 2], 'final state of layer 0 backward, [batch, hiddenSize]'],
    ],
  );
});

t.test('a many-to-one classifier and an Embedding model', async (t) => {
  const classifier = explicitModel({ layers: [layer(4)], bidirectional: null }, 2, {
    head: [softmaxHead(4, 3)],
    lastStep: true,
  });
  const metadata = layerMetadata(served(classifier, { labels: ['a', 'b', 'c'] }));
  t.same(metadata.outputs[0], { name: 'output', datatype: 'FP32', shape: [-1, 3] }, 'the last step, 3 classes');
  t.same(metadata.view.outputs[0], {
    name: 'outputs',
    shape: [-1, 3],
    description: 'the last step (a many-to-one model), [batch, features]',
  });
  t.equal(metadata.view.outputs.length, 2, 'the last step and the state');
  t.same(metadata.view.labels, ['a', 'b', 'c']);
  const embedded = explicitModel({ layers: [layer(2)], bidirectional: null }, 2, {
    inputDim: 1,
    embedding: { inputDim: 50, outputDim: 2, embeddings: new Float32Array(100), maskZero: true },
  });
  const ids = layerMetadata(served(embedded));
  t.same(ids.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, -1, 1] }]);
  t.equal(ids.parameters.input_datatypes, 'FP32, FP64, FP16, INT64, INT32');
  t.equal(ids.parameters.input_ids, 'token ids, integers in [0, 50)');
});
