/**
 * The edges of the TF.js family: what we cannot run stops start-up with one line naming the file and the layer;
 * requests a many-to-one or mixed model cannot answer are a 400 naming the field; and what Keras writes but tfjs
 * does not (Flatten on [batch, features], Keras 3's `Functional` with its inbound node format) is served as tfjs
 * computes the model without it.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { build, configWith } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { maxAbsDiff } from '../helpers/tfjs.js';

const FAMILY = fileURLToPath(new URL('../fixtures/tfjs-family/', import.meta.url));
const readJson = (name: string, file: string) => JSON.parse(readFileSync(join(FAMILY, name, file), 'utf8'));

/** A repository holding fixture `name` as `name/1`, its model.json optionally changed. */
function repository(t: { teardown(fn: () => unknown): void }, name: string, change?: (json: any) => void): string {
  const dir = modelsDir(t, {});
  cpSync(join(FAMILY, name), join(dir, name, '1'), { recursive: true });
  if (change) {
    const json = readJson(name, 'model.json');
    change(json);
    writeFileSync(join(dir, name, '1', 'model.json'), JSON.stringify(json));
  }
  return dir;
}

const layers = (json: any) => json.modelTopology.config.layers;

/** fixture, the corruption of its model.json, the one-line reason. */
const REFUSED: [string, string, (json: any) => void, RegExp][] = [
  [
    'a Keras RNN layer (a cell in a generic wrapper)',
    'many-to-one',
    (json) => (layers(json)[1].class_name = 'RNN'),
    /layer 1 \(RNN 'simple_rnn_SimpleRNN1'\): RNN is not supported; supported: InputLayer, Masking, Embedding, SimpleRNN, LSTM, GRU, Bidirectional\(SimpleRNN, LSTM or GRU\), Dense, TimeDistributed\(Dense\), Activation, Flatten, Dropout, SpatialDropout1D$/,
  ],
  [
    'a Conv1D',
    'stacked',
    (json) => layers(json).splice(1, 0, { class_name: 'Conv1D', config: { name: 'conv', filters: 4 } }),
    /layer 1 \(Conv1D 'conv'\): Conv1D is not supported; supported: InputLayer/,
  ],
  [
    'a ConvLSTM1D in Bidirectional',
    'mixed-sequences',
    (json) => (layers(json)[3].config.layer.class_name = 'ConvLSTM1D'),
    /layer 3 \(Bidirectional 'bidirectional_Bidirectional3'\): Bidirectional\(ConvLSTM1D\) is not supported/,
  ],
  [
    'stateful',
    'stacked',
    (json) => (layers(json)[2].config.stateful = true),
    /layer 2 \(SimpleRNN 'simple_rnn_SimpleRNN3'\): stateful is not supported$/,
  ],
  [
    'an unknown merge mode',
    'mixed-sequences',
    (json) => (layers(json)[3].config.merge_mode = 'max'),
    /layer 3 .*: merge_mode 'max' is not supported \(concat, sum, mul, ave, or null as the last layer\)$/,
  ],
  [
    'an unknown activation in an Activation layer',
    'layers',
    (json) => (layers(json)[4].config.activation = 'gelu'),
    /layer 4 \(Activation 'activation_Activation1'\): activation 'gelu' is not supported/,
  ],
  [
    'merge_mode null before another layer',
    'mixed-sequences',
    (json) => (layers(json)[1].config.merge_mode = null),
    /layer 2 \(SimpleRNN 'simple_rnn_SimpleRNN7'\): follows layer 1 \(Bidirectional 'bidirectional_Bidirectional2'\), whose merge_mode null leaves two tensors; only supported as the last layer$/,
  ],
  [
    'a recurrent layer after one that returns its last step',
    'stacked',
    (json) => (layers(json)[0].config.return_sequences = false),
    /layer 2 \(SimpleRNN 'simple_rnn_SimpleRNN3'\): follows a recurrent layer with return_sequences false, which leaves no time axis/,
  ],
  [
    'Flatten of a sequence',
    'tagger',
    (json) => layers(json).splice(1, 0, { class_name: 'Flatten', config: { name: 'flat' } }),
    /layer 1 \(Flatten 'flat'\): Flatten of a sequence is not supported \(only after a recurrent layer with return_sequences false\)$/,
  ],
  [
    'TimeDistributed after the last step',
    'many-to-one',
    (json) => (layers(json)[2] = { class_name: 'TimeDistributed', config: { name: 'td', layer: layers(json)[2] } }),
    /layer 2 \(TimeDistributed 'td'\): TimeDistributed needs a sequence, but the recurrent layer before returns its last step only$/,
  ],
  [
    'an Activation before the recurrent layers',
    'stacked',
    (json) => layers(json).splice(0, 0, { class_name: 'Activation', config: { name: 'act', activation: 'relu' } }),
    /layer 0 \(Activation 'act'\): Activation before any recurrent layer is not supported$/,
  ],
  [
    'a recurrent layer after a Dense one',
    'tagger',
    (json) => layers(json).push({ ...layers(json)[0], config: { ...layers(json)[0].config, name: 'again' } }),
    /layer 2 \(SimpleRNN 'again'\): a recurrent layer after Dense or Activation layers is not supported$/,
  ],
  [
    'an InputLayer in the middle',
    'layers',
    (json) => layers(json).splice(2, 0, layers(json)[0]),
    /layer 2 \(InputLayer 'input4'\): InputLayer is only supported as the first layer$/,
  ],
  [
    'a functional model that branches',
    'functional-state',
    (json) => (layers(json)[2].inbound_nodes = [[['input5', 0, 0, {}]]]),
    /layer 2 \(SimpleRNN 'simple_rnn_SimpleRNN17'\): takes output 0 of 'input5'; supported: a chain, each layer taking output 0 of the layer before \('simple_rnn_SimpleRNN16'\)$/,
  ],
  [
    'a functional model taking a state as input',
    'functional-state',
    (json) => (layers(json)[2].inbound_nodes = [[['simple_rnn_SimpleRNN16', 0, 1, {}]]]),
    /takes output 1 of 'simple_rnn_SimpleRNN16'; supported: a chain/,
  ],
  [
    'a functional model with two inputs to a layer',
    'functional-state',
    (json) => layers(json)[2].inbound_nodes[0].push(['input5', 0, 0, {}]),
    /layer 2 .*: inbound_nodes is .*; expected one call on one tensor \(a chain of layers\)$/,
  ],
  [
    'a functional model with two inputs',
    'functional-state',
    (json) => json.modelTopology.config.input_layers.push(['other', 0, 0]),
    /modelTopology\.config\.input_layers: is \[\["input5",0,0\],\["other",0,0\]\]; expected \[\['input5', 0, 0\]\]$/,
  ],
  [
    "a functional model's output from an inner layer",
    'functional-state',
    (json) => (json.modelTopology.config.output_layers[1] = ['simple_rnn_SimpleRNN16', 0, 1]),
    /modelTopology\.config\.output_layers\[1\]: is output 1 of 'simple_rnn_SimpleRNN16'; supported: the outputs of the last layer \('simple_rnn_SimpleRNN17'\) in order$/,
  ],
  [
    'states listed without return_state',
    'functional-state',
    (json) => (layers(json)[2].config.return_state = false),
    /modelTopology\.config\.output_layers: lists 2 outputs; more than 1 only from a last recurrent layer with return_state true$/,
  ],
];

