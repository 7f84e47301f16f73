/**
 * ONNX models over the Open Inference Protocol: every fixture exported by torch.onnx.export (nn.RNN, nn.LSTM,
 * nn.GRU) and every one-node RNN, LSTM and GRU graph, served from a repository, its outputs checked against torch's own (or the NumPy reading of the ONNX
 * definition) and against onnxruntime-node running the same file, within 1e-5.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { SHIPPED_MODELS, build } from '../../../helpers/build.js';
import {
  type FixtureTensor,
  fixtureBytes,
  fixtureCases,
  maxDiff,
  onnxRepository,
  runOrt,
  servedFixtures,
  transposed,
} from '../../../helpers/onnx.js';

const TOLERANCE = 1e-5;
const FIXTURES = servedFixtures();

/** onnxruntime refuses layout 1: those fixtures carry a time-major twin, run with inputs and outputs transposed. */
async function ortOutputs(name: string, inputs: Record<string, FixtureTensor>) {
  if (!name.includes('layout1')) return runOrt(fixtureBytes(name), inputs);
  const timeMajor = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, v.shape.length === 3 ? { ...v, ...transposed(v, [1, 0, 2]) } : v]),
  );
  const out = await runOrt(fixtureBytes(name, 'ort-layout0.onnx'), timeMajor);
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, transposed(v, k === 'Y' ? [2, 0, 1, 3] : [1, 0, 2])]),
  );
}

t.test('every fixture answers as torch (or the ONNX definition) and onnxruntime do, within 1e-5', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, FIXTURES) } });
  for (const name of FIXTURES) {
    for (const [k, c] of fixtureCases(name).entries()) {
      const inputs = Object.entries(c.inputs).map(([input, v]) => ({ name: input, ...v }));
      const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: { inputs } });
      t.equal(res.statusCode, 200, res.statusCode === 200 ? `${name} case ${k}` : res.body);
      const body = res.json();
      t.same(
        body.outputs.map((o: { name: string }) => o.name),
        Object.keys(c.outputs),
        `${name}: every graph output, in the graph's order`,
      );
      const ort = await ortOutputs(name, c.inputs);
      for (const out of body.outputs) {
        const torch = c.outputs[out.name];
        t.same(out.shape, torch.shape, `${name} case ${k} ${out.name}: shape`);
        t.equal(out.datatype, 'FP32');
        const vsExpected = maxDiff(out.data, torch.data);
        const vsOrt = maxDiff(out.data, ort[out.name].data);
        t.ok(vsExpected <= TOLERANCE, `${name} case ${k} ${out.name}: |served - expected| = ${vsExpected}`);
        t.ok(vsOrt <= TOLERANCE, `${name} case ${k} ${out.name}: |served - onnxruntime| = ${vsOrt}`);
        t.same(ort[out.name].shape, torch.shape, `${name}: onnxruntime agrees on the shape`);
      }
    }
  }
});

const tensor = (name: string, datatype: string, shape: number[], data: number[]) => ({ name, datatype, shape, data });
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const ramp = (n: number, scale = 0.1) => Array.from({ length: n }, (_, i) => Math.sin(i) * scale * 10);

