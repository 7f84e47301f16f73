/**
 * ModelInfer's long calls over a real socket, through the core's queue: a client that cancels, or whose deadline
 * passes, stops the work on the worker (CANCELLED, DEADLINE_EXCEEDED) and gives its memory back; a call beyond
 * POOL_MAX_QUEUE, or whose turn would come after its `timeout`, is UNAVAILABLE at once with HTTP's words and
 * Retry-After in its trailers; a queued call whose client cancels leaves the queue.
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
  const metric = async (name: string) =>
    Number(
      new RegExp(`^${name} (\\d+)$`, 'm').exec((await g.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1],
    );
  const abandoned = () => metric('rnn_pool_tasks_abandoned_total');
  const reserved = () => metric('rnn_memory_budget_reserved_bytes');
  const waiting = () => metric('rnn_pool_queue_depth');
  /** Waits until `done()` (at most 5 s). */
  const until = async (done: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { ...g, abandoned, reserved, waiting, until };
}

/** Starts `request` (LONG); resolves with its call and its outcome once the server has reserved its memory. */
function start(g: Awaited<ReturnType<typeof setUp>>, options: object = {}, request: object = LONG) {
  let settle!: (value: ServiceError | object) => void;
  const outcome = new Promise<any>((resolve) => (settle = resolve));
  const call = (g.inference as any).ModelInfer(request, options, (error: ServiceError | null, response: object) =>
    settle(error ?? response),
  );
  return { call, outcome };
}

async function startLong(g: Awaited<ReturnType<typeof setUp>>, options: object = {}) {
  const started = start(g, options);
  await g.until(async () => (await g.reserved()) > 0);
  return started;
}

t.test('a client that cancels ModelInfer stops the pass on the worker', async (t) => {
  const g = await setUp(t);
  const { call, outcome } = await startLong(g);
  t.ok((await g.reserved()) > 0, 'computing, its memory reserved');
  call.cancel();
  t.equal((await outcome).code, status.CANCELLED);
  await g.until(async () => (await g.abandoned()) === 1);
  t.equal(await g.abandoned(), 1, 'the task on the worker was stopped');
  await g.until(async () => (await g.reserved()) === 0);
  t.equal(await g.reserved(), 0, 'its memory is back');
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

t.test('beyond POOL_MAX_QUEUE a call is UNAVAILABLE at once, with Retry-After; a queued call can leave', async (t) => {
  const g = await setUp(t, { pool: { threads: 1, maxQueue: 1 }, overload: { retryAfterSeconds: 2 } });
  const running = await startLong(g);
  const queued = start(g);
  await g.until(async () => (await g.waiting()) === 1);
  t.equal(await g.waiting(), 1, 'the second call waits in the queue');
  const refused = await g.unary(g.inference, 'ModelInfer', LONG).catch((e) => e);
  t.equal(refused.code, status.UNAVAILABLE);
  t.equal(refused.details, 'the compute queue is full (1 waiting, POOL_MAX_QUEUE); retry after 2 s', "HTTP's words");
  t.same(refused.metadata.get('retry-after'), ['2']);
  t.same(refused.metadata.get('grpc-retry-pushback-ms'), ['2000']);
  queued.call.cancel();
  t.equal((await queued.outcome).code, status.CANCELLED);
  await g.until(async () => (await g.waiting()) === 0);
  t.equal(await g.waiting(), 0, 'a call cancelled in the queue leaves it');
  const done = await running.outcome;
  t.equal(done.outputs?.length, 1, 'the call running is answered');
  t.equal((await g.unary(g.inference, 'ModelInfer', SHORT)).outputs.length, 2, 'and then there is room again');
  await g.until(async () => (await g.reserved()) === 0);
  t.equal(await g.reserved(), 0, 'every call gave its memory back');
});

t.test('a call whose turn would come after its timeout parameter (µs) is UNAVAILABLE at once', async (t) => {
  const g = await setUp(t, { pool: { threads: 1 } });
  const running = await startLong(g);
  const late = await g
    .unary(g.inference, 'ModelInfer', { ...LONG, parameters: { timeout: { int64_param: 100_000 } } })
    .catch((e) => e);
  t.equal(late.code, status.UNAVAILABLE);
  // Its turn would come after its deadline; on a busy machine its 512 KiB may even arrive after it.
  t.match(late.details, /(after|past) its deadline of 100 ms \(parameters\.timeout\); (nothing was computed; )?retry/);
  t.ok(Number(late.metadata.get('retry-after')[0]) >= 1, 'with Retry-After');
  t.equal((await running.outcome).outputs?.length, 1);
});