t.test('what we cannot run stops start-up: one line naming the file and the layer', async (t) => {
  for (const [name, fixture, change, reason] of REFUSED) {
    const dir = repository(t, fixture, change);
    const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
      (app) => app.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(error instanceof Error, `${name}: refused`);
    const message = (error as Error).message;
    t.match(message, new RegExp(`^${dir}/${fixture}/1/model\\.json: `), `${name}: names the file`);
    t.notOk(message.includes('\n'), `${name}: one line`);
    t.match(message.slice(`${dir}/${fixture}/1/model.json: `.length), reason, name);
  }
});

t.test('a many-to-one model answers the last step, and refuses every step with a 400', async (t) => {
  const expected = readJson('many-to-one', 'expected.json');
  const { app } = await build(t, { models: { dir: repository(t, 'many-to-one') } });
  const url = '/models/many-to-one/forward';
  const last = await app.inject({ method: 'POST', url, payload: { inputs: expected.inputs, returnSequences: false } });
  t.equal(last.statusCode, 200, 'returnSequences false is what it does anyway');
  t.ok(maxAbsDiff(last.json().outputs, expected.outputs) < 1e-5);
  const every = await app.inject({ method: 'POST', url, payload: { inputs: expected.inputs, returnSequences: true } });
  t.equal(every.statusCode, 400);
  t.match(every.headers['content-type'], /^application\/problem\+json/);
  t.match(every.json().errors[0], {
    path: 'returnSequences',
    message:
      "is true, but model 'many-to-one' version 1 is many-to-one: its last recurrent layer returns the last step only (return_sequences false in many-to-one/1/model.json); drop returnSequences",
  });
  const meta = (await app.inject({ method: 'GET', url: '/models/many-to-one' })).json();
  t.same(
    meta.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['outputs', [-1, 4]],
      ['states', [-1, 4]],
    ],
    'one outputs entry: the last step',
  );
});

