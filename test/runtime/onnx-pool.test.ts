/**
 * Served ONNX graphs on the worker pool: the answers (JSON, binary, /models/{name}/forward) are byte for byte the
 * inline ones, a large run leaves the event loop free, a problem found on a worker is the inline problem, and a
 * client that goes away has its task stopped.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { abandon } from '../helpers/abandon.js';
import { HELLO, build } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';
import { fixtureCases, graphModel, onnxRepository } from '../helpers/onnx.js';

type App = Awaited<ReturnType<typeof build>>['app'];

/** Every run goes to a worker (POOL_MIN_COMPUTE 0) … */
const ALL_POOLED = { threads: 2, minCompute: 0, maxQueue: 64 };
/** … or none does. */
const INLINE = { threads: 0 };

const HIDDEN = 256;
const VOCABULARY = 16;
const spread = (n: number, scale: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);

/**
 * Token ids [time, batch] → Gather from a [16, 256] embedding → an RNN of 256 units (layout 0) → its final state
 * `h` [1, batch, 256]. ids of [500, 8] cost 500 · 8 · 256 · (256 + 256) ≈ 5.2·10⁸ multiply-adds: about half the
 * default MAX_COMPUTE, a few hundred ms of one core.
 */
const LARGE_GRAPH = graphModel({
  inputs: [{ name: 'ids', elemType: 7, shape: ['time', 'batch'] }],
  outputs: [['h', 3]],
  nodes: [
    { op: 'Gather', inputs: ['embedding', 'ids'], outputs: ['x'] },
    { op: 'RNN', inputs: ['x', 'W', 'R'], outputs: ['', 'h'], attributes: { hidden_size: HIDDEN } },
  ],
  initializers: [
    { name: 'embedding', dims: [VOCABULARY, HIDDEN], values: spread(VOCABULARY * HIDDEN, 1) },
    { name: 'W', dims: [1, HIDDEN, HIDDEN], values: spread(HIDDEN * HIDDEN, 0.05) },
    { name: 'R', dims: [1, HIDDEN, HIDDEN], values: spread(HIDDEN * HIDDEN, 0.05) },
  ],
});

/** Outputs over buffers the program holds: an initializer (Identity) and a Constant's value, beside a computed one. */
const HELD_GRAPH = graphModel({
  inputs: [{ name: 'x', shape: ['batch', 3] }],
  outputs: [
    ['y', 2],
    ['b', 1],
    ['c', 1],
  ],
  nodes: [
    { op: 'Add', inputs: ['x', 'bias'], outputs: ['y'] },
    { op: 'Identity', inputs: ['bias'], outputs: ['b'] },
    { op: 'Constant', inputs: [], outputs: ['c'], attributes: { value_floats: [1.5, -2.5] }, floats: ['value_floats'] },
  ],
  initializers: [{ name: 'bias', dims: [3], values: [0.25, -1, 4] }],
});

const ids = (time: number, batch: number) => ({
  name: 'ids',
  datatype: 'INT64',
  shape: [time, batch],
  data: Array.from({ length: time * batch }, (_, i) => (i * 7) % VOCABULARY),
});

const SENTIMENT = new URL('../../models/sentiment-onnx/1/', import.meta.url);
const FIXTURES = ['lstm-1-bf', 'rnn-1-tanh-bf', 'node-lengths', 'embedding-tagger'];

