/**
 * Repository models (rnn-serve/v1) with LSTM and GRU layers through the Open Inference Protocol and
 * POST /models/{name}/forward: metadata names the cell-state outputs and inputs, and every answer (JSON and
 * binary) equals POST /rnn/forward on the same description.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { modelsDir } from '../../../helpers/models.js';
import { flat, randomNested, rng } from '../../../helpers/random.js';

const LSTM = { format: 'rnn-serve/v1', inputDim: 2, cell: 'lstm', hiddenSize: 3, seed: 4 };
const MIXED = {
  format: 'rnn-serve/v1',
  inputDim: 2,
  layers: [
    { hiddenSize: 3, cell: 'gru' },
    { hiddenSize: 2, cell: 'lstm', unitForgetBias: false },
  ],
  bidirectional: { mergeMode: 'concat' },
  seed: 9,
};

async function setUp(t: { teardown(fn: () => unknown): void }) {
  return build(t, { models: { dir: modelsDir(t, { 'lstm/1/model.json': LSTM, 'mixed/2/model.json': MIXED }) } });
}

type App = Awaited<ReturnType<typeof setUp>>['app'];

const INPUTS = randomNested(rng(21), [2, 3, 2]);

/** POST /rnn/forward with a repository model's description: the answer every other route must equal. */
async function direct(app: App, model: object, extra: object = {}) {
  const { format: _format, inputDim: _inputDim, ...description } = model as Record<string, unknown>;
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: { ...description, inputs: INPUTS, ...extra },
  });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json();
}

const input = { name: 'input', datatype: 'FP32', shape: [2, 3, 2], data: Array.from(flat(INPUTS)) };

t.test('metadata: cell_state outputs and initial_cell_state inputs, named after their states', async (t) => {
  const { app } = await setUp(t);
  const lstm = (await app.inject({ method: 'GET', url: '/v2/models/lstm' })).json();
  t.same(
    lstm.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['output', [-1, -1, 3]],
      ['state', [-1, 3]],
      ['cell_state', [-1, 3]],
    ],
  );
  t.match(lstm.parameters.optional_inputs, /initial_cell_state FP32 \[batch, 3\]/);
  const mixed = (await app.inject({ method: 'GET', url: '/v2/models/mixed' })).json();
  t.same(
    mixed.outputs.map((o: { name: string }) => o.name),
    ['output', 'state_0', 'state_1', 'state_2', 'state_3', 'cell_state_2', 'cell_state_3'],
    "a mixed stack: the LSTM layer's two directions, named as their states",
  );
  const summary = (await app.inject({ method: 'GET', url: '/models/mixed' })).json();
  t.match(JSON.stringify(summary), /cellStates\[1\]/, '/models/{name} lists the cell states too');
});

t.test('infer (JSON and binary) equals /rnn/forward: outputs, states and cell states', async (t) => {
  const { app } = await setUp(t);
  for (const [name, model] of [
    ['lstm', LSTM],
    ['mixed', MIXED],
  ] as const) {
    const expected = await direct(app, model);
    const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: { inputs: [input] } });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const outputs = new Map<string, number[]>(
      res.json().outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]),
    );
    t.same(flat(outputs.get('output')), flat(expected.outputs), `${name}: output`);
    const cells =
      name === 'lstm' ? [outputs.get('cell_state')] : [outputs.get('cell_state_2'), outputs.get('cell_state_3')];
    t.same(flat(cells), flat(expected.cellStates), `${name}: cell states equal cellStates`);
    const forward = await app.inject({ method: 'POST', url: `/models/${name}/forward`, payload: { inputs: INPUTS } });
    t.same(forward.json().cellStates, expected.cellStates, `${name}: /models/{name}/forward carries cellStates`);

    const binary = await app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      payload: {
        inputs: [input],
        outputs: [{ name: name === 'lstm' ? 'cell_state' : 'cell_state_3' }],
        parameters: { binary_data_output: true },
      },
    });
    t.equal(binary.statusCode, 200);
    const length = Number(binary.headers['inference-header-content-length']);
    const bytes = binary.rawPayload.subarray(length);
    const values = new Float32Array(bytes.length / 4).map((_, i) => bytes.readFloatLE(4 * i));
    const last = name === 'lstm' ? expected.cellStates : expected.cellStates[1];
    t.same(values, flat(last), `${name}: the binary cell state`);
  }
});

t.test('initial_cell_state continues from a given c, as initialCellState does', async (t) => {
  const { app } = await setUp(t);
  const c0 = [
    [0.5, -0.25, 1],
    [0, 0.75, -1],
  ];
  const expected = await direct(app, LSTM, { initialCellState: c0 });
  const res = await app.inject({
    method: 'POST',
    url: '/v2/models/lstm/infer',
    payload: { inputs: [input, { name: 'initial_cell_state', datatype: 'FP32', shape: [2, 3], data: c0.flat() }] },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const state = res.json().outputs.find((o: { name: string }) => o.name === 'state');
  t.same(flat(state.data), flat(expected.states), 'the final h follows from c0');
  const zero = await direct(app, LSTM);
  t.not(JSON.stringify(expected.states), JSON.stringify(zero.states), 'and c0 mattered');

  const partial = await app.inject({
    method: 'POST',
    url: '/v2/models/mixed/infer',
    payload: {
      inputs: [input, { name: 'initial_cell_state_2', datatype: 'FP32', shape: [2, 2], data: [0, 0, 0, 0] }],
    },
  });
  t.equal(partial.statusCode, 400);
  t.match(partial.json().error, /initial_cell_state_3.*every initial cell state/);
});
