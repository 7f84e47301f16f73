/**
 * TF.js models with LSTM and GRU layers, saved by tfjs itself (scripts/make-tfjs-fixtures.ts), loaded through
 * the repository and served on /models/NAME/forward and /v2/models/NAME/infer within 1e-5 of tfjs's own
 * `model.predict` (the oracle: @tensorflow/tfjs 4.22, CPU backend): outputs, the last layer's final h, and an
 * LSTM's final c. Plain, Bidirectional, mixed with SimpleRNN, many-to-one with an Embedding mask, Masking (a
 * step inside a sequence and a padded tail), tfjs's default hardSigmoid gates and others. And a GRU with reset_after true, which tfjs cannot build: a model.json in
 * tensorflowjs_converter's Keras form whose weights and expected values come from PyTorch's nn.GRU
 * (test/fixtures/torch-cells/gru.json; the oracle there is PyTorch).
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { build } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { maxAbsDiff } from '../helpers/tfjs.js';

const GATED = fileURLToPath(new URL('../fixtures/tfjs-gated/', import.meta.url));
const TOLERANCE = 1e-5;

interface Expected {
  inputs: number[][][];
  outputs: unknown;
  /** The last recurrent layer's final h: one, or forward and backward. */
  states?: number[][][];
  /** The last (LSTM) layer's final c, likewise. */
  cellStates?: number[][][];
}

const expectedOf = (name: string): Expected => JSON.parse(readFileSync(join(GATED, name, 'expected.json'), 'utf8'));

