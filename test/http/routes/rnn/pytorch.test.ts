/**
 * PyTorch users' expectations on POST /rnn/forward, checked against torch itself: the cases of
 * test/fixtures/pytorch/cases.json (written by scripts/make-pytorch-fixtures.py with torch's nn.RNN: state_dicts,
 * inputs, h0, torch's output and h_n) are sent as `pytorchWeights` and must come back within 1e-5, with
 * `initialState` in h0's own shape, `stateLayout: pytorch` answering h_n's shape, a state_dict without biases
 * meaning useBias false, and packed sequences (pack_padded_sequence → pad_packed_sequence) being `lengths` with
 * `zeroOutputForMask: true`.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { maxAbsDiff } from '../../../helpers/tfjs.js';

interface TorchCase {
  name: string;
  'nn.RNN': {
    num_layers: number;
    hidden_size: number;
    nonlinearity: 'tanh' | 'relu';
    bias: boolean;
    bidirectional: boolean;
  };
  stateDict: Record<string, number[] | number[][]>;
  inputs: number[][][];
  h0: number[][][] | null;
  lengths: number[] | null;
  output: number[][][];
  h_n: number[][][];
}

const { cases } = JSON.parse(
  readFileSync(new URL('../../../fixtures/pytorch/cases.json', import.meta.url), 'utf8'),
) as {
  cases: TorchCase[];
};
const TOLERANCE = 1e-5;

/** The /rnn/forward body of a case: its state_dict, inputs, h0 as torch takes it, and lengths for a packed batch. */
function requestOf(c: TorchCase, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rnn = c['nn.RNN'];
  return {
    inputs: c.inputs,
    pytorchWeights: c.stateDict,
    activation: rnn.nonlinearity,
    ...(rnn.bidirectional ? { bidirectional: { mergeMode: 'concat' } } : {}),
    ...(c.h0 !== null ? { initialState: c.h0 } : {}),
    ...(c.lengths !== null ? { lengths: c.lengths, zeroOutputForMask: true } : {}),
    ...extra,
  };
}

t.test('the fixtures come from torch and cover what they claim', async (t) => {
  t.equal(cases.length, 8);
  t.ok(
    cases.some((c) => c['nn.RNN'].num_layers === 1 && c.h0 !== null),
    'one layer with h0',
  );
  t.ok(
    cases.some((c) => c['nn.RNN'].num_layers === 3),
    'three layers',
  );
  t.ok(
    cases.some((c) => !c['nn.RNN'].bias && c['nn.RNN'].bidirectional),
    'bidirectional without bias',
  );
  t.ok(
    cases.some((c) => c.lengths !== null && c['nn.RNN'].bidirectional && c.h0 !== null),
    'packed, bidirectional, h0',
  );
  for (const c of cases) {
    const keys = Object.keys(c.stateDict);
    t.equal(
      keys.some((k) => k.startsWith('bias_')),
      c['nn.RNN'].bias,
      `${c.name}: bias entries iff nn.RNN(bias=True)`,
    );
  }
});

for (const c of cases) {
  const rnn = c['nn.RNN'];
  const entries = rnn.num_layers * (rnn.bidirectional ? 2 : 1);
  const batch = c.inputs.length;

  t.test(`${c.name}: torch's output and h_n, stateLayout pytorch`, async (t) => {
    const { app } = await build(t);
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      payload: requestOf(c, { stateLayout: 'pytorch' }),
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 400));
    const body = res.json();
    const outputDiff = maxAbsDiff(body.outputs, c.output);
    t.ok(outputDiff <= TOLERANCE, `max |output - torch| = ${outputDiff}`);
    t.same(body.shapes.states, [entries, batch, rnn.hidden_size], 'h_n shape [layers·directions, batch, hidden]');
    const stateDiff = maxAbsDiff(body.states, c.h_n);
    t.ok(stateDiff <= TOLERANCE, `max |states - h_n| = ${stateDiff}`);
    t.same(
      body.model.layers.map((l: { useBias: boolean; activation: string }) => [l.useBias, l.activation]),
      Array.from({ length: rnn.num_layers }, () => [rnn.bias, rnn.nonlinearity]),
      'useBias follows the state_dict; the activation is nn.RNN nonlinearity',
    );
  });

  t.test(`${c.name}: the keras layout and the flat format carry the same h_n`, async (t) => {
    const { app } = await build(t);
    const keras = (await app.inject({ method: 'POST', url: '/rnn/forward', payload: requestOf(c) })).json();
    if (entries === 1) {
      t.same(keras.shapes.states, [batch, rnn.hidden_size]);
      t.ok(maxAbsDiff(keras.states, c.h_n[0]) <= TOLERANCE, 'one [batch, hidden] state: h_n[0]');
    } else {
      t.same(
        keras.shapes.states,
        c.h_n.map(() => [batch, rnn.hidden_size]),
      );
      t.ok(maxAbsDiff(keras.states, c.h_n) <= TOLERANCE, 'a list of states: h_n, layer by layer and direction');
    }
    const flat = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      payload: requestOf(c, { stateLayout: 'pytorch', outputFormat: 'flat' }),
    });
    t.equal(flat.statusCode, 200, flat.body.slice(0, 300));
    const states = flat.json().states;
    t.same(states.shape, [entries, batch, rnn.hidden_size], 'one flat tensor');
    t.ok(maxAbsDiff(states.data, c.h_n.flat(2)) <= TOLERANCE, 'its data is h_n, row-major');
  });

  if (c.lengths !== null) {
    const lengths = c.lengths;
    t.test(`${c.name}: a ragged batch (the sequences cut at their lengths) is the same packed sequence`, async (t) => {
      const { app } = await build(t);
      const ragged = requestOf(c, { stateLayout: 'pytorch', inputs: c.inputs.map((s, b) => s.slice(0, lengths[b])) });
      delete ragged.lengths;
      const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: ragged });
      t.equal(res.statusCode, 200, res.body.slice(0, 300));
      const body = res.json();
      t.ok(maxAbsDiff(body.outputs, c.output) <= TOLERANCE, "pad_packed_sequence's zero-padded output");
      t.ok(maxAbsDiff(body.states, c.h_n) <= TOLERANCE, 'h_n at each sequence end');
      const padded = body.outputs.flatMap((s: number[][], b: number) => s.slice(lengths[b]).flat());
      t.ok(padded.length > 0 && padded.every((x: number) => x === 0), 'padded steps are exact zeros');
    });
  }
}

