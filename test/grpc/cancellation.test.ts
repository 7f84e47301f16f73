/**
 * ModelInfer's long calls over a real socket: a client that cancels, or whose deadline passes, stops the work on
 * the worker (CANCELLED, DEADLINE_EXCEEDED); a call beyond MAX_CONCURRENT_FORWARD is UNAVAILABLE at once with
 * HTTP's words and Retry-After in its trailers.
 */
import t from 'tap';
import { type ServiceError, status } from '@grpc/grpc-js';
import { buildGrpc, float32Bytes } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';

/**
 * A seeded model wide enough that one pass of LONG takes a while on the worker (2·10^9 multiply-adds: about 3 s here); only its final state is asked for, so the answer stays small.
 */
const WIDE = { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 256, seed: 1 };
const LONG = {
  model_name: 'wide',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [16, 2000, 4] }],
  outputs: [{ name: 'state' }],
  raw_input_contents: [float32Bytes(Array.from({ length: 16 * 2000 * 4 }, (_, i) => (i % 7) / 7))],
};
const SHORT = {
  model_name: 'wide',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4] }],
  raw_input_contents: [float32Bytes([1, 0, 0, 0])],
};

async function setUp(t: Parameters<typeof buildGrpc>[0], overrides: Parameters<typeof buildGrpc>[1] = {}) {
  const g = await buildGrpc(t, {
    models: { dir: modelsDir(t, { 'wide/1/model.json': WIDE }) },
    pool: { threads: 1 },
    limits: { maxCompute: 10_000_000_000, maxOutputValues: 10_000_000 },
    ...overrides,
  });
  const abandoned = async () =>
    Number(
      /rnn_pool_tasks_abandoned_total (\d+)/.exec((await g.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1],
    );
  /** Waits until `done()` (at most 5 s). */
  const until = async (done: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { ...g, abandoned, until };
}

/** Starts LONG; resolves with its call and its outcome once the server has reserved its memory. */
async function startLong(g: Awaited<ReturnType<typeof setUp>>, options: object = {}) {
  let settle!: (value: ServiceError | object) => void;
  const outcome = new Promise<any>((resolve) => (settle = resolve));
  const call = (g.inference as any).ModelInfer(LONG, options, (error: ServiceError | null, response: object) =>
    settle(error ?? response),
  );
  await g.until(() => g.app.serving.budget.requests === 1);
  return { call, outcome };
}

t.test('a client that cancels ModelInfer stops the pass on the worker', async (t) => {
  const g = await setUp(t);
  const { call, outcome } = await startLong(g);
  t.equal(g.app.serving.budget.requests, 1, 'computing, its memory reserved');
  call.cancel();
  t.equal((await outcome).code, status.CANCELLED);
  await g.until(async () => (await g.abandoned()) === 1);
  t.equal(await g.abandoned(), 1, 'the task on the worker was stopped');
  await g.until(() => g.app.serving.budget.requests === 0);
  t.equal(g.app.serving.budget.reserved, 0, 'its memory is back');
  await g.until(() => g.logs.some((l) => l.code === 'CANCELLED'));
  t.match(
    g.logs.find((l) => l.code === 'CANCELLED'),
    { msg: 'call cancelled', rpc: '/inference.GRPCInferenceService/ModelInfer' },
  );
});

t.test('a deadline that passes is DEADLINE_EXCEEDED, and stops the pass too', async (t) => {
  const g = await setUp(t);
  const { outcome } = await startLong(g, { deadline: Date.now() + 300 });
  t.equal((await outcome).code, status.DEADLINE_EXCEEDED);
  await g.until(async () => (await g.abandoned()) === 1);
  t.equal(await g.abandoned(), 1);
  // The server's own deadline (grpc-timeout) and the client's cancel at its deadline race; either ends the call.
  const ended = () => g.logs.find((l) => l.rpc === '/inference.GRPCInferenceService/ModelInfer');
  await g.until(() => ended() !== undefined);
  t.match(ended(), { code: /^(DEADLINE_EXCEEDED|CANCELLED)$/ });
});

t.test('beyond MAX_CONCURRENT_FORWARD a call is UNAVAILABLE at once, with Retry-After', async (t) => {
  const g = await setUp(t, { overload: { maxConcurrentForward: 1, retryAfterSeconds: 2 } });
  const { outcome } = await startLong(g);
  const refused = await g.unary(g.inference, 'ModelInfer', SHORT).catch((e) => e);
  t.equal(refused.code, status.UNAVAILABLE);
  t.equal(
    refused.details,
    '1 compute requests are already running or waiting; the limit is 1 (MAX_CONCURRENT_FORWARD); retry after 2 s',
  );
  t.same(refused.metadata.get('retry-after'), ['2']);
  t.same(refused.metadata.get('grpc-retry-pushback-ms'), ['2000']);
  const done = await outcome;
  t.equal(done.outputs?.length, 1, 'the call admitted is answered');
  t.equal((await g.unary(g.inference, 'ModelInfer', SHORT)).outputs.length, 2, 'and then there is room again');
});