function repository(t: { teardown(fn: () => unknown): void }, name: string): string {
  const dir = modelsDir(t, {});
  cpSync(join(GATED, name), join(dir, name, '1'), { recursive: true });
  return dir;
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
/** A route's states as a list: a model with one state answers it bare. */
const listed = (states: unknown, count: number) => (count === 1 ? [states] : (states as unknown[]));

interface Layer {
  cell?: string;
  recurrentActivation?: string;
  activation?: string;
  resetAfter?: boolean;
  goBackwards?: boolean;
  useBias?: boolean;
}

/** name, the outputs' shape, each recurrent layer as the summary gives it (some fields) and its directions. */
const CASES: [string, number[], [Layer, 1 | 2][]][] = [
  ['lstm-state', [2, 5, 4], [[{ cell: 'lstm', recurrentActivation: 'hardSigmoid' }, 1]]],
  ['gru-state', [2, 5, 4], [[{ cell: 'gru', recurrentActivation: 'hardSigmoid', resetAfter: false }, 1]]],
  ['bidirectional-lstm', [2, 5, 3], [[{ cell: 'lstm', recurrentActivation: 'hardSigmoid' }, 2]]],
  [
    'mixed-gated',
    [2, 5, 2],
    [
      [{ activation: 'tanh' }, 1],
      [{ cell: 'lstm', recurrentActivation: 'sigmoid', goBackwards: true }, 1],
      [{ cell: 'gru', recurrentActivation: 'hardSigmoid', resetAfter: false }, 2],
    ],
  ],
  ['lstm-classifier', [2, 3], [[{ cell: 'lstm', recurrentActivation: 'hardSigmoid' }, 1]]],
  [
    'masked',
    [2, 5, 2],
    [
      [{ cell: 'gru', resetAfter: false }, 1],
      [{ cell: 'lstm', recurrentActivation: 'hardSigmoid' }, 2],
    ],
  ],
  [
    'activations',
    [2, 5, 2],
    [
      [{ cell: 'gru', activation: 'softsign', recurrentActivation: 'sigmoid', useBias: false }, 1],
      [{ cell: 'lstm', activation: 'relu', recurrentActivation: 'hardSigmoid' }, 2],
    ],
  ],
];

for (const [name, shape, layers] of CASES) {
  t.test(`${name}: served as tfjs model.predict, on both routes`, async (t) => {
    const expected = expectedOf(name);
    const { app } = await build(t, { models: { dir: repository(t, name) } });
    const stateCount = layers.reduce((n, [, directions]) => n + directions, 0);
    const lstmCount = layers.reduce((n, [layer, directions]) => n + (layer.cell === 'lstm' ? directions : 0), 0);

    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const body = res.json();
    t.same(body.shapes.outputs, shape);
    const diff = maxAbsDiff(body.outputs, expected.outputs);
    t.ok(diff < TOLERANCE, `outputs: max |served - tfjs| = ${diff}`);
    t.match(
      body.model.layers,
      layers.map(([layer]) => layer),
      'each layer read from its config',
    );
    const states = listed(body.states, stateCount);
    t.equal(states.length, stateCount, 'a state per layer and direction');
    if (expected.states !== undefined) {
      const stateDiff = maxAbsDiff(states.slice(-expected.states.length), expected.states);
      t.ok(stateDiff < TOLERANCE, `the last layer's final h is tfjs's (max diff ${stateDiff})`);
    }
    if (lstmCount === 0) t.notOk('cellStates' in body, 'no LSTM layer, no cell states');
    else {
      const cellStates = listed(body.cellStates, lstmCount);
      t.equal(cellStates.length, lstmCount, 'a cell state per LSTM layer and direction');
      if (expected.cellStates !== undefined) {
        const cellDiff = maxAbsDiff(cellStates.slice(-expected.cellStates.length), expected.cellStates);
        t.ok(cellDiff < TOLERANCE, `the last layer's final c is tfjs's (max diff ${cellDiff})`);
      }
    }

    const features = expected.inputs[0][0].length;
    const v2 = await app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      payload: { inputs: [{ name: 'input', shape: [2, 5, features], datatype: 'FP32', data: expected.inputs }] },
    });
    t.equal(v2.statusCode, 200, v2.body.slice(0, 300));
    const outputs = new Map<string, { shape: number[]; data: number[] }>(
      v2.json().outputs.map((o: { name: string; shape: number[]; data: number[] }) => [o.name, o]),
    );
    const output = outputs.get('output')!;
    t.same(output.shape, shape, 'the protocol output has the same shape');
    t.ok(maxAbsDiff(output.data, flat(expected.outputs)) < TOLERANCE, 'the protocol output is tfjs too');
    const named = (prefix: string, count: number) =>
      count === 1 ? [`${prefix}`] : Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
    const stateNames = named('state', stateCount);
    t.ok(
      stateNames.every((n) => outputs.has(n)),
      `the protocol answers ${stateNames.join(', ')}`,
    );
    if (expected.states !== undefined) {
      const last = stateNames.slice(-expected.states.length).map((n) => outputs.get(n)!.data);
      t.ok(maxAbsDiff(last, expected.states.map(flat)) < TOLERANCE, "the protocol's final h is tfjs's");
    }
    // An LSTM layer's cell state is named after the state it pairs with.
    const cellNames = [...outputs.keys()].filter((n) => n.startsWith('cell_state'));
    t.equal(cellNames.length, lstmCount, 'a protocol cell state per LSTM layer and direction');
    if (expected.cellStates !== undefined) {
      const paired = stateNames.slice(-expected.cellStates.length).map((n) => `cell_${n}`);
      t.same(cellNames.slice(-paired.length), paired, 'named as the states they pair with');
      const last = paired.map((n) => outputs.get(n)!.data);
      t.ok(maxAbsDiff(last, expected.cellStates.map(flat)) < TOLERANCE, "the protocol's final c is tfjs's");
    }
  });
}

t.test('on the worker pool: the same answers, cell states included', async (t) => {
  for (const name of ['mixed-gated', 'bidirectional-lstm', 'lstm-classifier']) {
    const expected = expectedOf(name);
    const { app } = await build(t, { models: { dir: repository(t, name) }, pool: { threads: 1, minCompute: 0 } });
    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.ok(maxAbsDiff(res.json().outputs, expected.outputs) < TOLERANCE, `${name}: as tfjs model.predict`);
    if (expected.cellStates !== undefined)
      t.ok(
        maxAbsDiff(res.json().cellStates.slice(-expected.cellStates.length), expected.cellStates) < TOLERANCE,
        `${name}: final c as tfjs`,
      );
  }
});

