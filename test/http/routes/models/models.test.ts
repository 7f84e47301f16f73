/**
 * The model repository and its routes: MODELS_DIR is read and validated at start-up (a bad model stops it,
 * naming the file; MODELS_ON_ERROR=skip leaves it out and /readyz says so), and a served model answers
 * exactly what /rnn/forward answers for the same description, which is what tfjs computes.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { buildApp } from '../../../../src/http/app.js';
import { ModelLoadError } from '../../../../src/models/repository.js';
import { SHIPPED_MODELS, build, configWith } from '../../../helpers/build.js';
import { modelsDir, oneHotHelo } from '../../../helpers/models.js';
import { send, spawnServer, startServer } from '../../../helpers/server.js';
import { maxAbsDiff, tfjsSimpleRnn } from '../../../helpers/tfjs.js';

/** The shipped repository: the lecture's hello (ours) and next-char (a TF.js many-to-one classifier) and
 * sentiment-onnx (an ONNX classifier exported by torch). */
const READY_1 = [{ version: '1', state: 'READY' }];
const SHIPPED_LIST = {
  models: [
    { name: 'hello', versions: ['1'], latest: '1', ready: true, states: READY_1 },
    { name: 'next-char', versions: ['1'], latest: '1', ready: true, states: READY_1 },
    { name: 'sentiment-onnx', versions: ['1'], latest: '1', ready: true, states: READY_1 },
  ],
};

const HELLO_FILE = JSON.parse(readFileSync(new URL('../../../../models/hello/1/model.json', import.meta.url), 'utf8'));

t.test('the shipped example: listed, described, and computing what tfjs computes', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const list = await app.inject({ method: 'GET', url: '/models' });
  t.equal(list.statusCode, 200);
  t.same(list.json(), SHIPPED_LIST);

  const meta = await app.inject({ method: 'GET', url: '/models/hello' });
  t.equal(meta.statusCode, 200);
  const body = meta.json();
  t.equal(body.name, 'hello');
  t.equal(body.version, '1');
  t.same(body.versions, ['1']);
  t.same(body.vocabulary, ['h', 'e', 'l', 'o']);
  t.same(body.inputs, [{ name: 'inputs', shape: [-1, -1, 4], description: '[batch, time, inputDim]' }]);
  t.same(
    body.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['outputs', [-1, -1, 3]],
      ['outputs', [-1, 3]],
      ['states', [-1, 3]],
    ],
  );
  t.same(body.model, {
    inputDim: 4,
    hiddenSize: 3,
    seed: null,
    layers: [{ hiddenSize: 3, activation: 'tanh', useBias: true, goBackwards: false, clip: null }],
    bidirectional: null,
  });
  t.same(
    (await app.inject({ method: 'GET', url: '/models/hello/versions/1' })).json(),
    body,
    'the version route gives the same',
  );

  const res = await app.inject({ method: 'POST', url: '/models/hello/forward', payload: { text: ['hello', 'ole'] } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const answer = res.json();
  t.same(answer.vocabulary, ['h', 'e', 'l', 'o']);
  t.same(answer.shapes, { inputs: [2, 5, 4], outputs: [2, 5, 3], states: [2, 3] });
  const expected = tfjsSimpleRnn([oneHotHelo('hello')], HELLO_FILE.weights);
  t.ok(maxAbsDiff(answer.outputs[0], expected.outputs[0]) < 1e-6, 'outputs match tfjs');
  t.ok(maxAbsDiff(answer.states[0], expected.states[0]) < 1e-6, 'states match tfjs');
  // The ragged second text: its last state is the state after its own 3 steps.
  const ole = tfjsSimpleRnn([oneHotHelo('ole')], HELLO_FILE.weights);
  t.ok(maxAbsDiff(answer.states[1], ole.states[0]) < 1e-6, 'a ragged text ends at its own length');

  const { format: _f, inputDim: _d, vocabulary: _v, ...description } = HELLO_FILE;
  const direct = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: { text: ['hello', 'ole'], vocabulary: 'helo', ...description },
  });
  t.same(answer, direct.json(), 'the same answer as /rnn/forward with the same description');
});