/** A repository of the fixtures, the shipped sentiment-onnx example and `large` (LARGE_GRAPH). */
function repository(t: Parameters<typeof onnxRepository>[0]): string {
  return onnxRepository(t, FIXTURES, {
    'sentiment-onnx/1/model.onnx': readFileSync(new URL('model.onnx', SENTIMENT)),
    'sentiment-onnx/1/labels.txt': readFileSync(new URL('labels.txt', SENTIMENT)),
    'large/1/model.onnx': LARGE_GRAPH,
    'held/1/model.onnx': HELD_GRAPH,
  });
}

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/** The binary form of an infer request: every input and output binary. */
function binaryRequest(inputs: Tensor[]): { headers: Record<string, string>; payload: Buffer } {
  const bytes = inputs.map(({ datatype, data }) => {
    if (datatype === 'FP32') return Buffer.from(Float32Array.from(data).buffer);
    if (datatype === 'INT32') return Buffer.from(Int32Array.from(data).buffer);
    return Buffer.from(BigInt64Array.from(data.map(BigInt)).buffer);
  });
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map(({ name, datatype, shape }, i) => ({
        name,
        datatype,
        shape,
        parameters: { binary_data_size: bytes[i].length },
      })),
      parameters: { binary_data_output: true },
    }),
  );
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    payload: Buffer.concat([header, ...bytes]),
  };
}

/** The requests each app answers: protocol JSON and binary, and /models/{name}/forward for one-input graphs. */
function requests(): { what: string; url: string; payload: object | Buffer; headers?: Record<string, string> }[] {
  const all = [];
  const cases: [string, Tensor[]][] = FIXTURES.flatMap((name) =>
    fixtureCases(name).map((c): [string, Tensor[]] => [
      name,
      Object.entries(c.inputs).map(([input, v]) => ({ name: input, ...v })),
    ]),
  );
  cases.push(['sentiment-onnx', [{ ...ids(3, 4), shape: [3, 4], data: [1, 2, 3, 4, 15, 14, 13, 12, 0, 0, 7, 7] }]]);
  cases.push(['large', [ids(500, 8)]]);
  for (const [name, inputs] of cases) {
    const url = `/v2/models/${name}/infer`;
    all.push({ what: `${name} JSON`, url, payload: { inputs } });
    all.push({ what: `${name} binary`, url, ...binaryRequest(inputs) });
    if (inputs.length === 1) {
      const [{ shape, data }] = inputs;
      const url = `/models/${name}/forward`;
      all.push({ what: `${name} forward`, url, payload: { inputs: { shape, data }, outputFormat: 'flat' } });
      if (name === 'sentiment-onnx')
        all.push({ what: `${name} forward topK`, url, payload: { inputs: { shape, data }, topK: 1 } });
    }
  }
  return all;
}

t.test('pooled and inline ONNX answers are byte-identical: JSON, binary and /models/{name}/forward', async (t) => {
  const dir = repository(t);
  const pooled = await build(t, { pool: ALL_POOLED, models: { dir } });
  const inline = await build(t, { pool: INLINE, models: { dir } });
  for (const { what, ...request } of requests()) {
    const a = await pooled.app.inject({ method: 'POST', ...request });
    const b = await inline.app.inject({ method: 'POST', ...request });
    t.equal(a.statusCode, 200, a.statusCode === 200 ? what : `${what}: ${a.body.slice(0, 300)}`);
    t.equal(b.statusCode, 200, what);
    t.ok(a.rawPayload.equals(b.rawPayload), `${what}: ${a.rawPayload.length} bytes, byte for byte`);
    t.equal(a.headers['content-type'], b.headers['content-type'], `${what}: content type`);
  }
  // The same pooled app again: the workers answer from the programs they decoded the first time.
  const again = await pooled.app.inject({
    method: 'POST',
    url: '/v2/models/large/infer',
    payload: { inputs: [ids(3, 2)] },
  });
  const direct = await inline.app.inject({
    method: 'POST',
    url: '/v2/models/large/infer',
    payload: { inputs: [ids(3, 2)] },
  });
  t.equal(again.body, direct.body, 'a program decoded before answers as the first time');
  t.match(again.json(), { outputs: [{ name: 'h', shape: [1, 2, HIDDEN] }] });
  // Outputs that are the program's own tensors are copied back, not moved: the worker's program keeps them.
  const held = { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] };
  for (const k of [1, 2, 3]) {
    const a = await pooled.app.inject({ method: 'POST', url: '/v2/models/held/infer', payload: held });
    const b = await inline.app.inject({ method: 'POST', url: '/v2/models/held/infer', payload: held });
    t.equal(a.body, b.body, `held outputs, request ${k}: as inline`);
    t.same(
      a.json().outputs.map((o: { data: number[] }) => o.data),
      [
        [1.25, 1, 7, 4.25, 4, 10],
        [0.25, -1, 4],
        [1.5, -2.5],
      ],
      `held outputs, request ${k}: the initializer and the constant intact`,
    );
  }
});

