/**
 * ModelStreamInfer over a real socket: answers in order, each with its request's id and ModelInfer's tensors; an
 * error answered in band (`error_message`, ModelInfer's words) with the stream going on; the stream ends OK
 * after the client half-closes; a client that cancels stops the work.
 */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes, metadataOf, openStream } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';

const hello = (id: string, values: number[]) => ({
  model_name: 'hello',
  id,
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, values.length / 4, 4] }],
  raw_input_contents: [float32Bytes(values)],
});

t.test('answers come in order, each with its id and the tensors ModelInfer answers', async (t) => {
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS } });
  const requests = Array.from({ length: 10 }, (_, i) => hello(`r${i}`, [1, 0, 0, 0, 0, i % 2, 0, 1]));
  const { stream, answers, ended } = openStream(g.inference);
  for (const request of requests) stream.write(request);
  stream.end();
  t.same(await ended, { code: status.OK, details: 'OK', metadata: ((await ended) as any).metadata });
  t.same(
    answers.map((a) => [a.error_message, a.infer_response.id]),
    requests.map((r) => ['', r.id]),
  );
  for (const [i, request] of requests.entries()) {
    const unary = await g.unary(g.inference, 'ModelInfer', request);
    t.same(answers[i].infer_response.raw_output_contents, unary.raw_output_contents, `r${i}: ModelInfer's tensors`);
  }
  t.match(g.logs.filter((l) => l.msg === 'stream request answered').length, 10);
  t.match(
    g.logs.find((l) => l.rpc === '/inference.GRPCInferenceService/ModelStreamInfer'),
    {
      msg: 'call completed',
      code: 'OK',
    },
  );
});

t.test('an error is answered in band, with its id, and the stream goes on', async (t) => {
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS } });
  const { stream, answers, ended } = openStream(g.inference);
  stream.write(hello('a', [1, 0, 0, 0]));
  stream.write({ ...hello('b', [1, 0, 0, 0]), model_name: 'nope' });
  stream.write({ ...hello('c', [1, 0, 0, 0]), raw_input_contents: [float32Bytes([1, 0])] });
  stream.write(hello('d', [0, 1, 0, 0]));
  stream.end();
  t.equal((await ended).code, status.OK);
  t.same(
    answers.map((a) => [a.infer_response.id, a.error_message]),
    [
      ['a', ''],
      ['b', "there is no model 'nope' (models: hello, next-char, sentiment-onnx)"],
      ['c', 'raw_input_contents[0]: is 8; shape [1, 1, 4] of FP32 takes 16 bytes (4 elements of 4 bytes)'],
      ['d', ''],
    ],
  );
  t.equal(answers[1].infer_response.model_name, 'nope');
  t.same(answers[1].infer_response.raw_output_contents, []);
  t.match(
    g.logs.find((l) => l.id === 'b'),
    { msg: 'stream request refused', detail: /no model 'nope'/ },
  );
});

t.test('the stream needs the API key as ModelInfer does; its requests then pass', async (t) => {
  const KEY = 'stream-test-key-0123456789';
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS }, access: { apiKeys: [KEY] } });
  const refused = openStream(g.inference);
  refused.stream.write(hello('x', [1, 0, 0, 0]));
  refused.stream.end();
  t.match(await refused.ended, {
    code: status.UNAUTHENTICATED,
    details: 'this server needs an API key: send Authorization: Bearer <key>',
  });
  t.same(refused.answers, []);
  const allowed = openStream(g.inference, metadataOf({ authorization: `Bearer ${KEY}` }));
  allowed.stream.write(hello('y', [1, 0, 0, 0]));
  allowed.stream.end();
  t.equal((await allowed.ended).code, status.OK);
  t.equal(allowed.answers[0].infer_response.id, 'y');
});

t.test(
  'a client that cancels stops the work: the pass on the worker is abandoned, its memory given back',
  async (t) => {
    // A seeded model wide enough that one pass takes a while on the worker (~5·10^8 multiply-adds).
    const dir = modelsDir(t, {
      'wide/1/model.json': { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 256, seed: 1 },
    });
    const g = await buildGrpc(t, { models: { dir }, pool: { threads: 1 } });
    const { stream, answers, ended } = openStream(g.inference);
    const values = Array.from({ length: 8 * 1000 * 4 }, (_, i) => (i % 7) / 7);
    stream.write({
      model_name: 'wide',
      id: 'long',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [8, 1000, 4] }],
      raw_input_contents: [float32Bytes(values)],
    });
    const metric = async (name: string) =>
      Number(
        new RegExp(`^${name} (\\d+)$`, 'm').exec((await g.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1],
      );
    const reserved = () => metric('rnn_memory_budget_reserved_bytes');
    for (let i = 0; i < 2500 && (await reserved()) === 0 && answers.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 2));
    t.same(answers, [], 'not answered before the cancel');
    t.ok((await reserved()) > 0, 'computing, its memory reserved');
    stream.cancel();
    t.equal((await ended).code, status.CANCELLED);
    const abandoned = () => metric('rnn_pool_tasks_abandoned_total');
    for (let i = 0; i < 500 && (await abandoned()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(await abandoned(), 1, 'the task on the worker was stopped');
    for (let i = 0; i < 500 && (await reserved()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(await reserved(), 0, 'its share of the memory budget is back');
    t.match(
      g.logs.find((l) => l.rpc === '/inference.GRPCInferenceService/ModelStreamInfer'),
      {
        msg: 'call cancelled',
        code: 'CANCELLED',
      },
    );
  },
);
