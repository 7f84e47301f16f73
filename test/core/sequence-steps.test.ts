/**
 * Stateful sequences through HTTP (src/core/sequence-steps.ts): a sequence sent in chunks answers, chunk by chunk,
 * what it answers whole, bit for bit (every output step and the final states), on a SimpleRNN and an LSTM, over our
 * route and the inference protocol as Triton's clients send it; chunks of several sequences interleaved and sent at
 * once; every refusal named (a sequence never started, with Triton's words; a batch of several; a bidirectional
 * model; initial states for a sequence in progress; another version), and restart and end.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SHIPPED_MODELS, build } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** The shipped models, an LSTM (TF.js, 3 features), a bidirectional LSTM, and hello again as version 2. */
async function setUp(t: Parameters<typeof build>[0]) {
  const dir = modelsDir(t, {});
  cpSync(SHIPPED_MODELS, dir, { recursive: true });
  cpSync(join(FIXTURES, 'tfjs-gated/lstm-state'), join(dir, 'lstm', '1'), { recursive: true });
  cpSync(join(FIXTURES, 'tfjs-gated/bidirectional-lstm'), join(dir, 'bilstm', '1'), { recursive: true });
  cpSync(join(SHIPPED_MODELS, 'hello/1'), join(dir, 'hello', '2'), { recursive: true });
  // PyTorch exports: x, h0 (and c0) → y, h_n (and c_n); 2 features, 2 layers of 5 units, batch first.
  for (const name of ['lstm-2-bf-h0', 'gru-2-bf-h0', 'lstm-node-reverse'])
    cpSync(join(FIXTURES, 'onnx', name, 'model.onnx'), join(dir, name, '1', 'model.onnx'));
  const { app } = await build(t, { models: { dir } });
  return app;
}

type App = Awaited<ReturnType<typeof setUp>>;

const steps = (n: number, features: number, seed: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: features }, (_, f) => Math.round(Math.sin(seed + i * 7 + f) * 1000) / 1000),
  );

async function forward(app: App, model: string, body: object) {
  const res = await app.inject({ method: 'POST', url: `/models/${model}/forward`, payload: body });
  return { status: res.statusCode, json: res.json() };
}

/** Chunks of `sequence` (lengths `sizes`) as one sequence, against the sequence whole. */
async function chunkedEqualsWhole(
  t: Test,
  app: App,
  model: string,
  sequence: number[][],
  sizes: number[],
  id: number | string,
) {
  const whole = await forward(app, model, { inputs: [sequence], outputFormat: 'flat' });
  t.equal(whole.status, 200);
  let at = 0;
  const outputs: number[] = [];
  let last: { states: unknown; cellStates?: unknown } | null = null;
  for (const [i, size] of sizes.entries()) {
    const chunk = await forward(app, model, {
      inputs: [sequence.slice(at, at + size)],
      outputFormat: 'flat',
      sequenceId: id,
      sequenceStart: i === 0,
      sequenceEnd: i === sizes.length - 1,
    });
    t.equal(chunk.status, 200, JSON.stringify(chunk.json).slice(0, 200));
    outputs.push(...chunk.json.outputs.data);
    last = chunk.json;
    at += size;
  }
  t.same(
    outputs,
    whole.json.outputs.data,
    `${model}: every output step of the chunks is the whole sequence's, bit for bit`,
  );
  t.same(last?.states, whole.json.states, `${model}: the last chunk's final state is the whole sequence's`);
  t.same(last?.cellStates, whole.json.cellStates, `${model}: and its final cell state`);
}

t.test('chunks answer what the whole sequence answers, bit for bit: SimpleRNN and LSTM', async (t) => {
  const app = await setUp(t);
  const hello = steps(12, 4, 1);
  await chunkedEqualsWhole(t, app, 'hello', hello, [1, 4, 2, 5], 42);
  await chunkedEqualsWhole(t, app, 'hello', hello, [12], 'a string id');
  await chunkedEqualsWhole(t, app, 'lstm', steps(9, 3, 2), [3, 1, 1, 4], 7);
});

