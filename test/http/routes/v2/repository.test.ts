/**
 * Triton's model repository extension over HTTP, as tritonclient speaks it (the index request with an empty body and
 * no Content-Type; load with `parameters.config`; unload with `parameters.unload_dependents`): the index with
 * states and reasons, load and unload in explicit mode, 503 in Triton's words otherwise, `{"error": ...}` bodies;
 * /models, /v2/models/.../ready and /readyz following the states; the lifecycle metrics, promtool-clean.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { sample } from '../../../helpers/metrics.js';
import { modelsDir } from '../../../helpers/models.js';

const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });

t.test('the index: every model and version with its state, as tritonclient asks for it', async (t) => {
  const dir = modelsDir(t, {
    'm/1/model.json': model(1),
    'm/2/model.json': { ...model(2), hiddenSize: 0 },
    'n/config.pbtxt': 'max_batch_size: "8"',
    'n/1/model.json': model(3),
  });
  const { app } = await build(t, { models: { dir, onError: 'skip' } });
  // tritonclient's get_model_repository_index: POST with an empty body and no Content-Type.
  const index = await app.inject({ method: 'POST', url: '/v2/repository/index', payload: '' });
  t.equal(index.statusCode, 200);
  t.same(index.json(), [
    { name: 'm', version: '1', state: 'READY', reason: '' },
    {
      name: 'm',
      version: '2',
      state: 'UNAVAILABLE',
      reason: 'm/2/model.json: hiddenSize: Too small: expected number to be >=1',
    },
    {
      name: 'n',
      state: 'UNAVAILABLE',
      reason: 'n/config.pbtxt:1: max_batch_size: expected an int32; got a string (values of this field are not quoted)',
    },
  ]);
  const ready = await app.inject({ method: 'POST', url: '/v2/repository/index', payload: { ready: true } });
  t.same(ready.json(), [{ name: 'm', version: '1', state: 'READY', reason: '' }]);
  const bad = await app.inject({ method: 'POST', url: '/v2/repository/index', payload: { ready: 'yes' } });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: /ready/ });
  t.same(Object.keys(bad.json()), ['error'], 'the protocol error body');
  const type = await app.inject({
    method: 'POST',
    url: '/v2/repository/index',
    headers: { 'content-type': 'text/plain' },
    payload: '{}',
  });
  t.equal(type.statusCode, 415);
  const unknown = await app.inject({ method: 'POST', url: '/v2/repository/nope' });
  t.equal(unknown.statusCode, 404);
  t.same(Object.keys(unknown.json()), ['error']);

  const list = (await app.inject({ method: 'GET', url: '/models' })).json();
  t.same(list.models[0].states, [
    { version: '1', state: 'READY' },
    { version: '2', state: 'UNAVAILABLE', reason: 'm/2/model.json: hiddenSize: Too small: expected number to be >=1' },
  ]);
  t.same(
    list.models.map((m: { name: string }) => m.name),
    ['m'],
    '/models lists the models with a version to serve',
  );
  const v2 = await app.inject({ method: 'GET', url: '/v2/models/m/versions/2/ready' });
  t.equal(v2.statusCode, 404);
  t.match(v2.json().error, /^model 'm' version 2 is UNAVAILABLE: m\/2\/model\.json: hiddenSize/);
  const broken = await app.inject({ method: 'GET', url: '/v2/models/n/ready' });
  t.equal(broken.statusCode, 404);
  t.match(broken.json().error, /^model 'n' is UNAVAILABLE: n\/config\.pbtxt:1: max_batch_size: expected an int32/);
  const readyz = (await app.inject({ method: 'GET', url: '/readyz' })).json();
  t.same(
    readyz.skippedModels.map((s: { file: string }) => s.file),
    ['m/2/model.json', 'n/config.pbtxt'],
  );
});

t.test('load and unload outside explicit mode: 503 in Triton words', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  for (const control of ['none', 'poll'] as const) {
    const { app } = await build(t, { models: { dir, onError: 'fail', control, pollSeconds: 60 } });
    for (const action of ['load', 'unload']) {
      const res = await app.inject({ method: 'POST', url: `/v2/repository/models/m/${action}`, payload: {} });
      t.equal(res.statusCode, 503, `${control} ${action}`);
      t.match(res.json(), {
        error: new RegExp(
          `^failed to ${action} 'm': explicit model load / unload is not allowed: MODEL_CONTROL_MODE is ${control}`,
        ),
      });
    }
  }
});

t.test('explicit mode: load, reload with a config, unload; parameters checked', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1), 'm/2/model.json': model(2), 'o/1/model.json': model(3) });
  const { app } = await build(t, { models: { dir, onError: 'fail', control: 'explicit', startupModels: ['o'] } });
  const index = async () => (await app.inject({ method: 'POST', url: '/v2/repository/index' })).json();
  t.same(await index(), [
    { name: 'm', state: 'UNAVAILABLE', reason: 'not loaded (POST /v2/repository/models/{name}/load)' },
    { name: 'o', version: '1', state: 'READY', reason: '' },
  ]);
  t.equal((await app.inject({ method: 'GET', url: '/v2/models/m/ready' })).statusCode, 404);

  // tritonclient's load_model(name, config=...): parameters.config, a JSON string.
  const config = JSON.stringify({ name: 'm', max_batch_size: 4, version_policy: { latest: { num_versions: 1 } } });
  const load = await app.inject({
    method: 'POST',
    url: '/v2/repository/models/m/load',
    payload: JSON.stringify({ parameters: { config } }),
  });
  t.equal(load.statusCode, 200);
  t.same(load.json(), {});
  t.equal((await app.inject({ method: 'GET', url: '/v2/models/m/ready' })).statusCode, 200);
  t.same((await app.inject({ method: 'GET', url: '/v2/models/m' })).json().versions, ['2']);

  const reload = await app.inject({ method: 'POST', url: '/v2/repository/models/m/load' });
  t.equal(reload.statusCode, 200, 'a body-less load: config.pbtxt (none: every version)');
  t.same((await app.inject({ method: 'GET', url: '/v2/models/m' })).json().versions, ['1', '2']);

  const refusals: [object, number, RegExp][] = [
    [{ parameters: { 'file:1/model.onnx': 'AAAA' } }, 400, /file overrides are not supported/],
    [
      { parameters: { config: 5 } },
      400,
      /parameters\["config"\]: is number; expected the model configuration as a JSON string/,
    ],
    [{ parameters: { confg: '{}' } }, 400, /parameters\["confg"\]: is not a parameter of load \(config\)/],
    [
      { parameters: { config: '{"input": [{"name": "nope"}]}' } },
      400,
      /^failed to load 'm': parameters\.config: input\[0\]\.name: the model has no input 'nope'/,
    ],
    [{ paramters: {} }, 400, /paramters/],
  ];
  for (const [payload, status, error] of refusals) {
    const res = await app.inject({ method: 'POST', url: '/v2/repository/models/m/load', payload });
    t.equal(res.statusCode, status, JSON.stringify(payload));
    t.match(res.json(), { error });
  }
  const missing = await app.inject({ method: 'POST', url: '/v2/repository/models/zz/load', payload: {} });
  t.equal(missing.statusCode, 404);
  t.match(missing.json().error, /there is no model directory 'zz'/);

  // tritonclient's unload_model: {"parameters": {"unload_dependents": false}}.
  const unload = await app.inject({
    method: 'POST',
    url: '/v2/repository/models/m/unload',
    payload: { parameters: { unload_dependents: false } },
  });
  t.equal(unload.statusCode, 200);
  t.same(await index(), [
    { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    { name: 'm', version: '2', state: 'UNAVAILABLE', reason: 'unloaded' },
    { name: 'o', version: '1', state: 'READY', reason: '' },
  ]);
  const gone = await app.inject({ method: 'POST', url: '/v2/models/m/infer', payload: { inputs: [] } });
  t.equal(gone.statusCode, 404);
  t.match(
    gone.json().error,
    /^model 'm' has no version ready \(1: UNAVAILABLE \(unloaded\); 2: UNAVAILABLE \(unloaded\)\)$/,
  );
  const dependents = await app.inject({
    method: 'POST',
    url: '/v2/repository/models/m/unload',
    payload: { parameters: { unload_dependents: 'yes' } },
  });
  t.equal(dependents.statusCode, 400);
  t.equal((await app.inject({ method: 'POST', url: '/v2/repository/models/zz/unload' })).statusCode, 404);
  t.equal(
    (await app.inject({ method: 'POST', url: '/v2/repository/models/m/unload' })).statusCode,
    200,
    'unloading an unloaded model is done already',
  );
});

t.test("requests are held to the configuration's max_batch_size and input dims", async (t) => {
  const dir = modelsDir(t, {
    'm/config.pbtxt': 'max_batch_size: 2\ninput [{ name: "input" dims: [ 3, 2 ] }]',
    'm/1/model.json': model(1),
  });
  const { app } = await build(t, { models: { dir } });
  const infer = (batch: number, time: number) =>
    app.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      payload: {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [batch, time, 2], data: Array(batch * time * 2).fill(0.5) }],
      },
    });
  t.equal((await infer(2, 3)).statusCode, 200);
  const wide = await infer(3, 3);
  t.equal(wide.statusCode, 400);
  t.same(wide.json(), { error: 'inputs[0].shape: has a batch of 3; model configuration max_batch_size is 2' });
  const long = await infer(1, 4);
  t.equal(long.statusCode, 400);
  t.match(
    long.json().error,
    /^inputs\[0\]\.shape: is \[1, 4, 2\]; the model configuration gives input 'input' the shape \[batch, 3, 2\]/,
  );
  const forward = await app.inject({
    method: 'POST',
    url: '/models/m/forward',
    payload: { inputs: [[[1, 0]], [[0, 1]], [[1, 1]]] },
  });
  t.equal(forward.statusCode, 400);
  t.match(forward.json().errors[0], {
    path: 'inputs',
    message: 'has a batch of 3; model configuration max_batch_size is 2',
  });
});

t.test('the lifecycle metrics: loads by outcome, unloads, states; promtool-clean', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1), 'b/1/model.json': '{' });
  const { app } = await build(t, { models: { dir, onError: 'skip', control: 'explicit' } });
  await app.inject({ method: 'POST', url: '/v2/repository/models/m/load' });
  writeFileSync(join(dir, 'm/1/model.json'), JSON.stringify(model(5)));
  await app.inject({ method: 'POST', url: '/v2/repository/models/m/load' });
  await app.inject({ method: 'POST', url: '/v2/repository/models/m/unload' });
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.equal(
    sample(text, 'rnn_model_loads_total', 'model="m",version="1",outcome="ok"'),
    2,
    'at start-up, and the changed files',
  );
  t.equal(sample(text, 'rnn_model_loads_total', 'model="b",version="1",outcome="failed"'), 1);
  t.equal(
    sample(text, 'rnn_model_unloads_total', 'model="m",version="1"'),
    2,
    'the replaced model, then the unloaded one',
  );
  t.equal(sample(text, 'rnn_model_state', 'model="m",version="1",state="UNAVAILABLE"'), 1);
  t.equal(sample(text, 'rnn_model_state', 'model="b",version="1",state="UNAVAILABLE"'), 1);
  t.equal(sample(text, 'rnn_model_state', 'model="m",version="1",state="READY"'), undefined, 'only the current state');
  t.equal(sample(text, 'rnn_memory_budget_model_bytes'), 0, 'nothing loaded is held');
  const file = join(mkdtempSync(join(tmpdir(), 'rnn-serve-metrics-')), 'metrics.txt');
  t.teardown(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  // Our families (prom-client's default process metrics break a naming rule of promtool's that is not ours to fix).
  const ours = text
    .split('\n')
    .filter((line) => /^(# (HELP|TYPE) )?(rnn_|http_)/.test(line))
    .join('\n');
  writeFileSync(file, `${ours}\n`);
  const lint = execFileSync('sh', ['-c', `promtool check metrics < ${file} 2>&1; echo "exit $?"`], {
    encoding: 'utf8',
  });
  t.match(lint.trim(), /exit 0$/, `promtool check metrics: ${lint}`);
});
