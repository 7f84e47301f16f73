/**
 * POST /rnn/forward bodies of at least POOL_MIN_BODY_BYTES are parsed and validated on a worker, not on the
 * event loop. Everything a client sees must be the same as when the event loop parses them: answers byte
 * for byte, problems with the same status, paths and messages; the metrics still count them; and the
 * workers run at the configured lower priority (POOL_NICE).
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { build, HELLO, HELLO_BATCH } from '../../../helpers/build.js';
import { randomNested, rng } from '../../../helpers/random.js';

/** Every body deferred (1 byte and up), nothing pooled for its compute cost alone. */
const DEFER_ALL = { pool: { threads: 1, minCompute: Number.MAX_SAFE_INTEGER, maxQueue: 64, minBodyBytes: 1, nice: 0 } };

const large = {
  inputs: { shape: [6, 30, 12], data: randomNested(rng(11), [6 * 30 * 12]) as number[] },
  layers: [{ hiddenSize: 24 }, { hiddenSize: 16, activation: 'relu' }],
  bidirectional: { mergeMode: 'ave' },
  seed: 9,
  outputFormat: 'flat',
};

const VALID: Record<string, unknown> = {
  hello: HELLO,
  'the lecture batch': HELLO_BATCH,
  text: { text: ['hello', 'eol'], hiddenSize: 3, seed: 1 },
  'a large flat stacked bidirectional batch': large,
  'an answer above 64 KiB (sent as bytes)': {
    ...large,
    inputs: { shape: [8, 40, 12], data: randomNested(rng(14), [8 * 40 * 12]) as number[] },
    bidirectional: { mergeMode: 'concat' },
    outputFormat: 'nested',
  },
  'explicit weights with a mask and an initial state': {
    inputs: [
      [
        [0.5, -1],
        [2, 0.25],
        [1, 1],
      ],
    ],
    mask: [[true, false, true]],
    initialState: [[0.1, -0.2, 0.3]],
    weights: {
      kernel: randomNested(rng(12), [2, 3]),
      recurrentKernel: randomNested(rng(13), [3, 3]),
      bias: [0.1, 0, -0.1],
    },
    returnSequences: false,
  },
};

const INVALID: Record<string, string | Buffer> = {
  'not JSON': '{"inputs": [[[1, 0]]], "hiddenSize": ',
  'not UTF-8': Buffer.concat([
    Buffer.from('{"inputs": [[[1]]], "hiddenSize": 2, "seed": 1, "x": "'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('"}'),
  ]),
  'prototype poisoning': '{"inputs": [[[1]]], "hiddenSize": 2, "seed": 1, "__proto__": {"x": 1}}',
  'an unknown field (with a suggestion)': '{"inputs": [[[1]]], "hidden_size": 2, "seed": 1}',
  'a string among the numbers': '{"inputs": [[[1, 0], [0, "1"]]], "hiddenSize": 2, "seed": 1}',
  'a flat tensor with bad data': '{"inputs": {"shape": [1, 1, 2], "data": [1, null]}, "hiddenSize": 2, "seed": 1}',
  'a number JSON reads as Infinity': '{"inputs": [[[1e999]]], "hiddenSize": 2, "seed": 1}',
  'a number beyond float32': '{"inputs": [[[1, 1e39]]], "hiddenSize": 2, "seed": 1}',
  'ragged features': '{"inputs": [[[1, 0], [1]]], "hiddenSize": 2, "seed": 1}',
  'a limit exceeded': JSON.stringify({ inputs: [[[1]]], hiddenSize: 5000, seed: 1 }),
  'contradicting fields': '{"inputs": [[[1]]], "text": ["a"], "hiddenSize": 2, "seed": 1}',
  'an empty object': '{}',
};

const withoutId = (body: string) => ({ ...JSON.parse(body), requestId: null });

t.test('answers from a worker-parsed body are byte-identical to the event loop', async (t) => {
  const deferred = await build(t, DEFER_ALL);
  const inline = await build(t, { pool: { threads: 0 } });
  for (const [name, body] of Object.entries(VALID)) {
    const a = await deferred.app.inject({ method: 'POST', url: '/rnn/forward', payload: body as object });
    const b = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: body as object });
    t.equal(a.statusCode, 200, `${name}: 200`);
    t.equal(a.headers['content-type'], b.headers['content-type'], `${name}: same content type`);
    t.equal(a.body, b.body, `${name}: byte-identical`);
  }
  t.ok(
    Buffer.byteLength(
      (
        await inline.app.inject({
          method: 'POST',
          url: '/rnn/forward',
          payload: VALID['an answer above 64 KiB (sent as bytes)'] as object,
        })
      ).body,
    ) >
      64 * 1024,
    'the large answer is above 64 KiB',
  );
});