t.test('the inference protocol as Triton clients send it: sequence_id, sequence_start, sequence_end', async (t) => {
  const app = await setUp(t);
  const sequence = steps(6, 4, 3);
  const infer = (data: number[][], parameters: object) =>
    app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      payload: {
        parameters,
        inputs: [{ name: 'input', shape: [1, data.length, 4], datatype: 'FP32', data: data.flat() }],
      },
    });
  const whole = (await infer(sequence, {})).json();
  // 2^64 - 1 as JSON digits: past what a JavaScript number holds, kept exact.
  const id = '18446744073709551615';
  const raw = (data: number[][], start: boolean, end: boolean) =>
    app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      headers: { 'content-type': 'application/json' },
      payload: `{"parameters":{"sequence_id":${id},"sequence_start":${start},"sequence_end":${end}},"inputs":[{"name":"input","shape":[1,${data.length},4],"datatype":"FP32","data":${JSON.stringify(data.flat())}}]}`,
    });
  const first = await raw(sequence.slice(0, 2), true, false);
  const second = await raw(sequence.slice(2), false, true);
  t.equal(first.statusCode, 200, first.body);
  t.equal(second.statusCode, 200, second.body);
  t.same([...first.json().outputs[0].data, ...second.json().outputs[0].data], whole.outputs[0].data);
  t.same(second.json().outputs[1].data, whole.outputs[1].data, 'the final state');
  // 2^64 - 2 is another sequence: it was never started.
  const other = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    headers: { 'content-type': 'application/json' },
    payload: `{"parameters":{"sequence_id":18446744073709551614,"sequence_start":false,"sequence_end":false},"inputs":[{"name":"input","shape":[1,1,4],"datatype":"FP32","data":[1,0,0,0]}]}`,
  });
  t.equal(other.statusCode, 400);
  t.same(other.json(), {
    error:
      'parameters.sequence_id: inference request for sequence 18446744073709551614 to model "hello" must specify the START flag (parameters.sequence_start) on the first request of the sequence: this sequence was never started, has ended, or expired after SEQUENCE_IDLE_MS without a request',
  });
  // The sequence ended with its last chunk.
  t.equal((await raw(sequence.slice(0, 1), false, false)).statusCode, 400, 'ended: a new chunk must start it again');
});

t.test('chunks of eight sequences sent at once, interleaved: each equals its sequence whole', async (t) => {
  const app = await setUp(t);
  const sequences = Array.from({ length: 8 }, (_, s) => steps(6, 4, 10 + s));
  const wholes = await Promise.all(
    sequences.map((sequence) => forward(app, 'hello', { inputs: [sequence], outputFormat: 'flat' })),
  );
  const outputs: number[][] = sequences.map(() => []);
  // Three chunks of two steps each; each round sends one chunk of every sequence, all at once.
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(
      sequences.map((sequence, s) =>
        forward(app, 'hello', {
          inputs: [sequence.slice(round * 2, round * 2 + 2)],
          outputFormat: 'flat',
          sequenceId: 100 + s,
          sequenceStart: round === 0,
          sequenceEnd: round === 2,
        }),
      ),
    );
    answers.forEach((answer, s) => {
      t.equal(answer.status, 200);
      outputs[s].push(...answer.json.outputs.data);
    });
  }
  outputs.forEach((data, s) => t.same(data, wholes[s].json.outputs.data, `sequence ${s}`));
});

t.test("a sequence's chunks sent all at once are computed in the order they arrived", async (t) => {
  const app = await setUp(t);
  const sequence = steps(5, 4, 20);
  const whole = await forward(app, 'hello', { inputs: [sequence], outputFormat: 'flat' });
  const answers = await Promise.all(
    sequence.map((step, i) =>
      forward(app, 'hello', {
        inputs: [[step]],
        outputFormat: 'flat',
        sequenceId: 'at once',
        sequenceStart: i === 0,
        sequenceEnd: i === 4,
      }),
    ),
  );
  t.same(
    answers.flatMap((a) => a.json.outputs.data),
    whole.json.outputs.data,
  );
});

