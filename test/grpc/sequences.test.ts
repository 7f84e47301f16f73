/**
 * Stateful sequences over gRPC, as Triton's clients send them (`sequence_id` as int64_param, uint64_param or
 * string_param, `sequence_start` and `sequence_end` as bool_param), through the core's sequence path: chunks of
 * several sequences interleaved on one ModelStreamInfer stream answer, each, what its sequence answers whole, bit
 * for bit (a SimpleRNN, an LSTM, and ONNX graphs carrying h0 → h_n and c0 → c_n); an id never started is refused
 * with Triton's words, in band on the stream (which goes on) and INVALID_ARGUMENT on ModelInfer; ids past 2^53 are
 * exact.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes, openStream } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

async function setUp(t: Parameters<typeof buildGrpc>[0]) {
  const dir = modelsDir(t, {});
  cpSync(SHIPPED_MODELS, dir, { recursive: true });
  // A TF.js LSTM (3 features) and PyTorch exports: x, h0 (and c0) → y, h_n (and c_n); 2 features.
  cpSync(join(FIXTURES, 'tfjs-gated/lstm-state'), join(dir, 'lstm', '1'), { recursive: true });
  for (const name of ['lstm-2-bf-h0', 'gru-2-bf-h0'])
    cpSync(join(FIXTURES, 'onnx', name, 'model.onnx'), join(dir, name, '1', 'model.onnx'));
  return buildGrpc(t, { models: { dir } });
}

/** `n` steps of `features` values, different for each seed. */
const steps = (n: number, features: number, seed: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: features }, (_, f) => Math.round(Math.sin(seed + i * 7 + f) * 1000) / 1000),
  );

/** A sequence's id as Triton's clients send it: a number as int64_param, a string as string_param. */
const idParameter = (id: number | string | bigint) =>
  typeof id === 'string' ? { string_param: id } : { int64_param: String(id) };

interface Model {
  /** The input the steps go to, its features, and the output the steps come from. */
  readonly input: string;
  readonly features: number;
  readonly output: string;
  /** Inputs a whole sequence sends beside its steps (an ONNX graph's zero initial states). */
  readonly whole: { name: string; shape: number[] }[];
}

const MODELS: Record<string, Model> = {
  hello: { input: 'input', features: 4, output: 'output', whole: [] },
  lstm: { input: 'input', features: 3, output: 'output', whole: [] },
  'lstm-2-bf-h0': {
    input: 'x',
    features: 2,
    output: 'y',
    whole: [
      { name: 'h0', shape: [2, 1, 5] },
      { name: 'c0', shape: [2, 1, 5] },
    ],
  },
  'gru-2-bf-h0': { input: 'x', features: 2, output: 'y', whole: [{ name: 'h0', shape: [2, 1, 5] }] },
};

/** A ModelInferRequest of `data` (steps) into `model`, raw. */
function request(model: string, id: string, data: number[][], parameters: object = {}, extra: Model['whole'] = []) {
  const { input, features } = MODELS[model];
  const zeros = extra.map(({ shape }) => float32Bytes(new Array(shape.reduce((a, b) => a * b, 1)).fill(0)));
  return {
    model_name: model,
    id,
    parameters,
    inputs: [
      { name: input, datatype: 'FP32', shape: [1, data.length, features] },
      ...extra.map(({ name, shape }) => ({ name, datatype: 'FP32', shape })),
    ],
    raw_input_contents: [float32Bytes(data.flat()), ...zeros],
  };
}

/** A response's outputs by name, as bytes. */
const outputsOf = (response: { outputs: { name: string }[]; raw_output_contents: Uint8Array[] }) =>
  Object.fromEntries(response.outputs.map((o, i) => [o.name, Buffer.from(response.raw_output_contents[i])]));

t.test(
  'chunks of sequences interleaved on one stream each answer what their sequence answers whole, bit for bit',
  async (t) => {
    const g = await setUp(t);
    // Two sequences of each model (a number id and a string id), each cut in its own chunk sizes.
    const sequences = Object.entries(MODELS).flatMap(([model, { features }], m) => [
      { model, id: 1000 + m, data: steps(9, features, m), sizes: [2, 3, 1, 3] },
      { model, id: `seq-${model}`, data: steps(7, features, m + 50), sizes: [1, 4, 2] },
    ]);
    const wholes = await Promise.all(
      sequences.map(({ model, data }) =>
        g.unary(g.inference, 'ModelInfer', request(model, 'whole', data, {}, MODELS[model].whole)),
      ),
    );
    const { stream, answers, ended } = openStream(g.inference);
    // Round r sends chunk r of every sequence that has one: the sequences' chunks interleave on the stream.
    const at = sequences.map(() => 0);
    for (let round = 0; round < 4; round++) {
      for (const [s, { model, id, data, sizes }] of sequences.entries()) {
        if (round >= sizes.length) continue;
        const chunk = data.slice(at[s], at[s] + sizes[round]);
        at[s] += sizes[round];
        stream.write(
          request(model, `${s}/${round}`, chunk, {
            sequence_id: idParameter(id),
            sequence_start: { bool_param: round === 0 },
            sequence_end: { bool_param: round === sizes.length - 1 },
          }),
        );
      }
    }
    stream.end();
    t.equal((await ended).code, status.OK, 'the stream ends OK');
    t.same(
      answers.filter((a) => a.error_message !== '').map((a) => [a.infer_response.id, a.error_message]),
      [],
      'no chunk refused',
    );
    for (const [s, { model, sizes }] of sequences.entries()) {
      const { output } = MODELS[model];
      const chunks = sizes.map((_, round) => {
        const answer = answers.find((a) => a.infer_response.id === `${s}/${round}`);
        return outputsOf(answer.infer_response);
      });
      const whole = outputsOf(wholes[s]);
      t.ok(
        Buffer.concat(chunks.map((c) => c[output])).equals(whole[output]),
        `${model} ${sequences[s].id}: every step of ${output}, bit for bit`,
      );
      const last = chunks[chunks.length - 1];
      const states = Object.keys(whole).filter((name) => name !== output);
      t.ok(states.length > 0, `${model}: final states (${states.join(', ')})`);
      for (const name of states) t.ok(last[name].equals(whole[name]), `${model} ${sequences[s].id}: ${name}`);
    }
  },
);