t.test('an LSTM model takes initial h and c, and its metadata names the cell state', async (t) => {
  const expected = expectedOf('lstm-state');
  const { app } = await build(t, { models: { dir: repository(t, 'lstm-state') } });
  const zeros = [new Array(4).fill(0), new Array(4).fill(0)];
  const res = await app.inject({
    method: 'POST',
    url: '/models/lstm-state/forward',
    payload: { inputs: expected.inputs, initialState: zeros, initialCellState: zeros },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.ok(maxAbsDiff(res.json().outputs, expected.outputs) < TOLERANCE, 'zero initial h and c are the default');
  // From tfjs's final h and c, the next steps differ from a fresh start.
  const [h, c] = [expected.states![0], expected.cellStates![0]];
  const next = await app.inject({
    method: 'POST',
    url: '/models/lstm-state/forward',
    payload: { inputs: expected.inputs, initialState: h, initialCellState: c },
  });
  t.equal(next.statusCode, 200, next.body.slice(0, 300));
  t.ok(maxAbsDiff(next.json().outputs, expected.outputs) > 1e-3, 'the given states are used');

  const meta = (await app.inject({ method: 'GET', url: '/models/lstm-state' })).json();
  t.same(
    meta.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['outputs', [-1, -1, 4]],
      ['outputs', [-1, 4]],
      ['states', [-1, 4]],
      ['cellStates', [-1, 4]],
    ],
    'metadata lists the cell state',
  );
  const v2meta = (await app.inject({ method: 'GET', url: '/v2/models/lstm-state' })).json();
  t.same(
    v2meta.outputs.map((o: { name: string }) => o.name),
    ['output', 'state', 'cell_state'],
  );
  t.match(v2meta.parameters.optional_inputs, /initial_cell_state FP32 \[batch, 4\]/);
});

t.test(
  'gru-reset-after: a Keras GRU(reset_after=True) as tensorflowjs_converter writes it, as PyTorch computes',
  async (t) => {
    // The oracle is PyTorch nn.GRU (2 layers, bidirectional), not tfjs: tfjs 4.22 cannot build reset_after true.
    const expected = JSON.parse(readFileSync(join(GATED, 'gru-reset-after', 'expected.json'), 'utf8')) as Expected & {
      oracle: string;
      initialState: number[][][];
      states: number[][][];
    };
    t.match(expected.oracle, /^PyTorch nn\.GRU/);
    const { app } = await build(t, { models: { dir: repository(t, 'gru-reset-after') } });
    const res = await app.inject({
      method: 'POST',
      url: '/models/gru-reset-after/forward',
      payload: { inputs: expected.inputs, initialState: expected.initialState },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const body = res.json();
    t.same(body.shapes.outputs, [3, 6, 10]);
    t.match(body.model.layers, [
      { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid' },
      { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid' },
    ]);
    t.same(body.model.bidirectional, { mergeMode: 'concat' });
    const diff = maxAbsDiff(body.outputs, expected.outputs);
    t.ok(diff < TOLERANCE, `outputs: max |served - PyTorch| = ${diff}`);
    const stateDiff = maxAbsDiff(body.states, expected.states);
    t.ok(stateDiff < TOLERANCE, `every final h is PyTorch's h_n (max diff ${stateDiff})`);

    const [batch, time, features] = [3, 6, 4];
    const v2 = await app.inject({
      method: 'POST',
      url: '/v2/models/gru-reset-after/infer',
      payload: {
        inputs: [
          { name: 'input', shape: [batch, time, features], datatype: 'FP32', data: flat(expected.inputs) },
          ...expected.initialState.map((h, i) => ({
            name: `initial_state_${i}`,
            shape: [batch, 5],
            datatype: 'FP32',
            data: flat(h),
          })),
        ],
      },
    });
    t.equal(v2.statusCode, 200, v2.body.slice(0, 300));
    const outputs = new Map<string, number[]>(
      v2.json().outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]),
    );
    t.ok(maxAbsDiff(outputs.get('output'), flat(expected.outputs)) < TOLERANCE, 'the protocol output is PyTorch too');
    t.ok(
      maxAbsDiff(
        [0, 1, 2, 3].map((i) => outputs.get(`state_${i}`)),
        expected.states.map(flat),
      ) < TOLERANCE,
      "the protocol's final h is PyTorch's h_n",
    );
  },
);