t.test('an ONNX graph carries its h0 → h_n (and c0 → c_n) from chunk to chunk, bit for bit', async (t) => {
  const app = await setUp(t);
  for (const model of ['lstm-2-bf-h0', 'gru-2-bf-h0']) {
    const x = steps(7, 2, 40).flat();
    const lstm = model.startsWith('lstm');
    // The whole sequence from zero states, as the graph is given them.
    const zeros = { shape: [2, 1, 5], datatype: 'FP32', data: new Array(10).fill(0) };
    const whole = await app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      payload: {
        inputs: [
          { name: 'x', shape: [1, 7, 2], datatype: 'FP32', data: x },
          { name: 'h0', ...zeros },
          ...(lstm ? [{ name: 'c0', ...zeros }] : []),
        ],
      },
    });
    t.equal(whole.statusCode, 200, whole.body.slice(0, 200));
    const outputs = Object.fromEntries(
      whole.json().outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]),
    );
    // Chunks of 3, 1 and 3 steps: the state inputs are left to the sequence.
    const chunks: Record<string, number[]>[] = [];
    for (const [i, [from, to]] of [
      [0, 3],
      [3, 4],
      [4, 7],
    ].entries()) {
      const res = await app.inject({
        method: 'POST',
        url: `/v2/models/${model}/infer`,
        payload: {
          parameters: { sequence_id: `onnx-${model}`, sequence_start: i === 0, sequence_end: i === 2 },
          inputs: [{ name: 'x', shape: [1, to - from, 2], datatype: 'FP32', data: x.slice(from * 2, to * 2) }],
        },
      });
      t.equal(res.statusCode, 200, res.body.slice(0, 300));
      chunks.push(
        Object.fromEntries(res.json().outputs.map((o: { name: string; data: number[] }) => [o.name, o.data])),
      );
    }
    t.same(
      chunks.flatMap((c) => c.y),
      outputs.y,
      `${model}: y, every step`,
    );
    t.same(chunks[2].h_n, outputs.h_n, `${model}: h_n`);
    if (lstm) t.same(chunks[2].c_n, outputs.c_n, `${model}: c_n`);
  }
  const reverse = await app.inject({
    method: 'POST',
    url: '/v2/models/lstm-node-reverse/infer',
    payload: { parameters: { sequence_id: 1, sequence_start: true }, inputs: [] },
  });
  t.equal(reverse.statusCode, 400);
  t.match(reverse.json().error, /cannot carry a sequence's state from chunk to chunk: its LSTM node '.*' runs reverse/);
});

t.test("a graph's state pair declared in config.pbtxt (sequence_batching.state) is carried", async (t) => {
  // An ONNX RNN node whose state names are not PyTorch's: initial_h → Y_h, time-major X [T, 1, 3], with lengths.
  const dir = modelsDir(t, {});
  for (const name of ['declared', 'undeclared'])
    cpSync(join(FIXTURES, 'onnx', 'node-lengths', 'model.onnx'), join(dir, name, '1', 'model.onnx'));
  writeFileSync(
    join(dir, 'declared', 'config.pbtxt'),
    'sequence_batching { state [ { input_name: "initial_h" output_name: "Y_h" data_type: TYPE_FP32 dims: [ 1, -1, 4 ] } ] }\n',
  );
  const { app } = await build(t, { models: { dir } });
  const x = steps(6, 3, 9).flat();
  // A whole sequence gives the graph its zero initial_h; a chunk of a sequence leaves it to the sequence.
  const infer = (model: string, from: number, to: number, parameters: object | null = null) =>
    app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      payload: {
        parameters: parameters ?? {},
        inputs: [
          { name: 'X', shape: [to - from, 1, 3], datatype: 'FP32', data: x.slice(from * 3, to * 3) },
          { name: 'sequence_lens', shape: [1], datatype: 'INT32', data: [to - from] },
          ...(parameters === null
            ? [{ name: 'initial_h', shape: [1, 1, 4], datatype: 'FP32', data: [0, 0, 0, 0] }]
            : []),
        ],
      },
    });
  const whole = await infer('declared', 0, 6);
  t.equal(whole.statusCode, 200, whole.body.slice(0, 300));
  const byName = (res: { json(): { outputs: { name: string; data: number[] }[] } }) =>
    Object.fromEntries(res.json().outputs.map((o) => [o.name, o.data]));
  const chunks = [];
  for (const [i, [from, to]] of [
    [0, 2],
    [2, 6],
  ].entries()) {
    const res = await infer('declared', from, to, {
      sequence_id: 'declared',
      sequence_start: i === 0,
      sequence_end: i === 1,
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    chunks.push(byName(res));
  }
  t.same(
    chunks.flatMap((c) => c.Y),
    byName(whole).Y,
    'Y, every step, bit for bit',
  );
  t.same(chunks[1].Y_h, byName(whole).Y_h, 'Y_h');
  const refused = await infer('undeclared', 0, 2, { sequence_id: 9, sequence_start: true });
  t.equal(refused.statusCode, 400);
  t.match(refused.json().error, /no state inputs and outputs it recognises .* and its configuration declares none/);
});