t.test(
  'a sequence never started: Triton words, in band on the stream (which goes on), INVALID_ARGUMENT on ModelInfer',
  async (t) => {
    const g = await setUp(t);
    const words =
      'parameters.sequence_id: inference request for sequence 77 to model "hello" must specify the START flag ' +
      '(parameters.sequence_start) on the first request of the sequence: this sequence was never started, has ended, ' +
      'or expired after SEQUENCE_IDLE_MS without a request';
    const unknown = request('hello', 'unknown', [[1, 0, 0, 0]], { sequence_id: { int64_param: '77' } });
    const { stream, answers, ended } = openStream(g.inference);
    stream.write(unknown);
    stream.write(request('hello', 'after', [[1, 0, 0, 0]]));
    stream.write(
      request('hello', 'started', [[1, 0, 0, 0]], {
        sequence_id: { int64_param: '77' },
        sequence_start: { bool_param: true },
        sequence_end: { bool_param: true },
      }),
    );
    stream.end();
    t.equal((await ended).code, status.OK);
    t.same(
      answers.map((a) => [a.infer_response.id, a.error_message]),
      [
        ['unknown', words],
        ['after', ''],
        ['started', ''],
      ],
    );
    const unary = await g.unary(g.inference, 'ModelInfer', unknown).catch((e) => e);
    t.equal(unary.code, status.INVALID_ARGUMENT);
    t.equal(unary.details, words, 'the same words, and the sequence ended with its last chunk');
    const http = await g.app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      payload: {
        parameters: { sequence_id: 77 },
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4], data: [1, 0, 0, 0] }],
      },
    });
    t.same(http.json(), { error: words }, "HTTP's words");
  },
);

t.test('ModelInfer carries a sequence too; ids past 2^53 are exact, and a string id is another sequence', async (t) => {
  const g = await setUp(t);
  const data = steps(5, 4, 9);
  const whole = outputsOf(await g.unary(g.inference, 'ModelInfer', request('hello', 'w', data)));
  // 2^64 - 1 as Triton's uint64 and 2^63 - 1 as its int64: both left in progress.
  for (const parameter of [{ uint64_param: '18446744073709551615' }, { int64_param: '9223372036854775807' }]) {
    const chunks: Record<string, Buffer>[] = [];
    for (const [i, [from, to]] of [
      [0, 2],
      [2, 5],
    ].entries()) {
      const answer = await g.unary(
        g.inference,
        'ModelInfer',
        request('hello', `c${i}`, data.slice(from, to), {
          sequence_id: parameter,
          sequence_start: { bool_param: i === 0 },
        }),
      );
      chunks.push(outputsOf(answer));
    }
    t.ok(Buffer.concat(chunks.map((c) => c.output)).equals(whole.output), `${JSON.stringify(parameter)}: outputs`);
    t.ok(chunks[1].state.equals(whole.state), `${JSON.stringify(parameter)}: final state`);
  }
  // 2^64 - 2 is not 2^64 - 1 (a number would round the two together).
  const other = await g
    .unary(
      g.inference,
      'ModelInfer',
      request('hello', 'x', [[1, 0, 0, 0]], { sequence_id: { uint64_param: '18446744073709551614' } }),
    )
    .catch((e) => e);
  t.equal(other.code, status.INVALID_ARGUMENT);
  t.match(other.details, /for sequence 18446744073709551614 to model "hello" must specify the START flag/);
  // The same digits as a string are another sequence, never started.
  const text = await g
    .unary(
      g.inference,
      'ModelInfer',
      request('hello', 'x', [[1, 0, 0, 0]], { sequence_id: { string_param: '18446744073709551615' } }),
    )
    .catch((e) => e);
  t.equal(text.code, status.INVALID_ARGUMENT);
  t.match(text.details, /for sequence "18446744073709551615" to model "hello" must specify the START flag/);
  const flags = await g
    .unary(g.inference, 'ModelInfer', request('hello', 'x', [[1, 0, 0, 0]], { sequence_start: { bool_param: true } }))
    .catch((e) => e);
  t.equal(flags.code, status.INVALID_ARGUMENT);
  t.match(flags.details, /^\$\.parameters\.sequence_start: is true, but the request names no sequence/);
});