/**
 * Sends a slow request, then `probes` while it runs, in order; resolves the answers and the order they completed
 * in. The probes first means the slow run did not hold the event loop.
 */
async function probeDuring(
  app: App,
  slow: { url: string; payload: object },
  probes: { url: string; payload?: object }[],
) {
  const order: string[] = [];
  const answer = app.inject({ method: 'POST', ...slow }).then((r) => {
    order.push('slow');
    return r;
  });
  await new Promise((resolve) => setImmediate(resolve));
  const answers = [];
  for (const probe of probes) {
    const r = await app.inject({ method: probe.payload ? 'POST' : 'GET', ...probe });
    order.push(probe.url);
    answers.push(r);
  }
  return { answers, slow: await answer, order };
}

t.test('a large graph runs on a worker: the event loop answers small requests meanwhile', async (t) => {
  const dir = repository(t);
  // The default threshold: the large graph (5.2·10⁸ multiply-adds) goes to the worker; rnn-1-tanh-bf stays inline.
  const { app } = await build(t, {
    pool: { threads: 1, maxQueue: 64 },
    overload: {},
    models: { dir },
  });
  const [small] = fixtureCases('rnn-1-tanh-bf');
  const smallInfer = {
    url: '/v2/models/rnn-1-tanh-bf/infer',
    payload: { inputs: [{ name: 'x', ...small.inputs.x }] },
  };
  const slow = { url: '/v2/models/large/infer', payload: { inputs: [ids(500, 8)] } };
  const probes = [{ url: '/healthz' }, smallInfer, { url: '/rnn/forward', payload: HELLO }];
  const pooled = await probeDuring(app, slow, probes);
  t.same(pooled.order, ['/healthz', smallInfer.url, '/rnn/forward', 'slow'], 'every probe before the large run');
  t.same(
    pooled.answers.map((r) => r.statusCode),
    [200, 200, 200],
  );
  t.equal(pooled.slow.statusCode, 200);
  // The same through /models/{name}/forward.
  const forward = await probeDuring(
    app,
    { url: '/models/large/forward', payload: { inputs: { shape: [500, 8], data: ids(500, 8).data } } },
    [{ url: '/healthz' }],
  );
  t.same(forward.order, ['/healthz', 'slow'], 'POST /models/large/forward: the probe first');
  t.equal(forward.slow.statusCode, 200);

  // Inline, the same large run holds the event loop (after the one yield an inline run makes first, which lets the
  // first probes through): the last probe waits for it.
  const inline = await build(t, { pool: INLINE, overload: {}, models: { dir } });
  const held = await probeDuring(inline.app, slow, probes);
  t.ok(held.order.indexOf('slow') < probes.length, `inline: a probe waited for the run (${held.order.join(', ')})`);
  t.equal(held.slow.body, pooled.slow.body, 'and the answer is the same');
});

