import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { build, HELLO, HELLO_BATCH } from '../../../helpers/build.js';
import { maxAbsDiff, tfjsSeededWeights, tfjsSimpleRnn } from '../../../helpers/tfjs.js';
import { randomNested, rng } from '../../../helpers/random.js';

type Test = Pick<typeof t, 'equal' | 'match' | 'type' | 'notMatch'>;

/** Asserts a problem+json answer with this status whose first error is at `path` and matches `message`. */
function expectProblem(t: Test, res: LightMyRequestResponse, status: number, path: string | null, message: RegExp) {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 300)}`);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const body = res.json();
  t.equal(body.status, status);
  t.match(body.type, /^urn:rnn-serve:problem:/);
  t.type(body.title, 'string');
  t.match(body.detail, message);
  t.notMatch(res.body, /at .*\.(ts|js):\d+/, 'no stack trace');
  if (path !== null) {
    t.equal(body.errors?.[0]?.path, path, 'path of the offending value');
    t.match(body.errors[0].message, message);
  }
  return body;
}

const post = (app: Awaited<ReturnType<typeof build>>['app'], payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });

t.test('the lecture hello example: shapes, model and the numbers of tfjs with the same seeded weights', async (t) => {
  const { app } = await build(t);
  const res = await post(app, HELLO);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  const body = res.json();
  t.same(body.shapes, { inputs: [1, 5, 4], outputs: [1, 5, 2], states: [1, 2] });
  t.same(body.model, {
    inputDim: 4,
    hiddenSize: 2,
    seed: 42,
    layers: [{ hiddenSize: 2, activation: 'tanh', useBias: true, goBackwards: false, clip: null }],
    bidirectional: null,
  });
  const ref = tfjsSimpleRnn(HELLO.inputs, tfjsSeededWeights(42, 4, 2));
  t.ok(maxAbsDiff(body.outputs, ref.outputs) <= 1e-5, `outputs within 1e-5 of tfjs: ${JSON.stringify(body.outputs)}`);
  t.ok(maxAbsDiff(body.states, ref.states) <= 1e-5, 'states within 1e-5 of tfjs');
  t.same(body.states[0], body.outputs[0][4], 'the final state is the last output');
  // Pinned: the answer is deterministic, so any change to the seeded weights or the kernel shows here.
  t.same(body.outputs[0][0], [0.35375288, 0.09238475]);
  t.same(body.states, [[-0.8389222, 0.8316943]]);
});

t.test('the lecture batch of three (hello, eolll, lleel) agrees with tfjs', async (t) => {
  const { app } = await build(t);
  const body = (await post(app, HELLO_BATCH)).json();
  t.same(body.shapes, { inputs: [3, 5, 4], outputs: [3, 5, 2], states: [3, 2] });
  const ref = tfjsSimpleRnn(HELLO_BATCH.inputs, tfjsSeededWeights(42, 4, 2));
  t.ok(maxAbsDiff(body.outputs, ref.outputs) <= 1e-5);
  t.ok(maxAbsDiff(body.states, ref.states) <= 1e-5);
});

t.test('seed defaults to 0 and different seeds give different models', async (t) => {
  const { app } = await build(t);
  const zero = (await post(app, { inputs: HELLO.inputs, hiddenSize: 3 })).json();
  t.equal(zero.model.seed, 0);
  const ref = tfjsSimpleRnn(HELLO.inputs, tfjsSeededWeights(0, 4, 3));
  t.ok(maxAbsDiff(zero.outputs, ref.outputs) <= 1e-5);
  const seven = (await post(app, { inputs: HELLO.inputs, hiddenSize: 3, seed: 7 })).json();
  t.ok(maxAbsDiff(seven.outputs, zero.outputs) > 1e-3);
  const again = (await post(app, { inputs: HELLO.inputs, hiddenSize: 3, seed: 7 })).json();
  t.same(again, seven, 'same seed, same answer');
});

t.test('returnSequences and returnState', async (t) => {
  const { app } = await build(t);
  const full = (await post(app, HELLO)).json();
  const last = (await post(app, { ...HELLO, returnSequences: false })).json();
  t.same(last.shapes, { inputs: [1, 5, 4], outputs: [1, 2], states: [1, 2] });
  t.same(last.outputs, [full.outputs[0][4]]);
  const noState = (await post(app, { ...HELLO, returnState: false })).json();
  t.notOk('states' in noState);
  t.same(noState.shapes, { inputs: [1, 5, 4], outputs: [1, 5, 2] });
  t.same(noState.outputs, full.outputs);
});

t.test('explicit Keras weights agree with tfjs on several shapes', async (t) => {
  const { app } = await build(t);
  const cases: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [2, 7, 3, 1],
    [4, 300, 5, 6],
    [3, 12, 16, 32],
  ];
  let seed = 11;
  for (const [batch, time, inputDim, hiddenSize] of cases) {
    const random = rng(seed++);
    const inputs = randomNested(random, [batch, time, inputDim], 3);
    const weights = {
      kernel: randomNested(random, [inputDim, hiddenSize], 0.7),
      recurrentKernel: randomNested(random, [hiddenSize, hiddenSize], 0.7),
      bias: randomNested(random, [hiddenSize], 0.2),
    };
    const res = await post(app, { inputs, weights });
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.match(body.model, { inputDim, hiddenSize, seed: null });
    t.same(body.shapes, {
      inputs: [batch, time, inputDim],
      outputs: [batch, time, hiddenSize],
      states: [batch, hiddenSize],
    });
    const ref = tfjsSimpleRnn(inputs, weights);
    const d = maxAbsDiff(body.outputs, ref.outputs);
    t.ok(d <= 1e-5, `${[batch, time, inputDim, hiddenSize]}: max |diff| ${d}`);
    t.ok(maxAbsDiff(body.states, ref.states) <= 1e-5);
  }
});

t.test('hiddenSize with weights must agree', async (t) => {
  const { app } = await build(t);
  const weights = {
    kernel: [[0.5, 0.1]],
    recurrentKernel: [
      [0.1, 0.2],
      [0.3, 0.4],
    ],
    bias: [0, 0],
  };
  t.equal((await post(app, { inputs: [[[1]]], weights, hiddenSize: 2 })).statusCode, 200);
  expectProblem(
    t,
    await post(app, { inputs: [[[1]]], weights, hiddenSize: 3 }),
    400,
    'hiddenSize',
    /is 3 but the weights of layer 0 have 2 units; they must agree/,
  );
});

t.test('outputs are the shortest decimals of their float32 values', async (t) => {
  const { app } = await build(t);
  const body = (await post(app, HELLO_BATCH)).json();
  for (const value of body.outputs.flat(2) as number[]) {
    const f = Math.fround(value);
    let p = 1;
    while (Math.fround(Number(f.toPrecision(p))) !== f) p++;
    t.equal(value, Number(f.toPrecision(p)), `${value} is the shortest decimal of its float32`);
  }
});

t.test('bad requests: 4xx problem+json naming the path, never 500', async (t) => {
  const { app } = await build(t);
  const cases: [string, unknown, number, string | null, RegExp][] = [
    ['invalid JSON', '{"inputs": [[[1,', 400, '$', /not valid JSON/],
    ['empty body', '', 400, '$', /empty/],
    ['JSON that is not an object', '[1,2]', 400, '$', /expected object/],
    [
      'wrong type in inputs',
      { inputs: [[[1, 'x']]], hiddenSize: 2 },
      400,
      'inputs[0][0][1]',
      /expected number, received string/,
    ],
    ['inputs not an array', { inputs: 'hello', hiddenSize: 2 }, 400, 'inputs', /expected array/],
    ['missing inputs', { hiddenSize: 2 }, 400, 'inputs', /is required \(or text\)/],
    ['Infinity (1e999)', '{"inputs": [[[1, 1e999]]], "hiddenSize": 2}', 400, 'inputs[0][0][1]', /Infinity/],
    [
      'beyond float32 (1e39)',
      '{"inputs": [[[1e39]]], "hiddenSize": 2}',
      400,
      'inputs[0][0][0]',
      /outside the float32 range/,
    ],
    ['null in inputs', { inputs: [[[null]]], hiddenSize: 2 }, 400, 'inputs[0][0][0]', /expected number/],
    [
      'ragged: another number of features',
      {
        inputs: [
          [
            [1, 2],
            [1, 2],
          ],
          [[1, 2], [3]],
        ],
        hiddenSize: 2,
      },
      400,
      'inputs[1][1]',
      /has 1 feature; expected 2 \(inputs\[0\]\[0\]\)/,
    ],
    ['empty batch', { inputs: [], hiddenSize: 2 }, 400, 'inputs', /empty/],
    ['empty time', { inputs: [[]], hiddenSize: 2 }, 400, 'inputs[0]', /no time steps/],
    ['empty features', { inputs: [[[]]], hiddenSize: 2 }, 400, 'inputs[0][0]', /no features/],
    [
      'unknown field (typo)',
      { inputs: [[[1]]], hidden_size: 2 },
      400,
      'hidden_size',
      /not a known field; did you mean hiddenSize\?/,
    ],
    [
      'unknown field in weights',
      { inputs: [[[1]]], weights: { kernel: [[1]], recurrentKernel: [[1]], bias: [0], biases: [0] } },
      400,
      'weights.biases',
      /not a known field/,
    ],
    ['hiddenSize missing', { inputs: [[[1]]] }, 400, 'hiddenSize', /required unless weights/],
    ['hiddenSize 0', { inputs: [[[1]]], hiddenSize: 0 }, 400, 'hiddenSize', />=1/],
    ['hiddenSize fractional', { inputs: [[[1]]], hiddenSize: 2.5 }, 400, 'hiddenSize', /int/i],
    ['seed negative', { inputs: [[[1]]], hiddenSize: 2, seed: -1 }, 400, 'seed', />=0/],
    ['seed too large', { inputs: [[[1]]], hiddenSize: 2, seed: 2 ** 31 - 1 }, 400, 'seed', /2147483646/],
    [
      'seed with weights',
      { inputs: [[[1]]], seed: 1, weights: { kernel: [[1]], recurrentKernel: [[1]], bias: [0] } },
      400,
      'weights',
      /cannot be combined with seed/,
    ],
    [
      'kernel with wrong rows',
      { inputs: [[[1, 2]]], weights: { kernel: [[1]], recurrentKernel: [[1]], bias: [0] } },
      400,
      'weights.kernel',
      /is \[1, 1\]; expected \[2, 1\] \(inputDim/,
    ],
    [
      'kernel of wrong width',
      {
        inputs: [[[1]]],
        weights: {
          kernel: [[1, 2, 3]],
          recurrentKernel: [
            [1, 0],
            [0, 1],
          ],
          bias: [0, 0],
        },
      },
      400,
      'weights.kernel',
      /is \[1, 3\]; expected \[1, 2\]/,
    ],
    [
      'kernel not rectangular',
      {
        inputs: [[[1, 1]]],
        weights: {
          kernel: [[1, 2], [3]],
          recurrentKernel: [
            [1, 0],
            [0, 1],
          ],
          bias: [0, 0],
        },
      },
      400,
      'weights.kernel[1]',
      /has 1 entry; expected 2 \(the width of weights.kernel\[0\]\)/,
    ],
    [
      'recurrent kernel not square',
      { inputs: [[[1]]], weights: { kernel: [[1, 2]], recurrentKernel: [[1, 0], [0]], bias: [0, 0] } },
      400,
      'weights.recurrentKernel[1]',
      /has 1 entry; expected 2 \(the width of weights.recurrentKernel\[0\]\)/,
    ],
    [
      'bias of wrong length',
      {
        inputs: [[[1]]],
        weights: {
          kernel: [[1, 2]],
          recurrentKernel: [
            [1, 0],
            [0, 1],
          ],
          bias: [0],
        },
      },
      400,
      'weights.bias',
      /has 1 entry; expected 2 \(hiddenSize\)/,
    ],
    [
      'empty recurrent kernel',
      { inputs: [[[1]]], weights: { kernel: [[]], recurrentKernel: [], bias: [] } },
      400,
      'weights.recurrentKernel',
      /empty/,
    ],
    [
      'weights out of float32 range',
      '{"inputs": [[[1]]], "weights": {"kernel": [[1e40]], "recurrentKernel": [[1]], "bias": [0]}}',
      400,
      'weights.kernel[0][0]',
      /float32/,
    ],
    ['__proto__ key', '{"inputs": [[[1]]], "hiddenSize": 1, "__proto__": {"x": 1}}', 400, '$', /prototype|__proto__/i],
    [
      'constructor.prototype key',
      '{"inputs": [[[1]]], "hiddenSize": 1, "constructor": {"prototype": {"x": 1}}}',
      400,
      '$',
      /constructor|prototype/i,
    ],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400, '$', /UTF-8/],
  ];
  for (const [name, payload, status, path, message] of cases) {
    await t.test(name, async (t) => {
      expectProblem(t, await post(app, payload), status, path, message);
    });
  }
});

t.test('media type, routes and methods', async (t) => {
  const { app } = await build(t);
  const text = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify(HELLO),
  });
  expectProblem(t, text, 415, null, /Content-Type 'text\/plain' is not supported; send application\/json/);
  const form = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'a=1',
  });
  expectProblem(t, form, 415, null, /not supported/);
  const missing = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: Buffer.from(JSON.stringify(HELLO)),
  });
  t.equal(missing.statusCode, 415);
  const charset = await post(app, HELLO, { 'content-type': 'application/json; charset=utf-8' });
  t.equal(charset.statusCode, 200);
  expectProblem(t, await app.inject({ method: 'GET', url: '/nope' }), 404, null, /no route GET \/nope/);
  const wrongMethod = await app.inject({ method: 'GET', url: '/rnn/forward' });
  expectProblem(t, wrongMethod, 405, null, /GET is not allowed on \/rnn\/forward; use POST/);
  t.equal(wrongMethod.headers.allow, 'POST');
  t.equal((await app.inject({ method: 'DELETE', url: '/rnn/forward' })).statusCode, 405);
});

t.test('body over the size limit: 413 stating the limit', async (t) => {
  const { app } = await build(t, { limits: { bodyLimitBytes: 1000 } });
  const big = { inputs: [Array.from({ length: 200 }, () => [0.123456])], hiddenSize: 2 };
  const res = await post(app, big);
  const body = expectProblem(t, res, 413, null, /larger than the limit of 1000 bytes \(BODY_LIMIT_BYTES\)/);
  t.equal(body.status, 413);
  t.equal((await post(app, HELLO)).statusCode, 200, 'a small body still works');
});

t.test('configured limits: each states the limit and the value received', async (t) => {
  const { app } = await build(t, {
    limits: { maxBatch: 2, maxTimeSteps: 3, maxFeatures: 4, maxHiddenSize: 5, maxCompute: 1000 },
  });
  const seq = (time: number, features: number) => Array.from({ length: time }, () => new Array(features).fill(0.5));
  const cases: [string, unknown, string, RegExp][] = [
    [
      'batch',
      { inputs: [seq(1, 1), seq(1, 1), seq(1, 1)], hiddenSize: 1 },
      'inputs',
      /batch size is 3; the limit is 2 \(MAX_BATCH\)/,
    ],
    [
      'time steps',
      { inputs: [seq(4, 1)], hiddenSize: 1 },
      'inputs[0]',
      /time steps is 4; the limit is 3 \(MAX_TIME_STEPS\)/,
    ],
    [
      'features',
      { inputs: [seq(1, 5)], hiddenSize: 1 },
      'inputs[0][0]',
      /features is 5; the limit is 4 \(MAX_FEATURES\)/,
    ],
    [
      'hidden size',
      { inputs: [seq(1, 1)], hiddenSize: 6 },
      'hiddenSize',
      /hidden size is 6; the limit is 5 \(MAX_HIDDEN_SIZE\)/,
    ],
    [
      'hidden size of explicit weights',
      {
        inputs: [seq(1, 1)],
        weights: { kernel: [new Array(6).fill(0)], recurrentKernel: seq(6, 6), bias: new Array(6).fill(0) },
      },
      'weights.recurrentKernel',
      /hidden size is 6; the limit is 5/,
    ],
    // 2·3·(4 + 5)·5 = 270 for the pass, 6·5³ = 750 to build the seeded weights
    ['compute', { inputs: [seq(3, 4), seq(3, 4)], hiddenSize: 5 }, '$', /is 1020; the limit is 1000 \(MAX_COMPUTE\)/],
  ];
  for (const [name, payload, path, message] of cases) {
    await t.test(name, async (t) => {
      const body = expectProblem(t, await post(app, payload), 400, path, message);
      t.equal(body.type, 'urn:rnn-serve:problem:limit-exceeded');
    });
  }
  t.equal((await post(app, { inputs: [seq(3, 4), seq(3, 4)], hiddenSize: 3 })).statusCode, 200, 'within every limit');
});

t.test('request ids: honoured, echoed, on the one log line of the request', async (t) => {
  const { app, logs } = await build(t);
  const res = await post(app, HELLO, { 'x-request-id': 'abc-123' });
  t.equal(res.headers['x-request-id'], 'abc-123');
  const lines = logs.filter((l) => l.reqId === 'abc-123');
  t.equal(lines.length, 1, 'one line per request');
  t.match(lines[0], { msg: 'request completed', method: 'POST', url: '/rnn/forward', statusCode: 200 });
  const generated = await post(app, HELLO);
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  const unsafe = await post(app, HELLO, { 'x-request-id': 'a b\u00e9'.repeat(3) });
  t.match(unsafe.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an unsafe id is replaced');
  const bad = await post(app, { inputs: [], hiddenSize: 1 }, { 'x-request-id': 'bad-1' });
  t.equal(bad.json().requestId, 'bad-1');
  const badLines = logs.filter((l) => l.reqId === 'bad-1');
  t.equal(badLines.length, 1);
  t.match(badLines[0], { statusCode: 400, problem: 'invalid-request' });
});

t.test('undefined or contradictory options: a precise 400, never a guess', async (t) => {
  const { app } = await build(t);
  const x = [
    [[1], [2], [3]],
    [[4], [5], [6]],
  ];
  const cases: [string, unknown, string, RegExp][] = [
    [
      'lengths longer than the sequence',
      { inputs: x, hiddenSize: 2, lengths: [3, 4] },
      'lengths[1]',
      /is 4, longer than the sequence \(inputs\[1\] has 3 time steps\)/,
    ],
    ['lengths of the wrong size', { inputs: x, hiddenSize: 2, lengths: [3] }, 'lengths', /has 1 entry; expected 2/],
    ['negative length', { inputs: x, hiddenSize: 2, lengths: [3, -1] }, 'lengths[1]', />=0/],
    [
      'lengths and mask',
      {
        inputs: x,
        hiddenSize: 2,
        lengths: [3, 3],
        mask: [
          [true, true, true],
          [true, true, true],
        ],
      },
      'mask',
      /cannot be combined with lengths/,
    ],
    [
      'mask of the wrong shape',
      {
        inputs: x,
        hiddenSize: 2,
        mask: [
          [true, true, true],
          [true, true],
        ],
      },
      'mask[1]',
      /has 2 entries; expected 3/,
    ],
    [
      'mask with numbers',
      {
        inputs: x,
        hiddenSize: 2,
        mask: [
          [1, 1, 1],
          [1, 1, 1],
        ],
      },
      'mask[0][0]',
      /expected boolean/,
    ],
    [
      'ragged inputs and lengths',
      { inputs: [[[1], [2]], [[1]]], hiddenSize: 2, lengths: [2, 1] },
      'lengths',
      /cannot be combined with a ragged batch \(inputs\[1\] has 1 time step/,
    ],
    [
      'initialState of the wrong batch',
      { inputs: x, hiddenSize: 2, initialState: [[0, 0]] },
      'initialState',
      /has 1 row; expected 2 \(the batch size\)/,
    ],
    [
      'initialState of the wrong width',
      { inputs: x, hiddenSize: 2, initialState: [[0, 0], [0]] },
      'initialState[1]',
      /has 1 entry; expected 2/,
    ],
    [
      'one initial state for two',
      {
        inputs: x,
        hiddenSize: 2,
        bidirectional: {},
        initialState: [
          [0, 0],
          [0, 0],
        ],
      },
      'initialState',
      /is one state, but the model has 2/,
    ],
    [
      'a list of two states for one (PyTorch h0 for one layer has one)',
      {
        inputs: x,
        hiddenSize: 2,
        initialState: [
          [
            [0, 0],
            [0, 0],
          ],
          [
            [0, 0],
            [0, 0],
          ],
        ],
      },
      'initialState',
      /has 2 states; expected 1 \(the one layer: \[batch, hiddenSize\], or PyTorch h0 \[1, batch, hiddenSize\]\)/,
    ],
    [
      'too few states',
      {
        inputs: x,
        layers: [{ hiddenSize: 2 }, { hiddenSize: 1 }],
        initialState: [
          [
            [0, 0],
            [0, 0],
          ],
        ],
      },
      'initialState',
      /has 1 state; expected 2/,
    ],
    ['empty sequence in a ragged batch', { inputs: [[[1]], []], hiddenSize: 2 }, 'inputs[1]', /has no time steps/],
  ];
  for (const [name, payload, path, message] of cases) {
    await t.test(name, async (t) => {
      expectProblem(t, await post(app, payload), 400, path, message);
    });
  }
});

t.test('results that overflow float32: 422 naming the first non-finite position', async (t) => {
  const { app } = await build(t);
  const weights = { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] };
  const res = await post(app, { inputs: [[[0], [0.5], [1], [1]]], weights, activation: 'linear' });
  const body = expectProblem(t, res, 422, 'outputs[0][2][0]', /Infinity: the result overflows float32/);
  t.equal(body.type, 'urn:rnn-serve:problem:non-finite-result');
  // relu: the same overflow; tanh saturates instead, which is fine.
  t.equal((await post(app, { inputs: [[[1], [1]]], weights, activation: 'relu' })).statusCode, 422);
  const tanh = await post(app, { inputs: [[[1e30], [-1e30]]], weights });
  t.equal(tanh.statusCode, 200);
  t.same(tanh.json().outputs, [[[1], [-1]]]);
});

t.test('stacked and bidirectional answers: shapes and state order', async (t) => {
  const { app } = await build(t);
  const x = [
    [
      [1, 0],
      [0, 1],
      [1, 1],
    ],
  ];
  const stacked = (
    await post(app, { inputs: x, layers: [{ hiddenSize: 3 }, { hiddenSize: 2, activation: 'relu' }] })
  ).json();
  t.same(stacked.shapes, {
    inputs: [1, 3, 2],
    outputs: [1, 3, 2],
    states: [
      [1, 3],
      [1, 2],
    ],
  });
  t.same(stacked.states[1][0], stacked.outputs[0][2], 'the last layer state is the last output');
  const bi = (await post(app, { inputs: x, hiddenSize: 2, bidirectional: { mergeMode: 'concat' } })).json();
  t.same(bi.shapes, {
    inputs: [1, 3, 2],
    outputs: [1, 3, 4],
    states: [
      [1, 2],
      [1, 2],
    ],
  });
  t.same(bi.outputs[0][2].slice(0, 2), bi.states[0][0], 'forward half of the last step is the forward state');
  t.same(bi.outputs[0][0].slice(2), bi.states[1][0], 'backward half of the first step is the backward state');
  const both = (await post(app, { inputs: x, hiddenSize: 2, bidirectional: { mergeMode: null } })).json();
  t.same(both.shapes.outputs, [2, 1, 3, 2]);
  t.same(
    both.outputs[0][0],
    bi.outputs[0].map((step: number[]) => step.slice(0, 2)),
  );
  const last = (
    await post(app, { inputs: x, hiddenSize: 2, bidirectional: { mergeMode: 'sum' }, returnSequences: false })
  ).json();
  t.same(last.shapes.outputs, [1, 2]);
  const f = Math.fround;
  last.outputs[0].forEach((v: number, j: number) => {
    t.equal(
      f(v),
      f(f(bi.states[0][0][j]) + f(bi.states[1][0][j])),
      `sum of the forward and backward final states [${j}]`,
    );
  });
});

t.test('flat tensors in and out (Open Inference Protocol style)', async (t) => {
  const { app } = await build(t);
  const nestedAnswer = (await post(app, HELLO_BATCH)).json();
  const flatInputs = { shape: [3, 5, 4], data: HELLO_BATCH.inputs.flat(2) };
  const flatIn = (await post(app, { ...HELLO_BATCH, inputs: flatInputs })).json();
  t.same(flatIn, nestedAnswer, 'flat inputs = nested inputs');
  const flatOut = (await post(app, { ...HELLO_BATCH, outputFormat: 'flat' })).json();
  t.same(flatOut.outputs, { shape: [3, 5, 2], data: nestedAnswer.outputs.flat(2) });
  t.same(flatOut.states, { shape: [3, 2], data: nestedAnswer.states.flat() });
  t.same(flatOut.shapes, nestedAnswer.shapes);
  const stacked = (
    await post(app, {
      ...HELLO_BATCH,
      hiddenSize: undefined,
      layers: [{ hiddenSize: 2 }, { hiddenSize: 3 }],
      outputFormat: 'flat',
    })
  ).json();
  t.same(
    stacked.states.map((s: { shape: number[] }) => s.shape),
    [
      [3, 2],
      [3, 3],
    ],
    'one flat tensor per state',
  );

  const cases: [unknown, string, RegExp][] = [
    [{ shape: [3, 5], data: [] }, 'inputs.shape', /has 2 dimensions; expected 3/],
    [{ shape: [1, 0, 4], data: [] }, 'inputs.shape[1]', /is 0; time must be at least 1/],
    [
      { shape: [1, 2, 2], data: [1, 2, 3] },
      'inputs.data',
      /has 3 elements; expected 4 \(the product of inputs.shape \[1, 2, 2\]\)/,
    ],
    [{ shape: [1, 1, 2], data: [1, 'x'] }, 'inputs.data[1]', /expected number, received string/],
    [{ shape: [1, 1, 1], data: [1], extra: 1 }, 'inputs.extra', /not a known field/],
    ['a string', 'inputs', /expected array or object/],
  ];
  for (const [inputs, path, message] of cases) {
    expectProblem(t, await post(app, { inputs, hiddenSize: 2 }), 400, path, message);
  }
  const limited = await build(t, { limits: { maxTimeSteps: 2 } });
  expectProblem(
    t,
    await post(limited.app, { inputs: { shape: [1, 3, 1], data: [1, 2, 3] }, hiddenSize: 1 }),
    400,
    'inputs.shape[1]',
    /the limit is 2 \(MAX_TIME_STEPS\)/,
  );
});