t.test('problems found on the worker are the problems the event loop reports', async (t) => {
  const deferred = await build(t, DEFER_ALL);
  const inline = await build(t, { pool: { threads: 0 } });
  for (const [name, payload] of Object.entries(INVALID)) {
    const request = {
      method: 'POST' as const,
      url: '/rnn/forward',
      headers: { 'content-type': 'application/json' },
      payload,
    };
    const a = await deferred.app.inject(request);
    const b = await inline.app.inject(request);
    t.equal(a.statusCode, b.statusCode, `${name}: ${b.statusCode}`);
    t.ok(a.statusCode >= 400 && a.statusCode < 500, `${name}: a 4xx`);
    t.match(a.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`);
    t.same(withoutId(a.body), withoutId(b.body), `${name}: same problem (${JSON.parse(b.body).detail})`);
  }
  t.match(
    JSON.parse(
      (
        await deferred.app.inject({
          method: 'POST',
          url: '/rnn/forward',
          headers: { 'content-type': 'application/json' },
          payload: INVALID['an unknown field (with a suggestion)'],
        })
      ).body,
    ).errors,
    [{ path: 'hidden_size', message: /did you mean hiddenSize/ }],
  );
});

t.test('deferred requests are counted by the forward metrics', async (t) => {
  const { app } = await build(t, DEFER_ALL);
  const count = async (name: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  t.equal(await count('rnn_forward_batch_size_count'), 0);
  for (let i = 0; i < 3; i++)
    t.equal((await app.inject({ method: 'POST', url: '/rnn/forward', payload: HELLO_BATCH })).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: '/rnn/forward', payload: { inputs: [[[1]]] } })).statusCode, 400);
  t.equal(await count('rnn_forward_batch_size_count'), 3, 'three passes');
  t.equal(await count('rnn_forward_batch_size_sum'), 9, 'of three sequences each');
  t.equal(await count('rnn_forward_time_steps_sum'), 15, 'of five steps');
  t.equal(await count('rnn_forward_compute_seconds_count'), 3);
  t.ok((await count('rnn_forward_compute_seconds_sum')) > 0, 'with their compute time');
});

t.test('below POOL_MIN_BODY_BYTES bodies are parsed on the event loop, and both paths agree', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 1, minCompute: Number.MAX_SAFE_INTEGER, maxQueue: 64, minBodyBytes: 4096, nice: 0 },
  });
  const inline = await build(t, { pool: { threads: 0 } });
  for (const body of [HELLO, large]) {
    const a = await app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
    const b = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
    t.equal(a.body, b.body, `${JSON.stringify(body).length} bytes: identical`);
  }
});

/** Nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) =>
    Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]),
  );
}

t.test(
  'pool workers run at POOL_NICE, the event loop does not',
  { skip: process.platform !== 'linux' && 'nice values per thread are a Linux feature' },
  async (t) => {
    const before = threadNiceValues().filter((n) => n === 7).length;
    const { app } = await build(t, { pool: { threads: 2, minCompute: 1, maxQueue: 64, minBodyBytes: 1, nice: 7 } });
    // Workers start with the pool; one request makes sure both are up and have run their start-up code.
    await Promise.all([0, 1].map(() => app.inject({ method: 'POST', url: '/rnn/forward', payload: large })));
    const deadline = Date.now() + 10_000;
    while (threadNiceValues().filter((n) => n === 7).length < before + 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    t.equal(threadNiceValues().filter((n) => n === 7).length, before + 2, 'two worker threads at nice 7');
    const mainThread = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]);
    t.equal(mainThread, 0, 'the event loop keeps nice 0');
  },
);
