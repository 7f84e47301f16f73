/**
 * The gRPC calls as the core's sinks, over a real socket: each call holds its model version until its exchange is
 * over (the core's lease, released when the sink closes: answered, failed or cancelled), for ModelInfer and for each
 * request of ModelStreamInfer; and a call's queue deadline counts from when its headers arrived, not from when its
 * message had been read, as over HTTP.
 */
import { connect } from 'node:http2';
import t from 'tap';
import { type ServiceError, status } from '@grpc/grpc-js';
import type { RegistryEvent } from '../../src/models/repository.js';
import { INFERENCE_SERVICE, loadProtocols } from '../../src/grpc/protos.js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes, openStream } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';

/** A seeded model wide enough that one pass of LONG takes a while on the worker (~5·10^8 multiply-adds). */
const WIDE = { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 256, seed: 1 };
const LONG = {
  model_name: 'wide',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [8, 1000, 4] }],
  outputs: [{ name: 'state' }],
  raw_input_contents: [float32Bytes(Array.from({ length: 8 * 1000 * 4 }, (_, i) => (i % 7) / 7))],
};

async function setUp(t: Parameters<typeof buildGrpc>[0]) {
  const g = await buildGrpc(t, {
    models: { dir: modelsDir(t, { 'wide/1/model.json': WIDE }), control: 'explicit', startupModels: ['wide'] },
    pool: { threads: 1 },
  });
  const events: string[] = [];
  g.app.repository.onEvent((event: RegistryEvent) => events.push(`${event.kind} ${event.version}`));
  const reserved = async () =>
    Number(
      /^rnn_memory_budget_reserved_bytes (\d+)$/m.exec(
        (await g.app.inject({ method: 'GET', url: '/metrics' })).body,
      )?.[1],
    );
  /** Waits until `done()` (at most 5 s). */
  const until = async (done: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  const state = () => g.app.repository.entries('wide')[0]?.state;
  return { ...g, events, reserved, until, state };
}

t.test('ModelInfer holds its version: unloaded meanwhile, the call is answered, then the version freed', async (t) => {
  const g = await setUp(t);
  const answered = g.unary(g.inference, 'ModelInfer', LONG);
  await g.until(async () => (await g.reserved()) > 0);
  t.ok((await g.reserved()) > 0, 'computing');
  t.same(await g.unary(g.inference, 'RepositoryModelUnload', { model_name: 'wide' }), {});
  t.same(g.events, ['retired 1'], 'retired, not freed: the call holds it');
  t.equal(g.state(), 'UNLOADING');
  const refused = await g.unary(g.inference, 'ModelInfer', LONG).catch((e: ServiceError) => e);
  t.equal(refused.code, status.NOT_FOUND, 'a new call does not get it');
  const answer = await answered;
  t.same(answer.outputs[0].shape.map(Number), [8, 256], 'the call in flight is answered');
  await g.until(() => g.events.length === 2);
  t.same(g.events, ['retired 1', 'unloaded 1'], 'freed after its last call');
});

t.test('a cancelled call gives its version back at once', async (t) => {
  const g = await setUp(t);
  let settle!: (value: ServiceError | object) => void;
  const outcome = new Promise<any>((resolve) => (settle = resolve));
  const call = (g.inference as any).ModelInfer(LONG, (error: ServiceError | null, response: object) =>
    settle(error ?? response),
  );
  await g.until(async () => (await g.reserved()) > 0);
  await g.unary(g.inference, 'RepositoryModelUnload', { model_name: 'wide' });
  t.same(g.events, ['retired 1']);
  call.cancel();
  t.equal((await outcome).code, status.CANCELLED);
  await g.until(() => g.events.length === 2);
  t.same(g.events, ['retired 1', 'unloaded 1'], 'freed once its only call was cancelled');
});

t.test('each request of a stream holds its version until its answer is written', async (t) => {
  const g = await setUp(t);
  const { stream, answers, ended } = openStream(g.inference);
  stream.write({ ...LONG, id: 'held' });
  await g.until(async () => (await g.reserved()) > 0);
  await g.unary(g.inference, 'RepositoryModelUnload', { model_name: 'wide' });
  t.same(g.events, ['retired 1']);
  stream.write({ ...LONG, id: 'after' });
  stream.end();
  t.equal((await ended).code, status.OK);
  t.same(
    answers.map((a) => [a.infer_response.id, a.error_message === '' ? 'answered' : a.error_message]),
    [
      ['held', 'answered'],
      ['after', "model 'wide' has no version ready (1: UNLOADING (unloading: finishing its requests))"],
    ],
  );
  await g.until(() => g.events.length === 2);
  t.same(g.events, ['retired 1', 'unloaded 1']);
});

t.test('the queue deadline counts from when the call arrived, not from when its message was read', async (t) => {
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS }, pool: { threads: 1, minCompute: 0 } });
  const modelInfer = loadProtocols().served[INFERENCE_SERVICE] as Record<string, any>;
  /** A ModelInfer call whose message follows its headers after `pauseMs` (a slow upload). */
  const send = (timeoutMicros: number, pauseMs: number) =>
    new Promise<{ code: string; message: string }>((resolve, reject) => {
      const message: Buffer = modelInfer.ModelInfer.requestSerialize({
        model_name: 'hello',
        parameters: { timeout: { int64_param: timeoutMicros } },
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4], contents: { fp32_contents: [1, 0, 0, 0] } }],
      });
      const framed = Buffer.alloc(5 + message.length);
      framed.writeUInt32BE(message.length, 1);
      message.copy(framed, 5);
      const session = connect(`http://${g.target}`);
      session.on('error', reject);
      const call = session.request({
        ':method': 'POST',
        ':path': `/${INFERENCE_SERVICE}/ModelInfer`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let code = '';
      let text = '';
      const read = (headers: Record<string, unknown>) => {
        if (headers['grpc-status'] !== undefined) code = String(headers['grpc-status']);
        if (headers['grpc-message'] !== undefined) text = decodeURIComponent(String(headers['grpc-message']));
      };
      call.on('response', read);
      call.on('trailers', read);
      call.on('data', () => {});
      call.on('close', () => {
        session.close();
        resolve({ code, message: text });
      });
      setTimeout(() => call.end(framed), pauseMs);
    });
  const slow = await send(100_000, 300);
  t.equal(slow.code, String(status.UNAVAILABLE), 'a message that took longer than the deadline: refused');
  t.match(
    slow.message,
    /^it reached the compute queue \d+ ms after it arrived \(the time its body took to arrive and be read\), past its deadline of 100 ms \(parameters.timeout\); nothing was computed/,
  );
  const quick = await send(10_000_000, 300);
  t.equal(quick.code, String(status.OK), 'the same upload within a longer deadline is answered');
});