t.test('a state_dict without biases contradicts only an explicit useBias: true', async (t) => {
  const { app } = await build(t);
  const noBias = cases.find((c) => c.name === 'one layer, no bias') as TorchCase;
  const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: requestOf(noBias, { useBias: true }) });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.equal(body.errors[0].path, 'pytorchWeights.bias_ih_l0');
  t.match(
    body.errors[0].message,
    /is missing, and useBias is true: a state_dict without bias entries is nn\.RNN\(bias=False\)/,
  );

  const agreed = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(noBias, { useBias: false }),
  });
  t.equal(agreed.statusCode, 200, 'useBias: false said explicitly agrees');
  t.ok(maxAbsDiff(agreed.json().outputs, noBias.output) <= TOLERANCE);

  const withBias = cases.find((c) => c.name === 'one layer, h0') as TorchCase;
  const contradicted = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(withBias, { useBias: false }),
  });
  t.equal(contradicted.statusCode, 400, 'biases with useBias: false stay a contradiction');
  t.equal(contradicted.json().errors[0].path, 'pytorchWeights.bias_ih_l0');

  const { bias_hh_l0: _dropped, ...halfBias } = withBias.stateDict;
  const half = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(withBias, { pytorchWeights: halfBias }),
  });
  t.equal(half.statusCode, 400, 'one bias of the two is still an error');
  t.equal(half.json().errors[0].path, 'pytorchWeights.bias_hh_l0');
});

t.test('initialState: h0 shapes that do not fit the model name what they expected', async (t) => {
  const { app } = await build(t);
  const one = cases.find((c) => c.name === 'one layer, h0') as TorchCase;
  const h0 = one.h0 as number[][][];
  const twice = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(one, { initialState: [h0[0], h0[0]] }),
  });
  t.equal(twice.statusCode, 400);
  t.equal(twice.json().errors[0].path, 'initialState');
  t.match(
    twice.json().errors[0].message,
    /has 2 states; expected 1 \(the one layer: \[batch, hiddenSize\], or PyTorch h0 \[1, batch, hiddenSize\]\)/,
  );

  const narrow = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(one, { initialState: [h0[0].map((row) => row.slice(1))] }),
  });
  t.equal(narrow.statusCode, 400);
  t.equal(narrow.json().errors[0].path, 'initialState[0][0]', 'the h0 form is named by its index');

  const keras = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: requestOf(one, { initialState: h0[0] }),
  });
  t.equal(keras.statusCode, 200, '[batch, hidden] for one layer is still accepted');
  t.ok(maxAbsDiff(keras.json().outputs, one.output) <= TOLERANCE);
});

t.test('stateLayout pytorch needs one hidden size throughout', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: { inputs: [[[1, 0]]], layers: [{ hiddenSize: 3 }, { hiddenSize: 2 }], seed: 1, stateLayout: 'pytorch' },
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errors[0].path, 'stateLayout');
  t.match(res.json().errors[0].message, /layer 1 has 2 units and layer 0 3: use keras/);

  const bad = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: { inputs: [[[1, 0]]], hiddenSize: 2, seed: 1, stateLayout: 'torch' },
  });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors[0].path, 'stateLayout');
});

t.test('a served model answers h_n in the pytorch layout too', async (t) => {
  const { modelsDir } = await import('../../../helpers/models.js');
  const c = cases.find((x) => x.name === 'bidirectional, two layers, no bias, h0') as TorchCase;
  const dir = modelsDir(t, {
    'torch/1/model.json': {
      format: 'rnn-serve/v1',
      inputDim: c.inputs[0][0].length,
      pytorchWeights: c.stateDict,
      activation: 'tanh',
      bidirectional: { mergeMode: 'concat' },
    },
  });
  const { app } = await build(t, { models: { dir } });
  const res = await app.inject({
    method: 'POST',
    url: '/models/torch/forward',
    payload: { inputs: c.inputs, initialState: c.h0, stateLayout: 'pytorch' },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.ok(maxAbsDiff(body.outputs, c.output) <= TOLERANCE, 'output');
  t.same(body.shapes.states, [4, c.inputs.length, 3]);
  t.ok(maxAbsDiff(body.states, c.h_n) <= TOLERANCE, 'h_n');
});
