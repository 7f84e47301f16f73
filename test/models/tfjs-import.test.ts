/**
 * TF.js Layers models in the repository: the fixture saved by tfjs itself (scripts/make-tfjs-fixture.ts:
 * Masking, two Bidirectional(SimpleRNN), TimeDistributed(Dense relu), Dense softmax) is served with the
 * outputs of tfjs's own `model.predict` (within 1e-5), and what we cannot run is refused naming the layer.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { build, configWith } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { maxAbsDiff } from '../helpers/tfjs.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tfjs-model/', import.meta.url));
const EXPECTED = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  inputs: number[][][];
  outputs: number[][][];
};
const MODEL_JSON = JSON.parse(readFileSync(join(FIXTURE, 'model.json'), 'utf8'));

/** A repository holding the fixture as `tfjs/1`, its model.json optionally changed. */
function repository(t: { teardown(fn: () => unknown): void }, change?: (json: any) => void): string {
  const dir = modelsDir(t, {});
  cpSync(FIXTURE, join(dir, 'tfjs', '1'), { recursive: true });
  if (change) {
    const json = structuredClone(MODEL_JSON);
    change(json);
    writeFileSync(join(dir, 'tfjs', '1', 'model.json'), JSON.stringify(json));
  }
  return dir;
}

t.test('served outputs match tfjs model.predict within 1e-5, on every route', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const meta = (await app.inject({ method: 'GET', url: '/models/tfjs' })).json();
  t.same(meta.inputs[0].shape, [-1, -1, 4]);
  t.same(meta.outputs[0].shape, [-1, -1, 4], "the softmax layer's 4 units");
  t.same(
    meta.model.layers.map((l: { hiddenSize: number }) => l.hiddenSize),
    [5, 3],
  );
  t.same(meta.model.bidirectional, { mergeMode: 'concat' });

  const res = await app.inject({ method: 'POST', url: '/models/tfjs/forward', payload: { inputs: EXPECTED.inputs } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.same(body.shapes.outputs, [2, 5, 4]);
  const diff = maxAbsDiff(body.outputs, EXPECTED.outputs);
  t.ok(diff < 1e-5, `max |served - tfjs| = ${diff}`);
  for (const row of body.outputs.flat())
    t.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5, 'softmax rows sum to 1');

  const v2 = await app.inject({
    method: 'POST',
    url: '/v2/models/tfjs/infer',
    payload: {
      inputs: [{ name: 'input', shape: [2, 5, 4], datatype: 'FP32', data: EXPECTED.inputs }],
      outputs: [{ name: 'output' }],
    },
  });
  t.equal(v2.statusCode, 200, v2.body.slice(0, 300));
  t.ok(maxAbsDiff(v2.json().outputs[0].data, EXPECTED.outputs.flat(2)) < 1e-5, 'the protocol route too');
});

t.test('the Masking layer masks all-zero steps as tfjs does (the second sequence is padded)', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  // Padding of another length must not change the valid steps' outputs.
  const short = [EXPECTED.inputs[1].slice(0, 2)];
  const res = (await app.inject({ method: 'POST', url: '/models/tfjs/forward', payload: { inputs: short } })).json();
  t.ok(
    maxAbsDiff(res.outputs[0], EXPECTED.outputs[1].slice(0, 2)) < 1e-5,
    'the 2 valid steps are the same without padding',
  );
});

