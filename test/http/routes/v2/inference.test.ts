/**
 * The Open Inference Protocol (KServe v2) REST API, tested against the protocol's own JSON objects
 * ($metadata_server_response, $metadata_model_response, $inference_request/$inference_response with
 * flat or nested row-major `data`, and `{"error": $string}` for every failure), with the numbers checked
 * against tfjs.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { modelsDir, oneHotHelo } from '../../../helpers/models.js';
import { maxAbsDiff, tfjsSimpleRnn } from '../../../helpers/tfjs.js';
import { sample } from '../../../helpers/metrics.js';

const WEIGHTS = {
  kernel: [
    [0.5, -0.25, 0.125],
    [-0.5, 0.75, 0.25],
    [0.25, 0.5, -0.75],
    [1, -1, 0.5],
  ],
  recurrentKernel: [
    [0.5, 0.25, 0],
    [-0.25, 0.5, 0.25],
    [0, -0.25, 0.5],
  ],
  bias: [0.1, -0.1, 0],
};
const REPOSITORY = {
  'hello/1/model.json': { format: 'rnn-serve/v1', inputDim: 4, weights: WEIGHTS, vocabulary: 'helo' },
  'stack/3/model.json': {
    format: 'rnn-serve/v1',
    inputDim: 2,
    layers: [{ hiddenSize: 3 }, { hiddenSize: 2 }],
    seed: 4,
  },
};

async function setUp(t: { teardown(fn: () => unknown): void }) {
  return build(t, { models: { dir: modelsDir(t, REPOSITORY) } });
}

const BATCH = [oneHotHelo('hello'), oneHotHelo('olleh')];

t.test('server metadata: GET /v2 answers $metadata_server_response', async (t) => {
  const { app } = await setUp(t);
  const res = await app.inject({ method: 'GET', url: '/v2' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), {
    name: 'rnn-serve',
    version: '0.1.0',
    extensions: ['binary_tensor_data', 'classification', 'model_repository', 'model_repository(unload_dependents)'],
  });
});

t.test(
  'model metadata: $metadata_model_response with $metadata_tensor inputs and outputs, -1 for variable sizes',
  async (t) => {
    const { app } = await setUp(t);
    const expected = {
      name: 'hello',
      versions: ['1'],
      platform: 'rnn-serve_json',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, -1, 4] }],
      outputs: [
        { name: 'output', datatype: 'FP32', shape: [-1, -1, 3] },
        { name: 'state', datatype: 'FP32', shape: [-1, 3] },
      ],
      parameters: {
        input_datatypes: 'FP32, FP64, FP16',
        optional_inputs:
          'lengths INT32|INT64 [batch] (valid steps per sequence; later steps are masked); initial_state FP32 [batch, 3] (the initial state)',
      },
    };
    for (const url of ['/v2/models/hello', '/v2/models/hello/versions/1']) {
      const res = await app.inject({ method: 'GET', url });
      t.equal(res.statusCode, 200, url);
      t.same(res.json(), expected, url);
    }
    const stack = (await app.inject({ method: 'GET', url: '/v2/models/stack' })).json();
    t.same(stack.versions, ['3']);
    t.same(
      stack.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
      [
        ['output', [-1, -1, 2]],
        ['state_0', [-1, 3]],
        ['state_1', [-1, 2]],
      ],
    );
  },
);

t.test('model ready: 200 when ready, 4xx/5xx with {error} otherwise', async (t) => {
  const { app } = await setUp(t);
  for (const url of ['/v2/models/hello/ready', '/v2/models/hello/versions/1/ready']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.same(res.json(), { name: 'hello', ready: true });
  }
  const missing = await app.inject({ method: 'GET', url: '/v2/models/nope/ready' });
  t.equal(missing.statusCode, 404);
  t.same(Object.keys(missing.json()), ['error']);
  app.readiness.drain();
  const draining = await app.inject({ method: 'GET', url: '/v2/models/hello/ready' });
  t.equal(draining.statusCode, 503);
  t.match(draining.json(), { error: /is loaded, but the server is draining/ });
});

t.test("inference: the specification's request shape, flat or nested data, the outputs asked for", async (t) => {
  const { app } = await setUp(t);
  const reference = BATCH.map((sequence) => tfjsSimpleRnn([sequence], WEIGHTS));
  const expectedOutput = reference.flatMap((r) => r.outputs.flat(2));
  const expectedState = reference.flatMap((r) => r.states.flat());

  // As the specification's example: an id, one input with shape and flat data, one requested output.
  const res = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    payload: {
      id: '42',
      inputs: [{ name: 'input', shape: [2, 5, 4], datatype: 'FP32', data: BATCH.flat(2) }],
      outputs: [{ name: 'output' }],
    },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.match(res.headers['content-type'], /^application\/json/);
  const body = res.json();
  t.same(Object.keys(body).sort(), ['id', 'model_name', 'model_version', 'outputs']);
  t.equal(body.model_name, 'hello');
  t.equal(body.model_version, '1');
  t.equal(body.id, '42', 'the request id is returned');
  t.equal(body.outputs.length, 1, 'only the requested output');
  t.same(
    { ...body.outputs[0], data: undefined },
    { name: 'output', shape: [2, 5, 3], datatype: 'FP32', data: undefined },
  );
  t.equal(body.outputs[0].data.length, 30, 'data is flat, row-major');
  t.ok(maxAbsDiff(body.outputs[0].data, expectedOutput) < 1e-6, 'output matches tfjs');

  // Nested data (the natural multi-dimensional form), no outputs requested: every output, no id.
  const nested = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/versions/1/infer',
    payload: {
      inputs: [{ name: 'input', shape: [2, 5, 4], datatype: 'FP32', data: BATCH, parameters: { any: 'thing' } }],
      parameters: { also: 1 },
    },
  });
  t.equal(nested.statusCode, 200, nested.body.slice(0, 300));
  const all = nested.json();
  t.notOk('id' in all, 'no id given, none returned');
  t.same(
    all.outputs.map((o: { name: string; shape: number[]; datatype: string }) => [o.name, o.shape, o.datatype]),
    [
      ['output', [2, 5, 3], 'FP32'],
      ['state', [2, 3], 'FP32'],
    ],
  );
  t.same(all.outputs[0].data, body.outputs[0].data, 'nested and flat data give the same answer');
  t.ok(maxAbsDiff(all.outputs[1].data, expectedState) < 1e-6, 'state matches tfjs');

  const stateOnly = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    payload: {
      inputs: [{ name: 'input', shape: [2, 5, 4], datatype: 'FP32', data: BATCH.flat(2) }],
      outputs: [{ name: 'state' }],
    },
  });
  t.same(stateOnly.json().outputs, [all.outputs[1]], 'only the state');

  const stack = await app.inject({
    method: 'POST',
    url: '/v2/models/stack/infer',
    payload: {
      inputs: [{ name: 'input', shape: [1, 2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
      outputs: [{ name: 'state_1' }, { name: 'output' }],
    },
  });
  t.equal(stack.statusCode, 200, stack.body.slice(0, 300));
  const direct = (
    await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      payload: {
        inputs: [
          [
            [1, 2],
            [3, 4],
          ],
        ],
        layers: [{ hiddenSize: 3 }, { hiddenSize: 2 }],
        seed: 4,
      },
    })
  ).json();
  t.same(
    stack.json().outputs,
    [
      { name: 'state_1', shape: [1, 2], datatype: 'FP32', data: direct.states[1].flat() },
      { name: 'output', shape: [1, 2, 2], datatype: 'FP32', data: direct.outputs.flat(2) },
    ],
    'the requested outputs in the requested order, the numbers of /rnn/forward',
  );
});

t.test('every failure is an HTTP error status with the body {"error": $string}', async (t) => {
  const { app } = await setUp(t);
  const input = (over: object = {}) => ({
    name: 'input',
    shape: [1, 2, 4],
    datatype: 'FP32',
    data: [1, 0, 0, 0, 0, 1, 0, 0],
    ...over,
  });
  const cases: [string, string, string, unknown, number, RegExp][] = [
    [
      'unknown model (metadata)',
      'GET',
      '/v2/models/nope',
      undefined,
      404,
      /there is no model 'nope' \(models: hello, stack\)/,
    ],
    [
      'unknown version',
      'GET',
      '/v2/models/hello/versions/2',
      undefined,
      404,
      /model 'hello' has no version '2' \(versions: 1\)/,
    ],
    ['unknown model (infer)', 'POST', '/v2/models/nope/infer', { inputs: [input()] }, 404, /there is no model 'nope'/],
    ['unknown route under /v2/models', 'GET', '/v2/models/hello/explain', undefined, 404, /there is no route GET/],
    [
      'another method',
      'DELETE',
      '/v2/models/hello',
      undefined,
      405,
      /DELETE is not allowed on \/v2\/models\/hello; use GET/,
    ],
    ['invalid JSON', 'POST', '/v2/models/hello/infer', '{"inputs": [', 400, /JSON/],
    ['no inputs', 'POST', '/v2/models/hello/infer', {}, 400, /inputs: is required/],
    [
      'an unknown field',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input()], hiddenSize: 2 },
      400,
      /hiddenSize: is not a known field/,
    ],
    [
      'two inputs',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input(), input()] },
      400,
      /inputs: has 2 tensors; the model takes 1, named 'input'/,
    ],
    [
      'another input name',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ name: 'input0' })] },
      400,
      /inputs\[0\]\.name: is 'input0'; the model's input is 'input'/,
    ],
    [
      'another datatype',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ datatype: 'UINT32' })] },
      400,
      /inputs\[0\]\.datatype: is 'UINT32'; input 'input' is FP32/,
    ],
    [
      'two dimensions',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ shape: [2, 4] })] },
      400,
      /inputs\[0\]\.shape: has 2 dimensions; expected 3 \(\[batch, time, 4\]\)/,
    ],
    [
      'features that differ from the model',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ shape: [1, 4, 2] })] },
      400,
      /inputs\[0\]\.shape\[2\]: is 2; the model takes 4 \(inputDim\)/,
    ],
    [
      'data that does not fill the shape',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ shape: [1, 3, 4] })] },
      400,
      /inputs\[0\]\.data: has 8 elements; expected 12/,
    ],
    [
      'nested data that does not follow the shape',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ data: [[[1, 0, 0, 0]], [[0, 1, 0, 0]]] })] },
      400,
      /inputs\[0\]\.data: has 2 entries; expected 1 \(dimension 0 of shape\)/,
    ],
    [
      'an unknown output',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input()], outputs: [{ name: 'output0' }] },
      400,
      /outputs\[0\]\.name: is 'output0'; the model's outputs are 'output', 'state'/,
    ],
    [
      'text data',
      'POST',
      '/v2/models/hello/infer',
      { inputs: [input({ data: ['h', 'e'] })] },
      400,
      /inputs\[0\]\.data/,
    ],
  ];
  for (const [name, method, url, payload, status, message] of cases) {
    const res = await app.inject({
      method: method as 'GET',
      url,
      ...(payload === undefined
        ? {}
        : {
            headers: { 'content-type': 'application/json' },
            payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
          }),
    });
    t.equal(res.statusCode, status, `${name}: ${res.body.slice(0, 200)}`);
    t.match(res.headers['content-type'], /^application\/json/, `${name}: application/json`);
    const body = res.json();
    t.same(Object.keys(body), ['error'], `${name}: only "error"`);
    t.type(body.error, 'string');
    t.match(body.error, message, name);
  }
  const probe = await app.inject({ method: 'PUT', url: '/v2/health/ready' });
  t.match(probe.headers['content-type'], /problem\+json/, 'the v2 health probes keep problem+json, as before');
});

t.test('the operational answers (API keys, rate limits) are {"error": ...} on the protocol routes too', async (t) => {
  const key = 'k'.repeat(32);
  const { app } = await build(t, {
    models: { dir: modelsDir(t, REPOSITORY) },
    access: { apiKeys: [key], rateLimitMax: 2 },
  });
  const anonymous = await app.inject({ method: 'GET', url: '/v2/models/hello' });
  t.equal(anonymous.statusCode, 401);
  t.same(Object.keys(anonymous.json()), ['error']);
  t.match(anonymous.headers['content-type'], /^application\/json/);
  const authorised = { authorization: `Bearer ${key}` };
  t.equal((await app.inject({ method: 'GET', url: '/v2', headers: authorised })).statusCode, 200);
  let limited: Awaited<ReturnType<typeof app.inject>> | undefined;
  for (let i = 0; i < 3; i++) limited = await app.inject({ method: 'GET', url: '/v2', headers: authorised });
  t.equal(limited!.statusCode, 429);
  t.same(Object.keys(limited!.json()), ['error']);
});

t.test('a burst on the served-model routes is answered whole: requests wait their turn, none is refused', async (t) => {
  const { app } = await build(t, {
    models: { dir: modelsDir(t, REPOSITORY) },
    overload: { maxEventLoopDelayMs: 0 },
  });
  const infer = { inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }] };
  for (const [url, payload] of [
    ['/v2/models/hello/infer', infer],
    ['/models/hello/forward', { inputs: [[[1, 0, 0, 0]]] }],
  ] as const) {
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'POST', url, payload })));
    const statuses = answers.map((a) => a.statusCode);
    t.same(new Set(statuses), new Set([200]), `${url}: 50 at once, every one 200`);
    t.same(
      new Set(answers.map((a) => a.body)),
      new Set([answers[0].body]),
      `${url}: the same request gets the same answer, computed alone or with the others`,
    );
  }
});

t.test(
  'each output may be named once: a repeat is a 400 naming both positions, answered before any compute',
  async (t) => {
    const { app } = await setUp(t);
    const computed = async () =>
      sample((await app.inject({ method: 'GET', url: '/metrics' })).body, 'rnn_forward_compute_seconds_count');
    const before = await computed();
    // 1,000 steps: each copy of `output` would be 3,000 numbers of the answer.
    const input = {
      name: 'input',
      shape: [1, 1000, 4],
      datatype: 'FP32',
      data: Array.from({ length: 4000 }, () => 0.5),
    };
    const infer = (body: object) =>
      app.inject({
        method: 'POST',
        url: '/v2/models/hello/infer',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });

    const twice = await infer({
      inputs: [input],
      outputs: [{ name: 'output' }, { name: 'state' }, { name: 'output' }],
    });
    t.equal(twice.statusCode, 400, twice.body.slice(0, 200));
    t.match(twice.headers['content-type'], /^application\/json/);
    t.same(twice.json(), {
      error: "outputs[2].name: 'output' is requested again (also outputs[0]); each output may be named once",
    });

    const started = performance.now();
    const many = await infer({ inputs: [input], outputs: Array.from({ length: 1000 }, () => ({ name: 'output' })) });
    const elapsedMs = performance.now() - started;
    t.equal(many.statusCode, 400);
    t.same(many.json(), {
      error: "outputs[1].name: 'output' is requested again (also outputs[0]); each output may be named once",
    });
    t.ok(elapsedMs < 500, `1,000 repeats answered in ${elapsedMs.toFixed(1)} ms`);

    // A list longer than the model's outputs repeats one, however it is ordered.
    const stack = await app.inject({
      method: 'POST',
      url: '/v2/models/stack/infer',
      payload: {
        inputs: [{ name: 'input', shape: [1, 1, 2], datatype: 'FP32', data: [1, 2] }],
        outputs: ['state_1', 'output', 'state_0', 'state_1', 'output'].map((name) => ({ name })),
      },
    });
    t.equal(stack.statusCode, 400);
    t.match(stack.json().error, /^outputs\[3\]\.name: 'state_1' is requested again \(also outputs\[0\]\)/);

    const unknown = await infer({ inputs: [input], outputs: [{ name: 'output' }, { name: 'states' }] });
    t.equal(unknown.statusCode, 400, 'an unknown output is a 400 too');
    t.same(unknown.json(), { error: "outputs[1].name: is 'states'; the model's outputs are 'output', 'state'" });

    const twoInputs = await infer({ inputs: [input, input] });
    t.equal(twoInputs.statusCode, 400, 'and so is a repeated input');
    t.match(twoInputs.json().error, /^inputs: has 2 tensors; the model takes 1, named 'input'/);

    t.equal(await computed(), before, 'none of these computed anything');
    const once = await infer({ inputs: [input], outputs: [{ name: 'state' }, { name: 'output' }] });
    t.equal(once.statusCode, 200, 'each named once: served');
    t.same(
      once.json().outputs.map((o: { name: string }) => o.name),
      ['state', 'output'],
    );
    t.equal(await computed(), (before ?? 0) + 1, 'the counter does count a pass');
  },
);