t.test('refusals name what is wrong', async (t) => {
  const app = await setUp(t);
  const one = [[[1, 0, 0, 0]]];
  const cases: [string, string, object, RegExp][] = [
    ['never started', 'hello', { inputs: one, sequenceId: 5 }, /^must specify the START flag/],
    [
      'a batch of two',
      'hello',
      { inputs: [[[1, 0, 0, 0]], [[0, 1, 0, 0]]], sequenceId: 6, sequenceStart: true },
      /^has 2 sequences; a chunk of sequence 6 carries one/,
    ],
    [
      'a bidirectional model',
      'bilstm',
      { inputs: [[[1, 0, 0]]], sequenceId: 7, sequenceStart: true },
      /cannot carry a sequence's state from chunk to chunk: layer 0 is bidirectional/,
    ],
    ['flags without an id', 'hello', { inputs: one, sequenceStart: true }, /^applies to a stateful sequence/],
  ];
  for (const [what, model, body, message] of cases) {
    const res = await forward(app, model, body);
    t.equal(res.status, 400, what);
    t.match(
      res.json.errors[0].message.replace(/^inference request for sequence 5 to model "hello" /, ''),
      message,
      what,
    );
  }
  // Initial states start a sequence; a sequence in progress continues from its own.
  t.equal(
    (await forward(app, 'hello', { inputs: one, sequenceId: 8, sequenceStart: true, initialState: [[0.5, 0, 0]] }))
      .status,
    200,
  );
  const again = await forward(app, 'hello', { inputs: one, sequenceId: 8, initialState: [[0.5, 0, 0]] });
  t.equal(again.status, 400);
  t.match(again.json.errors[0], {
    path: 'initialState',
    message: /is in progress: its state is the one its previous chunk left/,
  });
  // Another version of the model is other weights.
  const otherVersion = await app.inject({
    method: 'POST',
    url: '/models/hello/versions/1/forward',
    payload: { inputs: one, sequenceId: 8 },
  });
  t.equal(otherVersion.statusCode, 400, 'the sequence began on the latest version (2)');
  t.match(otherVersion.json().errors[0].message, /runs on version 2 .*this request is for version 1/);
});

t.test('a start restarts a sequence in progress; after its end a new start begins it again', async (t) => {
  const app = await setUp(t);
  const sequence = steps(4, 4, 30);
  const whole = await forward(app, 'hello', { inputs: [sequence.slice(2)], outputFormat: 'flat' });
  await forward(app, 'hello', { inputs: [sequence.slice(0, 2)], sequenceId: 9, sequenceStart: true });
  const restarted = await forward(app, 'hello', {
    inputs: [sequence.slice(2)],
    outputFormat: 'flat',
    sequenceId: 9,
    sequenceStart: true,
    sequenceEnd: true,
  });
  t.same(restarted.json.outputs.data, whole.json.outputs.data, 'from zeros again');
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(text, /^rnn_sequences_restarted_total 1$/m);
  t.match(text, /^rnn_sequences_ended_total 1$/m);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.same(ready.json().sequences, { store: 'memory', ready: true });
});

t.test("a chunk is held to the model configuration's input dims as any request is", async (t) => {
  const dir = modelsDir(t, {});
  cpSync(join(SHIPPED_MODELS, 'hello/1'), join(dir, 'two-steps', '1'), { recursive: true });
  writeFileSync(
    join(dir, 'two-steps', 'config.pbtxt'),
    'max_batch_size: 8\ninput [ { name: "input" data_type: TYPE_FP32 dims: [ 2, 4 ] } ]\n',
  );
  const { app } = await build(t, { models: { dir } });
  const chunk = (length: number, start: boolean) =>
    app.inject({
      method: 'POST',
      url: '/v2/models/two-steps/infer',
      payload: {
        parameters: { sequence_id: 5, sequence_start: start },
        inputs: [{ name: 'input', shape: [1, length, 4], datatype: 'FP32', data: steps(length, 4, 1).flat() }],
      },
    });
  const fits = await chunk(2, true);
  t.equal(fits.statusCode, 200, fits.body.slice(0, 300));
  const stateless = await app.inject({
    method: 'POST',
    url: '/v2/models/two-steps/infer',
    payload: { inputs: [{ name: 'input', shape: [1, 3, 4], datatype: 'FP32', data: steps(3, 4, 1).flat() }] },
  });
  const refused = await chunk(3, false);
  t.equal(stateless.statusCode, 400, stateless.body.slice(0, 300));
  t.equal(refused.statusCode, 400);
  t.equal(refused.json().error, stateless.json().error, 'the same words as a request without a sequence');
});