t.test('metadata: the graph names, datatypes and shapes, -1 for dynamic axes', async (t) => {
  const names = ['rnn-2-bi-relu-nobias-h0', 'embedding-tagger', 'node-lengths'];
  const { app } = await build(t, { models: { dir: onnxRepository(t, names) } });
  const v2 = (name: string) => app.inject({ method: 'GET', url: `/v2/models/${name}` }).then((r) => r.json());
  t.match(await v2('rnn-2-bi-relu-nobias-h0'), {
    name: 'rnn-2-bi-relu-nobias-h0',
    versions: ['1'],
    platform: 'rnn-serve_onnx',
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, -1, 3] },
      { name: 'h0', datatype: 'FP32', shape: [4, -1, 4] },
    ],
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [-1, -1, 8] },
      { name: 'h_n', datatype: 'FP32', shape: [4, -1, 4] },
    ],
    parameters: { format: 'onnx', opset: '14', producer: 'pytorch 1.13.0' },
  });
  const tagger = await v2('embedding-tagger');
  t.same(tagger.inputs, [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }]);
  t.same(tagger.outputs, [{ name: 'log_probs', datatype: 'FP32', shape: [-1, -1, 3] }]);
  t.equal(
    tagger.parameters.operators,
    'Add, Concat, Constant, ConstantOfShape, Gather, LogSoftmax, MatMul, RNN, Shape, Squeeze, Transpose, Unsqueeze',
  );
  t.same((await v2('node-lengths')).inputs, [
    { name: 'X', datatype: 'FP32', shape: [-1, -1, 3] },
    { name: 'sequence_lens', datatype: 'INT32', shape: [-1] },
    { name: 'initial_h', datatype: 'FP32', shape: [1, -1, 4] },
  ]);

  const ours = (await app.inject({ method: 'GET', url: '/models/embedding-tagger' })).json();
  t.same(ours.inputs, [
    { name: 'ids', shape: [-1, -1], datatype: 'INT64', description: 'graph input, INT64 [-1, -1] (-1: dynamic axis)' },
  ]);
  t.equal(ours.model, null);
  t.equal(ours.vocabulary, null);
  t.same(ours.graph, {
    opset: 14,
    producer: 'pytorch 1.13.0',
    nodes: 18,
    operators: tagger.parameters.operators.split(', '),
  });
  t.equal((await app.inject({ method: 'GET', url: '/v2/models/embedding-tagger/ready' })).statusCode, 200);
});

t.test('binary tensors in and out give the JSON answer; requested outputs only, in the requested order', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, ['rnn-1-tanh-bf', 'embedding-tagger']) } });
  const [c] = fixtureCases('rnn-1-tanh-bf');
  const x = c.inputs.x;
  const json = (
    await app.inject({
      method: 'POST',
      url: '/v2/models/rnn-1-tanh-bf/infer',
      payload: { inputs: [tensor('x', 'FP32', x.shape, x.data)] },
    })
  ).json();
  const header = JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: x.shape, parameters: { binary_data_size: x.data.length * 4 } }],
    outputs: [{ name: 'h_n', parameters: { binary_data: true } }, { name: 'y' }],
  });
  const res = await app.inject({
    method: 'POST',
    url: '/v2/models/rnn-1-tanh-bf/infer',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    payload: Buffer.concat([Buffer.from(header), Buffer.from(Float32Array.from(x.data).buffer)]),
  });
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'binary' : res.body);
  const length = Number(res.headers['inference-header-content-length']);
  const answer = JSON.parse(res.rawPayload.subarray(0, length).toString());
  t.same(
    answer.outputs.map((o: { name: string }) => o.name),
    ['h_n', 'y'],
  );
  const h = answer.outputs[0];
  t.same(h.parameters, { binary_data_size: count(h.shape) * 4 });
  const bytes = res.rawPayload.subarray(length);
  const values = Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  t.same(values, json.outputs[1].data.map(Math.fround), 'binary h_n: the JSON answer, bit for bit');
  t.same(answer.outputs[1].data, json.outputs[0].data, 'JSON y beside a binary h_n');

  // Token ids as INT32 binary: the answer of the INT64 JSON ids.
  const [ids] = fixtureCases('embedding-tagger');
  const idsHeader = JSON.stringify({
    inputs: [
      {
        name: 'ids',
        datatype: 'INT32',
        shape: ids.inputs.ids.shape,
        parameters: { binary_data_size: ids.inputs.ids.data.length * 4 },
      },
    ],
  });
  const idsRes = await app.inject({
    method: 'POST',
    url: '/v2/models/embedding-tagger/infer',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(idsHeader.length),
    },
    payload: Buffer.concat([Buffer.from(idsHeader), Buffer.from(Int32Array.from(ids.inputs.ids.data).buffer)]),
  });
  t.equal(idsRes.statusCode, 200, idsRes.statusCode === 200 ? 'INT32 ids' : idsRes.body);
  t.ok(maxDiff(idsRes.json().outputs[0].data, ids.outputs.log_probs.data) <= TOLERANCE, 'INT32 binary ids: torch');
});