t.test('a problem found while a worker runs the graph is the inline problem', async (t) => {
  const dir = repository(t);
  const pooled = await build(t, { pool: ALL_POOLED, models: { dir } });
  const inline = await build(t, { pool: INLINE, models: { dir } });
  const tensor = (name: string, datatype: string, shape: number[], data: number[]) => ({ name, datatype, shape, data });
  const cases = [
    {
      what: 'a sequence length past the time axis (protocol)',
      url: '/v2/models/node-lengths/infer',
      payload: {
        inputs: [
          tensor('X', 'FP32', [2, 1, 3], [1, 2, 3, 4, 5, 6]),
          tensor('sequence_lens', 'INT32', [1], [3]),
          tensor('initial_h', 'FP32', [1, 1, 4], [0, 0, 0, 0]),
        ],
      },
      status: 400,
      body: {
        error:
          "inputs[1].data: node 'rnn' (RNN): sequence_lens[0] is 3; expected an integer in [0, 2] (the sequence length)",
      },
    },
    {
      what: 'the same in binary',
      url: '/v2/models/node-lengths/infer',
      ...binaryRequest([
        tensor('X', 'FP32', [2, 1, 3], [1, 2, 3, 4, 5, 6]),
        tensor('sequence_lens', 'INT32', [1], [3]),
        tensor('initial_h', 'FP32', [1, 1, 4], [0, 0, 0, 0]),
      ]),
      status: 400,
      body: {
        error:
          "inputs[1].data: node 'rnn' (RNN): sequence_lens[0] is 3; expected an integer in [0, 2] (the sequence length)",
      },
    },
    {
      what: 'a token id beyond the embedding (protocol)',
      url: '/v2/models/large/infer',
      payload: { inputs: [{ ...ids(2, 1), data: [3, 16] }] },
      status: 400,
      body: { error: /^inputs\[0\]\.data: node 'n0' \(Gather\): / },
    },
    {
      what: 'a token id beyond the embedding (/models/{name}/forward, in its body terms)',
      url: '/models/large/forward',
      payload: { inputs: { shape: [2, 1], data: [3, 16] } },
      status: 400,
      body: {
        type: 'urn:rnn-serve:problem:invalid-request',
        detail: /^inputs\.data: node 'n0' \(Gather\): /,
        errors: [{ path: 'inputs.data' }],
      },
    },
  ];
  for (const { what, status, body, ...request } of cases) {
    const a = await pooled.app.inject({ method: 'POST', ...request });
    const b = await inline.app.inject({ method: 'POST', ...request });
    t.equal(a.statusCode, status, `${what}: ${a.body.slice(0, 300)}`);
    t.match(a.json(), body, what);
    t.equal(a.headers['content-type'], b.headers['content-type'], `${what}: content type`);
    t.same({ ...a.json(), requestId: null }, { ...b.json(), requestId: null }, `${what}: as inline`);
  }
});

t.test('a client that goes away mid-run has its ONNX task stopped', async (t) => {
  const { app, logs } = await build(t, {
    pool: { threads: 1, minCompute: 0, maxQueue: 64 },
    limits: { maxCompute: 1e11 },
    overload: { memoryBudgetBytes: 0 },
    models: { dir: repository(t) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const abandoned = async () =>
    sample((await app.inject({ method: 'GET', url: '/metrics' })).body, 'rnn_pool_tasks_abandoned_total');
  const small = async () => {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/v2/models/large/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [ids(2, 1)] }),
    });
    return { status: response.status, ms: performance.now() - started };
  };
  t.equal((await small()).status, 200, 'the worker is up');
  t.equal(await abandoned(), 0);
  // 4000 · 16 · 256 · 512 ≈ 8.4·10⁹ multiply-adds: many seconds of the one worker.
  await abandon(port, '/v2/models/large/infer', JSON.stringify({ inputs: [ids(4000, 16)] }), 400);
  const next = await small();
  t.equal(next.status, 200, 'the next request on the pool is answered');
  t.equal(await abandoned(), 1, 'the abandoned task was stopped');
  // A replaced worker starts in seconds under the tests' TypeScript loader: compared with the abandoned run (well
  // over 15 s of one core), not with a fixed time.
  t.ok(next.ms < 15_000, `the next request waited ${next.ms.toFixed(0)} ms`);
  t.ok(
    logs.some((line) => line.msg === 'request aborted by the client' && line.statusCode === 499),
    'the abandoned request has its access-log line',
  );
  t.same(
    logs.filter((line) => (line.level as number) >= 50),
    [],
    'nothing logged at error level',
  );
});