t.test('a mixed stack takes its initial states in state order, and says how many it needs', async (t) => {
  // mixed-last: SimpleRNN(4), Bidirectional(3, sum), Bidirectional(2, mul): 5 states.
  const expected = readJson('mixed-last', 'expected.json');
  const { app } = await build(t, { models: { dir: repository(t, 'mixed-last') } });
  const url = '/models/mixed-last/forward';
  const zeros = (h: number) => [new Array(h).fill(0), new Array(h).fill(0)];
  const initialState = [zeros(4), zeros(3), zeros(3), zeros(2), zeros(2)];
  const given = await app.inject({ method: 'POST', url, payload: { inputs: expected.inputs, initialState } });
  t.equal(given.statusCode, 200, given.body.slice(0, 300));
  t.ok(maxAbsDiff(given.json().outputs, expected.outputs) < 1e-5, 'zero initial states are the default');
  t.same(given.json().shapes.states, [
    [2, 4],
    [2, 3],
    [2, 3],
    [2, 2],
    [2, 2],
  ]);
  const short = await app.inject({
    method: 'POST',
    url,
    payload: { inputs: expected.inputs, initialState: initialState.slice(0, 4) },
  });
  t.equal(short.statusCode, 400);
  t.match(short.json().errors[0], {
    path: 'initialState',
    message: /has 4 states; expected 5 \(layer 0 forward, \.\.\.\)/,
  });
  const wrong = await app.inject({
    method: 'POST',
    url,
    payload: { inputs: expected.inputs, initialState: [zeros(4), zeros(3), zeros(2), zeros(2), zeros(2)] },
  });
  t.equal(wrong.statusCode, 400);
  t.match(wrong.json().errors[0], { path: 'initialState[2][0]', message: /hiddenSize of layer 1/ });
  const meta = (await app.inject({ method: 'GET', url: '/models/mixed-last' })).json();
  t.same(
    meta.outputs.slice(1).map((o: { description: string }) => o.description.split(',')[0]),
    [
      'final state of layer 0',
      'final state of layer 1 forward',
      'final state of layer 1 backward',
      'final state of layer 2 forward',
      'final state of layer 2 backward',
    ],
  );
  const v2 = (await app.inject({ method: 'GET', url: '/v2/models/mixed-last' })).json();
  t.same(
    v2.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['output', [-1, 3]],
      ['state_0', [-1, 4]],
      ['state_1', [-1, 3]],
      ['state_2', [-1, 3]],
      ['state_3', [-1, 2]],
      ['state_4', [-1, 2]],
    ],
  );
});

t.test('what Keras writes and tfjs does not is served as tfjs computes the model without it', async (t) => {
  // Flatten on [batch, features] (tfjs refuses it; Keras allows it) changes nothing.
  const flattened = repository(t, 'layers', (json) =>
    layers(json).splice(5, 0, { class_name: 'Flatten', config: { name: 'flatten', data_format: 'channels_last' } }),
  );
  // Keras 3: class_name Functional, inbound nodes as {args: [keras tensor], kwargs}, batch_shape, a bare input.
  const keras3 = repository(t, 'functional-state', (json) => {
    json.modelTopology.class_name = 'Functional';
    json.modelTopology.config.input_layers = json.modelTopology.config.input_layers[0];
    const [input, ...rest] = layers(json);
    input.config.batch_shape = input.config.batch_input_shape;
    delete input.config.batch_input_shape;
    for (const layer of rest) {
      const [[[name, node, tensor]]] = layer.inbound_nodes;
      layer.inbound_nodes = [
        { args: [{ class_name: '__keras_tensor__', config: { keras_history: [name, node, tensor] } }], kwargs: {} },
      ];
    }
  });
  for (const [dir, name] of [
    [flattened, 'layers'],
    [keras3, 'functional-state'],
  ]) {
    const expected = readJson(name, 'expected.json');
    const { app } = await build(t, { models: { dir } });
    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.ok(maxAbsDiff(res.json().outputs, expected.outputs) < 1e-5, `${name}: as tfjs model.predict`);
  }
});