t.test('sequence_lens of 0: Y is 0 and Y_h is 0 (not initial_h), as onnxruntime answers', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, ['node-lengths', 'node-lengths-bi']) } });
  for (const name of ['node-lengths', 'node-lengths-bi']) {
    const inputs: Record<string, FixtureTensor> = {
      X: { datatype: 'FP32', shape: [3, 3, 3], data: ramp(27) },
      sequence_lens: { datatype: 'INT32', shape: [3], data: [0, 3, 1] },
    };
    if (name === 'node-lengths') inputs.initial_h = { datatype: 'FP32', shape: [1, 3, 4], data: ramp(12, 0.05) };
    const payload = { inputs: Object.entries(inputs).map(([n, v]) => ({ name: n, ...v })) };
    const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload });
    t.equal(res.statusCode, 200, res.statusCode === 200 ? name : res.body);
    const ort = await runOrt(fixtureBytes(name), inputs);
    for (const out of res.json().outputs) {
      t.ok(maxDiff(out.data, ort[out.name].data) <= TOLERANCE, `${name} ${out.name}: onnxruntime`);
    }
    const yH = res.json().outputs[1];
    t.same(yH.data.slice(0, 4), [0, 0, 0, 0], `${name}: Y_h of the empty sequence is 0`);
  }
});

t.test(
  'LSTM and GRU sequence_lens of 0: Y, Y_h and Y_c are 0 (not initial_h, initial_c), as onnxruntime answers',
  async (t) => {
    const names = ['lstm-node-lengths-bi', 'gru-node-lengths-lbr0'];
    const { app } = await build(t, { models: { dir: onnxRepository(t, names) } });
    for (const name of names) {
      const lstm = name.startsWith('lstm');
      const dirs = lstm ? 2 : 1;
      const inputs: Record<string, FixtureTensor> = {
        X: { datatype: 'FP32', shape: [3, 3, 3], data: ramp(27) },
        sequence_lens: { datatype: 'INT32', shape: [3], data: [0, 3, 1] },
      };
      if (lstm) {
        inputs.initial_h = { datatype: 'FP32', shape: [dirs, 3, 4], data: ramp(dirs * 12, 0.05) };
        inputs.initial_c = { datatype: 'FP32', shape: [dirs, 3, 4], data: ramp(dirs * 12, 0.07) };
      }
      const payload = { inputs: Object.entries(inputs).map(([n, v]) => ({ name: n, ...v })) };
      const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload });
      t.equal(res.statusCode, 200, res.statusCode === 200 ? name : res.body);
      const outputs = res.json().outputs as { name: string; shape: number[]; data: number[] }[];
      t.same(
        outputs.map((o) => o.name),
        lstm ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'],
      );
      const ort = await runOrt(fixtureBytes(name), inputs);
      for (const out of outputs) {
        t.ok(maxDiff(out.data, ort[out.name].data) <= TOLERANCE, `${name} ${out.name}: onnxruntime`);
        if (out.name === 'Y') {
          // Y [seq, dirs, batch, hidden]: sequence 0 is 0 at every step, sequence 2 past its first step.
          const at = (s: number, d: number, b: number) =>
            out.data.slice(((s * dirs + d) * 3 + b) * 4, ((s * dirs + d) * 3 + b + 1) * 4);
          for (let s = 0; s < 3; s++)
            for (let d = 0; d < dirs; d++) t.same(at(s, d, 0), [0, 0, 0, 0], `${name} Y[${s}, ${d}, 0]`);
          t.same(at(2, 0, 2), [0, 0, 0, 0], `${name}: Y past sequence 2's length`);
          t.notSame(at(0, 0, 2), [0, 0, 0, 0], `${name}: Y within sequence 2's length`);
          continue;
        }
        for (let d = 0; d < dirs; d++)
          t.same(
            out.data.slice(d * 12, d * 12 + 4),
            [0, 0, 0, 0],
            `${name} ${out.name}[${d}] of the empty sequence is 0`,
          );
        t.notSame(out.data.slice(4, 8), [0, 0, 0, 0], `${name} ${out.name} of a full sequence`);
      }
    }
  },
);