t.test('versions: the latest by default, each by number, options passed through', async (t) => {
  const dir = modelsDir(t, {
    'tiny/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed: 7 },
    'tiny/2/model.json': {
      format: 'rnn-serve/v1',
      inputDim: 2,
      layers: [{ hiddenSize: 2 }, { hiddenSize: 2, activation: 'relu' }],
      bidirectional: { mergeMode: 'sum' },
      seed: 9,
    },
    'tiny/10/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 1, seed: 1 },
  });
  const { app } = await build(t, { models: { dir } });
  t.same(
    (await app.inject({ method: 'GET', url: '/models' })).json(),
    {
      models: [
        {
          name: 'tiny',
          versions: ['1', '2', '10'],
          latest: '10',
          ready: true,
          states: ['1', '2', '10'].map((version) => ({ version, state: 'READY' })),
        },
      ],
    },
    'versions sort as numbers',
  );
  const v2 = (await app.inject({ method: 'GET', url: '/models/tiny/versions/2' })).json();
  t.same(
    v2.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ['outputs', [-1, -1, 2]],
      ['outputs', [-1, 2]],
      ['states[0]', [-1, 2]],
      ['states[1]', [-1, 2]],
      ['states[2]', [-1, 2]],
      ['states[3]', [-1, 2]],
    ],
  );
  const inputs = [
    [
      [0.5, -1],
      [1, 0.25],
      [0, 2],
    ],
  ];
  for (const [version, description] of [
    ['1', { hiddenSize: 3, seed: 7 }],
    [
      '2',
      {
        layers: [{ hiddenSize: 2 }, { hiddenSize: 2, activation: 'relu' }],
        bidirectional: { mergeMode: 'sum' },
        seed: 9,
      },
    ],
  ] as const) {
    for (const options of [
      {},
      { returnSequences: false, returnState: false, outputFormat: 'flat' },
      { lengths: [2] },
    ]) {
      const served = await app.inject({
        method: 'POST',
        url: `/models/tiny/versions/${version}/forward`,
        payload: { inputs, ...options },
      });
      const direct = await app.inject({
        method: 'POST',
        url: '/rnn/forward',
        payload: { inputs, ...description, ...options },
      });
      t.equal(served.statusCode, 200, served.body.slice(0, 200));
      t.same(served.json(), direct.json(), `version ${version} ${JSON.stringify(options)}: the same as /rnn/forward`);
    }
  }
  const latest = (await app.inject({ method: 'POST', url: '/models/tiny/forward', payload: { inputs } })).json();
  t.same(latest.model.hiddenSize, 1, 'no version: the latest (10)');
  t.equal(latest.model.seed, 1);
});

t.test('requests a served model refuses: 400 naming the field, 404 naming the model or version', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const cases: [string, string, object, number, string, RegExp][] = [
    [
      'a model field',
      '/models/hello/forward',
      { inputs: [[[1, 0, 0, 0]]], hiddenSize: 2 },
      400,
      'hiddenSize',
      /is not a known field/,
    ],
    ['weights', '/models/hello/forward', { inputs: [[[1, 0, 0, 0]]], seed: 3 }, 400, 'seed', /is not a known field/],
    [
      'a vocabulary',
      '/models/hello/forward',
      { text: ['he'], vocabulary: 'eh' },
      400,
      'vocabulary',
      /is not a known field/,
    ],
    [
      'an unknown field',
      '/models/hello/forward',
      { inputs: [[[1, 0, 0, 0]]], nonsense: 1 },
      400,
      'nonsense',
      /is not a known field/,
    ],
    [
      'wrong features',
      '/models/hello/forward',
      { inputs: [[[1, 0, 0]]] },
      400,
      'inputs[0][0]',
      /has 3 features; the model takes 4 \(inputDim\)/,
    ],
    [
      'wrong flat features',
      '/models/hello/forward',
      { inputs: { shape: [1, 1, 2], data: [1, 0] } },
      400,
      'inputs.shape[2]',
      /is 2; the model takes 4/,
    ],
    ['a token outside the vocabulary', '/models/hello/forward', { text: ['hex'] }, 400, 'text[0]', /x/],
  ];
  for (const [name, url, payload, status, path, message] of cases) {
    const res = await app.inject({ method: 'POST', url, payload });
    t.equal(res.statusCode, status, `${name}: ${res.body.slice(0, 200)}`);
    t.match(res.headers['content-type'], /problem\+json/);
    t.match(res.json().errors?.[0]?.path, path, `${name}: path`);
    t.match(res.json().errors?.[0]?.message, message, `${name}: message`);
  }
  for (const [method, url, detail] of [
    ['GET', '/models/nope', /there is no model 'nope' \(models: hello, next-char, sentiment-onnx\)/],
    ['GET', '/models/hello/versions/2', /model 'hello' has no version '2' \(versions: 1\)/],
    ['POST', '/models/nope/forward', /there is no model 'nope'/],
    ['POST', '/models/hello/versions/7/forward', /model 'hello' has no version '7'/],
  ] as const) {
    const res = await app.inject({
      method,
      url,
      ...(method === 'POST' ? { payload: { inputs: [[[1, 0, 0, 0]]] } } : {}),
    });
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.match(res.headers['content-type'], /problem\+json/);
    t.match(res.json(), { type: 'urn:rnn-serve:problem:not-found', status: 404, detail });
  }
});