t.test('the shipped next-char: which of h, e, l, o follows, as tfjs predicts it', async (t) => {
  const dir = fileURLToPath(new URL('../../models', import.meta.url));
  const expected = JSON.parse(readFileSync(join(FAMILY, 'next-char.json'), 'utf8')) as {
    prefixes: string[];
    inputs: number[][][];
    outputs: number[][][];
  };
  const { app } = await build(t, { models: { dir } });
  const meta = (await app.inject({ method: 'GET', url: '/models/next-char' })).json();
  t.same(meta.inputs[0].shape, [-1, -1, 1], 'one character id per step');
  t.same(meta.outputs[0].shape, [-1, 4], 'a distribution over h, e, l, o');
  // The prefixes as one ragged batch: shorter ones are padded with id 0, which the Embedding masks.
  const res = await app.inject({
    method: 'POST',
    url: '/models/next-char/forward',
    payload: { inputs: expected.inputs },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const { outputs } = res.json() as { outputs: number[][] };
  t.ok(
    maxAbsDiff(
      outputs,
      expected.outputs.map((o) => o[0]),
    ) < 1e-5,
    'each prefix as tfjs predicts it alone',
  );
  const next = outputs.map((p) => 'helo'[p.indexOf(Math.max(...p))]);
  t.same(next, ['e', 'l', 'l', 'o'], 'h→e, he→l, hel→l, hell→o');

  const v2 = await app.inject({
    method: 'POST',
    url: '/v2/models/next-char/infer',
    payload: {
      inputs: [{ name: 'input', shape: [1, 3, 1], datatype: 'INT64', data: [1, 2, 3] }],
      outputs: [{ name: 'output' }],
    },
  });
  t.equal(v2.statusCode, 200, v2.body.slice(0, 300));
  t.same(v2.json().outputs[0].shape, [1, 4]);
  t.ok(maxAbsDiff(v2.json().outputs[0].data, expected.outputs[2][0]) < 1e-5, '"hel" over the inference protocol');

  // labels.txt names the classes: the most likely next character, by name, on both routes.
  t.same(meta.labels, ['h', 'e', 'l', 'o']);
  const top = await app.inject({
    method: 'POST',
    url: '/models/next-char/forward',
    payload: { inputs: [[[1], [2], [3]]], topK: 2, returnState: false },
  });
  t.equal(top.statusCode, 200, top.body.slice(0, 300));
  const classes = top.json().classes as { score: number; index: number; label: string }[][];
  const hel = expected.outputs[2][0];
  const ranked = [0, 1, 2, 3].sort((a, b) => hel[b] - hel[a]).slice(0, 2);
  t.same(
    classes[0].map((c) => [c.index, c.label]),
    ranked.map((i) => [i, 'helo'[i]]),
    'the two likeliest characters after "hel", named',
  );
  t.ok(
    maxAbsDiff(
      classes[0].map((c) => c.score),
      ranked.map((i) => hel[i]),
    ) < 1e-5,
    'with their probabilities',
  );
  const classified = await app.inject({
    method: 'POST',
    url: '/v2/models/next-char/infer',
    payload: {
      inputs: [{ name: 'input', shape: [1, 3, 1], datatype: 'INT64', data: [1, 2, 3] }],
      outputs: [{ name: 'output', parameters: { classification: 1 } }],
    },
  });
  t.equal(classified.statusCode, 200, classified.body.slice(0, 300));
  const [output] = classified.json().outputs as { datatype: string; shape: number[]; data: string[] }[];
  t.equal(output.datatype, 'BYTES');
  t.match(output.data[0], new RegExp(`^0\\.99\\d*:${ranked[0]}:${'helo'[ranked[0]]}$`), 'score:index:label');
});