t.test('LSTM and GRU metadata: h0 and c0 inputs, the Y_c output, the operators', async (t) => {
  const names = ['lstm-2-bi-h0-nobias', 'lstm-node-layout1-h0c0', 'gru-embedding-classifier'];
  const { app } = await build(t, { models: { dir: onnxRepository(t, names) } });
  const v2 = (name: string) => app.inject({ method: 'GET', url: `/v2/models/${name}` }).then((r) => r.json());
  t.match(await v2('lstm-2-bi-h0-nobias'), {
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, -1, 3] },
      { name: 'h0', datatype: 'FP32', shape: [4, -1, 4] },
      { name: 'c0', datatype: 'FP32', shape: [4, -1, 4] },
    ],
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [-1, -1, 8] },
      { name: 'h_n', datatype: 'FP32', shape: [4, -1, 4] },
      { name: 'c_n', datatype: 'FP32', shape: [4, -1, 4] },
    ],
    parameters: { format: 'onnx', opset: '14', producer: 'pytorch 1.13.0' },
  });
  t.match((await v2('lstm-2-bi-h0-nobias')).parameters.operators, /(^|, )LSTM(,|$)/);
  const node = await v2('lstm-node-layout1-h0c0');
  t.same(node.inputs, [
    { name: 'X', datatype: 'FP32', shape: [-1, -1, 3] },
    { name: 'initial_h', datatype: 'FP32', shape: [-1, 2, 4] },
    { name: 'initial_c', datatype: 'FP32', shape: [-1, 2, 4] },
  ]);
  t.same(node.outputs, [
    { name: 'Y', datatype: 'FP32', shape: [-1, -1, 2, 4] },
    { name: 'Y_h', datatype: 'FP32', shape: [-1, 2, 4] },
    { name: 'Y_c', datatype: 'FP32', shape: [-1, 2, 4] },
  ]);
  t.equal(node.parameters.operators, 'LSTM');
  const gru = await v2('gru-embedding-classifier');
  t.same(gru.inputs, [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }]);
  t.same(gru.outputs, [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }]);
  t.match(gru.parameters.operators, /(^|, )GRU(,|$)/);
  t.match(gru.parameters.operators, /(^|, )Gather(,|$)/);

  // Y_c alone, as requested: the cell state of the same pass.
  const [c] = fixtureCases('lstm-node-layout1-h0c0');
  const inputs = Object.entries(c.inputs).map(([n, v]) => ({ name: n, ...v }));
  const only = await infer(app, 'lstm-node-layout1-h0c0', { inputs, outputs: [{ name: 'Y_c' }] });
  t.equal(only.status, 200);
  t.same(
    only.body.outputs.map((o: { name: string }) => o.name),
    ['Y_c'],
  );
  t.ok(maxDiff(only.body.outputs[0].data, c.outputs.Y_c.data) <= TOLERANCE, 'Y_c alone: the expected values');
});

t.test('LSTM and GRU: costs from shapes (G = 4, 3) and the request checks, before the graph runs', async (t) => {
  const { app } = await build(t, {
    models: { dir: onnxRepository(t, ['lstm-node-reverse', 'gru-node-clip-bi', 'lstm-node-layout1-h0c0']) },
    limits: { maxCompute: 2000, maxTimeSteps: 50, maxBatch: 8 },
  });
  const X = (seq: number, batch: number) => tensor('X', 'FP32', [seq, batch, 3], ramp(seq * batch * 3));
  // One node each: LSTM 4 · 1 direction · seq · batch · 4 · (3 + 4); GRU 3 · 2 directions · seq · batch · 4 · (3 + 4).
  const cases: [string, string, object, string][] = [
    [
      'LSTM compute',
      'lstm-node-reverse',
      { inputs: [X(3, 6)] },
      "inputs: the graph's multiply-adds is 2016; the limit is 2000 (MAX_COMPUTE)",
    ],
    [
      'GRU compute',
      'gru-node-clip-bi',
      { inputs: [X(4, 3)] },
      "inputs: the graph's multiply-adds is 2016; the limit is 2000 (MAX_COMPUTE)",
    ],
    [
      'LSTM time steps',
      'lstm-node-reverse',
      { inputs: [X(51, 1)] },
      'inputs: the time steps of an RNN node is 51; the limit is 50 (MAX_TIME_STEPS)',
    ],
    [
      'GRU batch',
      'gru-node-clip-bi',
      { inputs: [X(1, 9)] },
      'inputs: the batch of an RNN node is 9; the limit is 8 (MAX_BATCH)',
    ],
  ];
  for (const [what, name, body, error] of cases) {
    const res = await infer(app, name, body);
    t.equal(res.status, 400, what);
    t.equal(res.body.error, error, what);
  }
  for (const [name, seq, batch] of [
    ['lstm-node-reverse', 2, 8],
    ['gru-node-clip-bi', 2, 5],
  ] as const) {
    const fits = await infer(app, name, { inputs: [X(seq, batch)] });
    t.equal(fits.status, 200, `${name}: just within MAX_COMPUTE`);
  }
  const layout1 = (batch: number, cBatch: number) => ({
    inputs: [
      tensor('X', 'FP32', [batch, 2, 3], ramp(batch * 6)),
      tensor('initial_h', 'FP32', [batch, 2, 4], ramp(batch * 8)),
      tensor('initial_c', 'FP32', [cBatch, 2, 4], ramp(cBatch * 8)),
    ],
  });
  const c0 = await infer(app, 'lstm-node-layout1-h0c0', layout1(2, 3));
  t.equal(c0.status, 400);
  t.equal(c0.body.error, "inputs: node 'cell' (LSTM): initial_c is float [3, 2, 4]; expected float [2, 2, 4]");
  t.equal((await infer(app, 'lstm-node-layout1-h0c0', layout1(2, 2))).status, 200);
});