t.test('a model without a vocabulary takes no text', async (t) => {
  const dir = modelsDir(t, { 'num/1/model.json': { format: 'rnn-serve/v1', inputDim: 3, hiddenSize: 2 } });
  const { app } = await build(t, { models: { dir } });
  const res = await app.inject({ method: 'POST', url: '/models/num/forward', payload: { text: ['abc'] } });
  t.equal(res.statusCode, 400);
  t.match(res.json().errors[0], { path: 'text', message: /model 'num' version 1 has no vocabulary/ });
  t.equal((await app.inject({ method: 'GET', url: '/models/num' })).json().vocabulary, null);
});

const GOOD = { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2 };
const BAD: [string, Record<string, object | string>, RegExp][] = [
  ['invalid JSON', { 'm/1/model.json': '{"format": ' }, /^m\/1\/model\.json: is not valid JSON: /],
  [
    'another format',
    { 'm/1/model.json': { ...GOOD, format: 'keras' } },
    /^m\/1\/model\.json: format: Invalid input: expected "rnn-serve\/v1"/,
  ],
  [
    'an unknown field',
    { 'm/1/model.json': { ...GOOD, hidden_size: 2 } },
    /^m\/1\/model\.json: \$: Unrecognized key: "hidden_size"/,
  ],
  [
    'weights of the wrong shape',
    {
      'm/1/model.json': {
        format: 'rnn-serve/v1',
        inputDim: 3,
        weights: {
          kernel: [
            [1, 0],
            [0, 1],
          ],
          recurrentKernel: [
            [1, 0],
            [0, 1],
          ],
          bias: [0, 0],
        },
      },
    },
    /^m\/1\/model\.json: weights\.kernel: is \[2, 2\]; expected \[3, 2\]/,
  ],
  [
    'a vocabulary of the wrong size',
    { 'm/1/model.json': { ...GOOD, vocabulary: 'abc' } },
    /^m\/1\/model\.json: vocabulary: has 3 tokens; expected 2 \(inputDim/,
  ],
  [
    'over a limit',
    { 'm/1/model.json': { ...GOOD, hiddenSize: 5000 } },
    /^m\/1\/model\.json: hiddenSize: .*MAX_HIDDEN_SIZE/,
  ],
  ['a version that is not a number', { 'm/v1/model.json': GOOD }, /^m\/v1: is not a version number/],
  ['no model.json', { 'm/1/weights.bin': 'x' }, /^m\/1\/model\.json: is missing/],
];

t.test('a bad model stops start-up with one line naming the file and the problem', async (t) => {
  for (const [name, files, message] of BAD) {
    const dir = modelsDir(t, { 'ok/1/model.json': GOOD, ...files });
    const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
      (app) => app.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(error instanceof ModelLoadError, `${name}: a ModelLoadError`);
    t.ok((error as Error).message.startsWith(`${dir}/`), `${name}: names the file under MODELS_DIR`);
    t.match((error as Error).message.slice(dir.length + 1), message, name);
    t.notMatch((error as Error).message, /\n/, `${name}: one line`);
  }
});

t.test('MODELS_ON_ERROR=skip: the good models are served, /readyz lists the skipped ones', async (t) => {
  const dir = modelsDir(t, {
    'ok/1/model.json': GOOD,
    'bad/1/model.json': { ...GOOD, vocabulary: 'abc' },
    'bad/2/model.json': GOOD,
    'worse/x/model.json': GOOD,
  });
  const { app, logs } = await build(t, { models: { dir, onError: 'skip' } });
  t.same(
    (await app.inject({ method: 'GET', url: '/models' }))
      .json()
      .models.map((m: { name: string; versions: string[] }) => [m.name, m.versions]),
    [
      ['bad', ['2']],
      ['ok', ['1']],
    ],
  );
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  const body = ready.json();
  t.equal(body.status, 'ready');
  t.same(
    body.skippedModels.map((s: { name: string; version: string }) => [s.name, s.version]),
    [
      ['bad', '1'],
      ['worse', 'x'],
    ],
  );
  t.match(body.skippedModels[0].error, /bad\/1\/model\.json: vocabulary: has 3 tokens/);
  t.match(body.skippedModels[1].error, /worse\/x: is not a version number/);
  t.equal(
    logs.filter((line) => String(line.msg).startsWith('model skipped')).length,
    2,
    'each skipped model is logged',
  );
  const plain = await build(t);
  t.same(
    (await plain.app.inject({ method: 'GET', url: '/readyz' })).json(),
    { status: 'ready', sequences: { store: 'memory', ready: true } },
    'nothing skipped: no skippedModels',
  );
});

t.test('the default MODELS_DIR is ./models: the process serves the shipped example', async (t) => {
  const server = await startServer(t);
  const answer = await send(server.port, 'GET', '/models').answer;
  t.equal(answer.status, 200);
  t.same(JSON.parse(answer.body), SHIPPED_LIST);
});

t.test('a missing MODELS_DIR serves no models', async (t) => {
  const { app } = await build(t, { models: { dir: '/nonexistent/rnn-serve-models' } });
  t.same((await app.inject({ method: 'GET', url: '/models' })).json(), { models: [] });
  t.match(
    (await app.inject({ method: 'GET', url: '/models/hello' })).json().detail,
    /there is no model 'hello' \(no models are served\)/,
  );
});

t.test('served models run on the worker pool like /rnn/forward, with the same answers', async (t) => {
  const dir = modelsDir(t, {
    'seeded/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 4, seed: 5 },
    'explicit/1/model.json': {
      format: 'rnn-serve/v1',
      inputDim: 2,
      weights: {
        kernel: [
          [0.5, -0.5],
          [0.25, 1],
        ],
        recurrentKernel: [
          [0.5, 0],
          [0.1, 0.5],
        ],
        bias: [0, 0.1],
      },
    },
  });
  const inline = await build(t, { models: { dir } });
  const pooled = await build(t, { models: { dir }, pool: { threads: 1, minCompute: 0 } });
  const inputs = [
    [
      [1, 2],
      [3, 4],
      [-1, 0.5],
    ],
    [
      [0, 1],
      [1, 0],
      [0.5, 0.5],
    ],
  ];
  for (const name of ['seeded', 'explicit']) {
    const payload = { inputs };
    const a = await inline.app.inject({ method: 'POST', url: `/models/${name}/forward`, payload });
    const b = await pooled.app.inject({ method: 'POST', url: `/models/${name}/forward`, payload });
    t.equal(b.statusCode, 200, b.body.slice(0, 200));
    t.same(b.json(), a.json(), `${name}: the worker computes the same`);
  }
});

t.test('the process: a bad model is one line on stderr and exit code 2', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': { ...GOOD, activation: 'swish' } });
  const server = spawnServer({ MODELS_DIR: dir });
  server.listening.catch(() => {});
  t.same(await server.exited, { code: 2, signal: null });
  const lines = server.stderr().trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${server.stderr()}`);
  t.match(lines[0], /^rnn-serve: cannot load model .*m\/1\/model\.json: activation: /);
});

t.test('metrics carry per-model labels for served models', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const forward = (payload: object) => app.inject({ method: 'POST', url: '/models/hello/forward', payload });
  t.equal((await forward({ text: ['hello'] })).statusCode, 200);
  t.equal((await forward({ text: ['hell'] })).statusCode, 200);
  const infer = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    payload: { inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }] },
  });
  t.equal(infer.statusCode, 200, infer.body.slice(0, 200));
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(text, /^rnn_model_inferences_total\{model="hello",version="1",protocol="http",outcome="ok"\} 3$/m);
  t.match(text, /^rnn_model_compute_seconds_count\{model="hello",version="1"\} 3$/m);
  t.notMatch(text, /rnn_model_inferences_total\{model="nope"/, 'unknown models never become labels');
  await app.inject({ method: 'POST', url: '/models/nope/forward', payload: { text: ['h'] } });
  t.notMatch((await app.inject({ method: 'GET', url: '/metrics' })).body, /model="nope"/);
});
