/**
 * Large requests run on the worker pool, small ones inline; both give byte-identical answers, problems
 * found on a worker come back as the same problem+json, and a full queue is refused with 503.
 */
import t from 'tap';
import { build, HELLO } from '../helpers/build.js';
import { randomNested, rng } from '../helpers/random.js';

const large = {
  inputs: { shape: [8, 40, 16], data: randomNested(rng(4), [8 * 40 * 16]) as number[] },
  layers: [{ hiddenSize: 48 }, { hiddenSize: 32, activation: 'relu' }],
  bidirectional: { mergeMode: 'concat' },
  seed: 3,
};

t.test('worker and inline answers are byte-identical', async (t) => {
  const pooled = await build(t, { pool: { threads: 2, minCompute: 1000, maxQueue: 64 } });
  const inline = await build(t, { pool: { threads: 0 } });
  for (const body of [
    HELLO,
    large,
    { ...large, outputFormat: 'flat' },
    { ...large, seed: undefined, weights: undefined },
  ]) {
    const a = await pooled.app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
    const b = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
    t.equal(a.statusCode, 200);
    t.equal(a.body, b.body, 'byte-identical');
  }
  // Explicit weights travel to the worker with the plan.
  const weights = {
    kernel: randomNested(rng(5), [16, 8]),
    recurrentKernel: randomNested(rng(6), [8, 8]),
    bias: randomNested(rng(7), [8]),
  };
  const explicit = { inputs: large.inputs, weights };
  const a = await pooled.app.inject({ method: 'POST', url: '/rnn/forward', payload: explicit });
  const b = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: explicit });
  t.equal(a.statusCode, 200);
  t.equal(a.body, b.body);
  // A non-finite result found on the worker is the same 422.
  const overflow = {
    inputs: { shape: [2, 30, 1], data: new Array(60).fill(1) },
    weights: { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] },
    activation: 'linear',
  };
  const p = await pooled.app.inject({ method: 'POST', url: '/rnn/forward', payload: overflow });
  const q = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: overflow });
  t.equal(p.statusCode, 422);
  t.same({ ...p.json(), requestId: null }, { ...q.json(), requestId: null });
});

t.test('concurrent large requests on the pool all succeed', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 2, minCompute: 1000, maxQueue: 64 },
    overload: {},
  });
  const answers = await Promise.all(
    Array.from({ length: 12 }, () => app.inject({ method: 'POST', url: '/rnn/forward', payload: large })),
  );
  t.same(new Set(answers.map((r) => r.statusCode)), new Set([200]));
  t.equal(new Set(answers.map((r) => r.body)).size, 1, 'all identical');
});

t.test('a full compute queue is refused with 503 and Retry-After', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 1, minCompute: 1000, maxQueue: 1 },
    overload: {},
  });
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => app.inject({ method: 'POST', url: '/rnn/forward', payload: large })),
  );
  const codes = answers.map((r) => r.statusCode);
  t.ok(codes.includes(200), `some served: ${codes}`);
  const refused = answers.filter((r) => r.statusCode === 503);
  t.ok(refused.length > 0, `some refused: ${codes}`);
  for (const r of refused) {
    t.match(r.headers['content-type'], /problem\+json/);
    t.ok(Number(r.headers['retry-after']) >= 1);
    t.match(r.json().detail, /compute queue is full \(1 waiting, POOL_MAX_QUEUE\)/);
  }
  t.equal(
    (await app.inject({ method: 'POST', url: '/rnn/forward', payload: large })).statusCode,
    200,
    'served again afterwards',
  );
});

t.test('the pool queue depth is a metric', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 1, minCompute: 1000, maxQueue: 64 },
    overload: {},
  });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /^rnn_pool_queue_depth 0$/m);
});

/**
 * Sends a slow POST, then a /healthz probe while it runs; resolves both answers and the order they completed
 * in. The probe first means the slow work did not hold the event loop.
 */
async function probeDuring(app: Awaited<ReturnType<typeof build>>['app'], url: string, payload: object) {
  const order: string[] = [];
  const slow = app.inject({ method: 'POST', url, payload }).then((r) => {
    order.push('slow');
    return r;
  });
  await new Promise((resolve) => setImmediate(resolve));
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  order.push('healthz');
  return { health, answer: await slow, order };
}

t.test('building large seeded weights happens on a worker, not on the event loop', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 1, minCompute: 1_000_000, maxQueue: 64 },
    overload: {},
  });
  // A tiny pass (one step), but a 320-unit orthogonal kernel to build first: 6·320³ ≈ 2·10⁸ multiply-adds.
  const body = { inputs: [[[1]]], hiddenSize: 320, seed: 77, returnSequences: false };
  const { health, answer, order } = await probeDuring(app, '/rnn/forward', body);
  t.equal(health.statusCode, 200);
  t.equal(answer.statusCode, 200);
  t.same(order, ['healthz', 'slow'], 'the probe was answered while the weights were being built');
  const inline = await build(t, { pool: { threads: 0 } });
  const same = await inline.app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
  t.equal(answer.body, same.body, 'and the answer is the same as inline');
});

t.test('POST /rnn/weights for a large seeded model is answered on a worker, identical to inline', async (t) => {
  const { app } = await build(t, {
    pool: { threads: 1, minCompute: 1_000_000, maxQueue: 64 },
    overload: {},
  });
  const inline = await build(t, { pool: { threads: 0 } });
  const body = { inputDim: 8, hiddenSize: 320, seed: 5 };
  const { health, answer: pooled, order } = await probeDuring(app, '/rnn/weights', body);
  t.equal(health.statusCode, 200);
  t.equal(pooled.statusCode, 200);
  t.same(order, ['healthz', 'slow'], 'the probe was answered while the weights were built');
  const direct = await inline.app.inject({ method: 'POST', url: '/rnn/weights', payload: body });
  t.equal(pooled.body, direct.body, 'byte-identical to the inline answer');
  t.equal(pooled.json().keras[0].recurrentKernel.length, 320);
  // A problem found on the worker comes back as the same problem.
  const bad = {
    inputDim: 8,
    layers: [{ hiddenSize: 320 }],
    bidirectional: { mergeMode: 'sum' },
    weights: [{ kernel: [[1]], recurrentKernel: [[1]] }],
  };
  const a = await app.inject({ method: 'POST', url: '/rnn/weights', payload: bad });
  const b = await inline.app.inject({ method: 'POST', url: '/rnn/weights', payload: bad });
  t.equal(a.statusCode, 400);
  t.same({ ...a.json(), requestId: null }, { ...b.json(), requestId: null });
});