/** POSTs an infer request; the status and the protocol's `{"error": ...}`. */
async function infer(app: Awaited<ReturnType<typeof build>>['app'], name: string, body: object) {
  const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: body });
  return { status: res.statusCode, body: res.json() };
}

t.test('requests that do not fit the graph: 400 naming the tensor, what is wrong and what fits', async (t) => {
  const names = ['rnn-2-bi-relu-nobias-h0', 'embedding-tagger', 'node-lengths'];
  const { app } = await build(t, { models: { dir: onnxRepository(t, names) } });
  const x = (shape: number[]) => tensor('x', 'FP32', shape, ramp(count(shape)));
  const h0 = (batch: number) => tensor('h0', 'FP32', [4, batch, 4], ramp(16 * batch));
  const cases: [string, string, object, RegExp][] = [
    [
      'FP32 for token ids',
      'embedding-tagger',
      { inputs: [tensor('ids', 'FP32', [1, 2], [1, 2])] },
      /^inputs\[0\]\.datatype: is 'FP32'; input 'ids' is INT64 \(also accepted: INT32\)$/,
    ],
    [
      'INT64 for a float input',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [tensor('x', 'INT64', [2, 1, 3], [1, 2, 3, 4, 5, 6]), h0(1)] },
      /^inputs\[0\]\.datatype: is 'INT64'; input 'x' is FP32 \(also accepted: FP64, FP16\)$/,
    ],
    [
      'a token id outside the Embedding',
      'embedding-tagger',
      { inputs: [tensor('ids', 'INT64', [1, 3], [1, 10, 2])] },
      /^inputs\[0\]\.data: node '\/embedding\/Gather' \(Gather\): indices\[1\] is 10; expected an integer in \[-10, 10\)$/,
    ],
    [
      'a token id that is not an integer',
      'embedding-tagger',
      { inputs: [tensor('ids', 'INT64', [1, 2], [1, 2.5])] },
      /^inputs\[0\]\.data\[1\]: is 2\.5; expected an integer \(input 'ids' is INT64\)$/,
    ],
    [
      'a wrong rank',
      'embedding-tagger',
      { inputs: [tensor('ids', 'INT64', [3], [1, 2, 3])] },
      /^inputs\[0\]\.shape: is \[3\]; input 'ids' is \[-1, -1\] \(-1: any size\)$/,
    ],
    [
      'a wrong fixed axis',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 5]), h0(1)] },
      /^inputs\[0\]\.shape: is \[2, 1, 5\]; input 'x' is \[-1, -1, 3\] \(-1: any size\)$/,
    ],
    [
      'a missing input',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 3])] },
      /^inputs: has no tensor named 'h0' \(the model's inputs are 'x', 'h0'\)$/,
    ],
    [
      'an unknown input',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 3]), h0(1), tensor('c0', 'FP32', [1], [0])] },
      /^inputs\[2\]\.name: is 'c0'; the model's inputs are 'x', 'h0'$/,
    ],
    [
      'an input given twice',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 3]), x([2, 1, 3]), h0(1)] },
      /^inputs\[1\]\.name: 'x' is given again \(also inputs\[0\]\); send each input once$/,
    ],
    [
      'h0 for another batch than x',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 3]), h0(3)] },
      /^inputs: node '\/rnn\/RNN' \(RNN\): initial_h is float \[2, 3, 4\]; expected float \[2, 1, 4\]$/,
    ],
    [
      'a sequence length past the time axis',
      'node-lengths',
      {
        inputs: [
          tensor('X', 'FP32', [2, 1, 3], ramp(6)),
          tensor('sequence_lens', 'INT32', [1], [3]),
          tensor('initial_h', 'FP32', [1, 1, 4], ramp(4)),
        ],
      },
      /^inputs\[1\]\.data: node 'rnn' \(RNN\): sequence_lens\[0\] is 3; expected an integer in \[0, 2\] \(the sequence length\)$/,
    ],
    [
      'an unknown output',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [x([2, 1, 3]), h0(1)], outputs: [{ name: 'c_n' }] },
      /^outputs\[0\]\.name: is 'c_n'; the model's outputs are 'y', 'h_n'$/,
    ],
  ];
  for (const [what, name, body, error] of cases) {
    const res = await infer(app, name, body);
    t.equal(res.status, 400, what);
    t.match(res.body.error, error, `${what}: ${res.body.error}`);
  }
});

