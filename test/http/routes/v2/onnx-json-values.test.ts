/**
 * JSON values of an ONNX infer request are read as the /models path reads its JSON (storeFloat32): an FP32 value
 * beyond float32 or a token id that is not an integer is a 400 at `inputs[i].data[j]`, every one counted, before
 * the graph runs; valid requests answer as before (the fixture's torch outputs, the shipped model's onnxruntime).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { SHIPPED_MODELS, build } from '../../../helpers/build.js';
import { fixtureCases, maxDiff, onnxRepository, runOrt } from '../../../helpers/onnx.js';

const FLOAT32_RANGE = '±3.4028234663852886e+38';
const FIXTURE = 'rnn-1-tanh-bf';

type App = Awaited<ReturnType<typeof build>>['app'];

async function infer(app: App, name: string, body: object) {
  const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: body });
  return { status: res.statusCode, body: res.json() };
}

t.test('an FP32 input: a value beyond float32 is a 400 naming inputs[i].data[j] and the range', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, [FIXTURE]) } });
  const [c] = fixtureCases(FIXTURE);
  const x = c.inputs.x;
  t.same(x.shape, [2, 5, 3], 'the fixture: one FP32 input x');

  const res = await infer(app, FIXTURE, { inputs: [{ name: 'x', ...x }] });
  t.equal(res.status, 200);
  const [y] = res.body.outputs;
  t.ok(maxDiff(y.data, c.outputs[y.name].data) <= 1e-5, 'a valid request answers as torch did');

  for (const [value, datatype] of [
    [1e39, 'FP32'],
    [-1e39, 'FP32'],
    [1e300, 'FP64'],
  ] as const) {
    const data = [...x.data];
    data[7] = value;
    const bad = await infer(app, FIXTURE, { inputs: [{ name: 'x', datatype, shape: x.shape, data }] });
    t.equal(bad.status, 400, `${value} as ${datatype}`);
    t.equal(bad.body.error, `inputs[0].data[7]: ${value} is outside the float32 range (${FLOAT32_RANGE})`);
  }

  // Nested data: the index is the flat one, as the /models path names a flat input.
  const nested = Array.from({ length: 2 }, (_, b) =>
    Array.from({ length: 5 }, (_, s) => x.data.slice((b * 5 + s) * 3, (b * 5 + s + 1) * 3)),
  );
  nested[1][0][2] = 1e39;
  const bad = await infer(app, FIXTURE, { inputs: [{ name: 'x', datatype: 'FP32', shape: x.shape, data: nested }] });
  t.equal(bad.status, 400);
  t.equal(bad.body.error, `inputs[0].data[17]: 1e+39 is outside the float32 range (${FLOAT32_RANGE})`);

  // Every value found is counted; the values nearest the edge of float32 still fit.
  const many = x.data.map((v, i) => (i % 2 === 0 ? 1e39 : v));
  many[1] = 3.4028234663852886e38;
  const all = await infer(app, FIXTURE, { inputs: [{ name: 'x', datatype: 'FP32', shape: x.shape, data: many }] });
  t.equal(all.status, 400);
  // The 15 even indices of 30 values; index 1, float32's largest value, is not among them.
  t.equal(all.body.error, `inputs[0].data[0]: 1e+39 is outside the float32 range (${FLOAT32_RANGE}) (and 14 more)`);
});

t.test('a value beyond float32 is refused before the graph runs: no forward pass is timed', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, [FIXTURE]) } });
  const [c] = fixtureCases(FIXTURE);
  const data = [...c.inputs.x.data];
  data[0] = 1e39;
  const bad = await infer(app, FIXTURE, { inputs: [{ name: 'x', datatype: 'FP32', shape: c.inputs.x.shape, data }] });
  t.equal(bad.status, 400);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const inferences = new RegExp(`^rnn_model_inferences_total\\{[^}]*model="${FIXTURE}"[^}]*\\} (\\d+)$`, 'gm');
  t.same([...metrics.matchAll(inferences)], [], 'no inference counted or timed, not even as invalid-request');
  const ok = await infer(app, FIXTURE, { inputs: [{ name: 'x', ...c.inputs.x }] });
  t.equal(ok.status, 200);
  const after = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.same(
    [...after.matchAll(inferences)].map((m) => m[1]),
    ['1'],
    'the valid one is counted',
  );
});

t.test(
  'the shipped models/sentiment-onnx (INT64 ids): a non-integer id is a 400; valid ids as onnxruntime',
  async (t) => {
    const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
    const ids = { datatype: 'INT64', shape: [2, 3], data: [1, 2, 3, 15, 14, 13] };
    const res = await infer(app, 'sentiment-onnx', { inputs: [{ name: 'ids', ...ids }] });
    t.equal(res.status, 200);
    const model = readFileSync(new URL('../../../../models/sentiment-onnx/1/model.onnx', import.meta.url));
    const ort = await runOrt(model, { ids });
    t.ok(maxDiff(res.body.outputs[0].data, ort.probs.data) <= 1e-5, 'as onnxruntime');

    const cases: [number[], string][] = [
      [[1, 2.5, 3, 15, 14, 13], "inputs[0].data[1]: is 2.5; expected an integer (input 'ids' is INT64)"],
      [
        [1, 2, 3, 1e39, 14, 2 ** 60],
        'inputs[0].data[3]: is 1e+39; beyond 2^53, which this server does not read (and 1 more)',
      ],
    ];
    for (const [data, error] of cases) {
      const bad = await infer(app, 'sentiment-onnx', { inputs: [{ name: 'ids', ...ids, data }] });
      t.equal(bad.status, 400, JSON.stringify(data));
      t.equal(bad.body.error, error);
    }
  },
);