t.test('what we cannot run stops start-up naming the layer', async (t) => {
  const layers = (json: any) => json.modelTopology.config.layers;
  const cases: [string, (json: any) => void, RegExp][] = [
    [
      'a ConvLSTM2D',
      (json) => (layers(json)[1].config.layer.class_name = 'ConvLSTM2D'),
      /layer 1 \(Bidirectional 'bidirectional_Bidirectional1'\): Bidirectional\(ConvLSTM2D\) is not supported; supported: InputLayer, Masking, Embedding, SimpleRNN, LSTM, GRU/,
    ],
    [
      'a Conv1D',
      (json) => (layers(json)[3] = { class_name: 'Conv1D', config: { name: 'conv' } }),
      /layer 3 \(Conv1D 'conv'\): Conv1D is not supported/,
    ],
    [
      'a GRU in TimeDistributed',
      (json) => (layers(json)[3].config.layer.class_name = 'GRU'),
      /layer 3 \(TimeDistributed .*\): TimeDistributed\(GRU\) is not supported/,
    ],
    [
      'an unknown activation',
      (json) => (layers(json)[4].config.activation = 'gelu'),
      /layer 4 \(Dense 'dense_Dense2'\): activation 'gelu' is not supported/,
    ],
    [
      'a functional model without its InputLayer',
      (json) => (json.modelTopology.class_name = 'Model'),
      /layer 0 \(Masking 'masking_Masking1'\): a functional model's first layer must be its InputLayer/,
    ],
    [
      'a model of another class',
      (json) => (json.modelTopology.class_name = 'Graph'),
      /modelTopology: is a Graph; supported: Sequential, and functional models/,
    ],
    ['a shard that is missing', (json) => (json.weightsManifest[0].paths = ['nope.bin']), /cannot read 'nope\.bin'/],
    [
      'a weight of another shape',
      (json) => (json.weightsManifest[0].weights[0].shape = [4, 6]),
      /is \[4, 6\]; layer 1 .* forward kernel needs \[4, 5\]/,
    ],
  ];
  for (const [name, change, message] of cases) {
    const dir = repository(t, change);
    const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
      (app) => app.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(error instanceof Error, `${name}: refused`);
    t.match((error as Error).message, new RegExp(`^${dir}/tfjs/1/model\\.json: `), `${name}: names the file`);
    t.match((error as Error).message, message, name);
  }
});

t.test('Embedding (mask_zero) → SimpleRNN → Dense softmax: ids in, tfjs model.predict out', async (t) => {
  const fixture = fileURLToPath(new URL('../fixtures/tfjs-embedding/', import.meta.url));
  const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
    ids: number[][];
    outputs: number[][][];
  };
  const dir = modelsDir(t, {});
  cpSync(fixture, join(dir, 'words', '1'), { recursive: true });
  const { app } = await build(t, { models: { dir } });
  const meta = (await app.inject({ method: 'GET', url: '/v2/models/words' })).json();
  t.same(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, -1, 1] }], 'one id per step');
  t.same(meta.outputs[0].shape, [-1, -1, 6]);

  const inputs = expected.ids.map((sequence) => sequence.map((id) => [id]));
  const res = await app.inject({ method: 'POST', url: '/models/words/forward', payload: { inputs } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const diff = maxAbsDiff(res.json().outputs, expected.outputs);
  t.ok(diff < 1e-5, `max |served - tfjs| = ${diff} (id 0 is masked as tfjs masks it)`);

  for (const [ids, path, message] of [
    [[[[1], [6]]], 'inputs[0][1][0]', /is 6; expected an id, an integer in \[0, 6\)/],
    [[[[1.5]]], 'inputs[0][0][0]', /is 1.5; expected an id/],
  ] as const) {
    const bad = await app.inject({ method: 'POST', url: '/models/words/forward', payload: { inputs: ids } });
    t.equal(bad.statusCode, 400, bad.body.slice(0, 200));
    t.match(bad.json().errors[0], { path, message });
  }
});

t.test('an imported model runs on the worker pool with the same answer', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) }, pool: { threads: 1, minCompute: 0 } });
  const res = await app.inject({ method: 'POST', url: '/models/tfjs/forward', payload: { inputs: EXPECTED.inputs } });
  t.equal(res.statusCode, 200, res.body.slice(0, 200));
  t.ok(maxAbsDiff(res.json().outputs, EXPECTED.outputs) < 1e-5, 'the worker applies the masking and Dense layers too');
});