t.test('limits are checked from shapes before the graph runs', async (t) => {
  const { app } = await build(t, {
    models: { dir: onnxRepository(t, ['rnn-1-tanh-bf']) },
    limits: { maxCompute: 5000, maxTimeSteps: 100, maxInputValues: 2000, maxOutputValues: 300, maxBatch: 8 },
  });
  const x = (batch: number, time: number) => ({
    inputs: [tensor('x', 'FP32', [batch, time, 3], ramp(batch * time * 3))],
  });
  // x(2, 90): the RNN node's 2 · 90 · 4 · (3 + 4) = 5040 multiply-adds, plus one per element the other nodes write:
  // the two Transposes (540 + 720), the zero h0 (8), and the shape arithmetic (Gather 1, Concat 3).
  const cases: [string, object, string][] = [
    ['time steps', x(1, 101), 'inputs: the time steps of an RNN node is 101; the limit is 100 (MAX_TIME_STEPS)'],
    ['batch', x(9, 1), 'inputs: the batch of an RNN node is 9; the limit is 8 (MAX_BATCH)'],
    ['input values', x(1, 700), 'inputs: the elements of all inputs is 2100; the limit is 2000 (MAX_INPUT_VALUES)'],
    ['compute', x(2, 90), "inputs: the graph's multiply-adds is 6312; the limit is 5000 (MAX_COMPUTE)"],
    [
      'output values',
      x(2, 40),
      'outputs: the values of the answered outputs is 328; the limit is 300 (MAX_OUTPUT_VALUES)',
    ],
  ];
  for (const [what, body, error] of cases) {
    const res = await infer(app, 'rnn-1-tanh-bf', body);
    t.equal(res.status, 400, what);
    t.equal(res.body.error, error, what);
  }
  const fits = await infer(app, 'rnn-1-tanh-bf', x(2, 30));
  t.equal(fits.status, 200, 'within every limit');
  t.same(fits.body.outputs[0].shape, [2, 30, 4]);
});

t.test('the shipped example models/sentiment-onnx: served by default, as onnxruntime computes it', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const meta = (await app.inject({ method: 'GET', url: '/v2/models/sentiment-onnx' })).json();
  t.same(meta.inputs, [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }]);
  t.same(meta.outputs, [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }]);
  const ids = { datatype: 'INT64', shape: [3, 4], data: [1, 2, 3, 4, 15, 14, 13, 12, 0, 0, 7, 7] };
  const res = await infer(app, 'sentiment-onnx', { inputs: [{ name: 'ids', ...ids }] });
  t.equal(res.status, 200);
  const [probs] = res.body.outputs;
  t.same(probs.shape, [3, 2]);
  const model = readFileSync(new URL('../../../../models/sentiment-onnx/1/model.onnx', import.meta.url));
  const ort = await runOrt(model, { ids });
  t.ok(maxDiff(probs.data, ort.probs.data) <= TOLERANCE, 'onnxruntime');
  for (let b = 0; b < 3; b++) t.ok(Math.abs(probs.data[2 * b] + probs.data[2 * b + 1] - 1) < 1e-6, `row ${b}: softmax`);
});
