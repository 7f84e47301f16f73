/**
 * One request, two protocols: over every example model (models/) and every cell (SimpleRNN, LSTM, GRU, a
 * bidirectional GRU-then-LSTM stack), the same request over HTTP with binary tensors and over gRPC with raw
 * tensors, and over gRPC with typed contents, answers the same outputs, names, datatypes and shapes, and
 * bit-identical tensors (the classification extension's strings included); all three through the serving core
 * (its per-model count of inferences, by protocol).
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';
import { rng } from '../helpers/random.js';

const CELLS = {
  'simple/1/model.json': { format: 'rnn-serve/v1', inputDim: 3, hiddenSize: 4, seed: 1 },
  'lstm/1/model.json': { format: 'rnn-serve/v1', inputDim: 3, cell: 'lstm', hiddenSize: 4, seed: 2 },
  'gru/1/model.json': { format: 'rnn-serve/v1', inputDim: 3, cell: 'gru', hiddenSize: 4, seed: 3 },
  'stack/1/model.json': {
    format: 'rnn-serve/v1',
    inputDim: 3,
    layers: [
      { hiddenSize: 3, cell: 'gru' },
      { hiddenSize: 2, cell: 'lstm' },
    ],
    bidirectional: { mergeMode: 'concat' },
    seed: 4,
  },
};

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Little-endian bytes. */
  bytes: Buffer;
  /** The same elements as numbers (typed contents). */
  values: number[];
}

const random = rng(5);
function tensor(name: string, datatype: string, shape: number[], make: () => number): Tensor {
  const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, make);
  const bytes =
    datatype === 'INT64'
      ? Buffer.from(new BigInt64Array(values.map(BigInt)).buffer)
      : Buffer.from(new Float32Array(values).buffer);
  return { name, datatype, shape, bytes, values: datatype === 'FP32' ? Array.from(new Float32Array(values)) : values };
}
const floats = () => Math.fround(random() * 2 - 1);

/** Each model's request: its inputs, and outputs to ask for (empty: all). */
const REQUESTS: Record<string, { inputs: Tensor[]; outputs: object[] }> = {
  hello: { inputs: [tensor('input', 'FP32', [2, 3, 4], floats)], outputs: [] },
  'next-char': {
    inputs: [tensor('input', 'INT64', [2, 3, 1], () => Math.floor(random() * 5))],
    outputs: [{ name: 'output', classification: 3 }, { name: 'state' }],
  },
  'sentiment-onnx': {
    inputs: [tensor('ids', 'INT64', [2, 3], () => 1 + Math.floor(random() * 15))],
    outputs: [{ name: 'probs', classification: 2 }],
  },
  ...Object.fromEntries(
    Object.keys(CELLS).map((path) => [
      path.split('/')[0],
      {
        inputs: [
          tensor('input', 'FP32', [2, 3, 3], floats),
          tensor('lengths', 'INT64', [2], () => 2 + Math.floor(random() * 2)),
        ],
        outputs: [],
      },
    ]),
  ),
};

interface Answer {
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw: Buffer[];
}

t.test('every model and cell: HTTP binary, gRPC raw and gRPC typed answer bit-identical tensors', async (t) => {
  const dir = modelsDir(t, CELLS);
  for (const model of ['hello', 'next-char', 'sentiment-onnx'])
    cpSync(join(SHIPPED_MODELS, model), join(dir, model), { recursive: true });
  const g = await buildGrpc(t, { models: { dir } });
  t.same(g.app.repository.names(), Object.keys(REQUESTS).sort(), 'every model is asked');
  const inferences = async (model: string, protocol: string) =>
    Number(
      new RegExp(
        `^rnn_model_inferences_total\\{model="${model}",version="1",protocol="${protocol}",outcome="ok"\\} (\\d+)$`,
        'm',
      ).exec((await g.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0,
    );

  for (const [name, { inputs, outputs }] of Object.entries(REQUESTS)) {
    const header = {
      id: `same-${name}`,
      inputs: inputs.map(({ name, datatype, shape, bytes }) => ({
        name,
        datatype,
        shape,
        parameters: { binary_data_size: bytes.length },
      })),
      ...(outputs.length > 0
        ? {
            outputs: outputs.map((o: any) => ({
              name: o.name,
              ...(o.classification ? { parameters: { classification: o.classification } } : {}),
            })),
          }
        : {}),
      parameters: { binary_data_output: true },
    };
    const json = Buffer.from(JSON.stringify(header));
    const res = await g.app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) },
      payload: Buffer.concat([json, ...inputs.map((i) => i.bytes)]),
    });
    t.equal(res.statusCode, 200, `${name} over HTTP: ${res.statusCode === 200 ? '' : res.body}`);
    const length = Number(res.headers['inference-header-content-length']);
    const body = res.rawPayload;
    const answered = JSON.parse(body.subarray(0, length).toString('utf8'));
    let at = length;
    const http: Answer = {
      outputs: answered.outputs.map(({ name, datatype, shape }: Answer['outputs'][number]) => ({
        name,
        datatype,
        shape,
      })),
      raw: answered.outputs.map((o: { parameters: { binary_data_size: number } }) => {
        const part = body.subarray(at, at + o.parameters.binary_data_size);
        at += o.parameters.binary_data_size;
        return Buffer.from(part);
      }),
    };

    const grpcOutputs = outputs.map((o: any) => ({
      name: o.name,
      parameters: o.classification ? { classification: { int64_param: o.classification } } : {},
    }));
    const viaGrpc = async (request: object): Promise<Answer> => {
      const response = await g.unary(g.inference, 'ModelInfer', {
        model_name: name,
        id: `same-${name}`,
        outputs: grpcOutputs,
        ...request,
      });
      t.equal(response.id, `same-${name}`);
      return {
        outputs: response.outputs.map((o: { name: string; datatype: string; shape: string[] }) => ({
          name: o.name,
          datatype: o.datatype,
          shape: o.shape.map(Number),
        })),
        raw: response.raw_output_contents.map((b: Uint8Array) => Buffer.from(b)),
      };
    };
    const raw = await viaGrpc({
      inputs: inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      raw_input_contents: inputs.map((i) => i.bytes),
    });
    const typed = await viaGrpc({
      inputs: inputs.map(({ name, datatype, shape, values }) => ({
        name,
        datatype,
        shape,
        contents: datatype === 'INT64' ? { int64_contents: values } : { fp32_contents: values },
      })),
    });
    t.same(raw.outputs, http.outputs, `${name}: the same outputs`);
    t.ok(
      raw.raw.length === http.raw.length && raw.raw.every((bytes, i) => bytes.equals(http.raw[i])),
      `${name}: gRPC raw = HTTP binary, bit for bit`,
    );
    t.same(typed.outputs, http.outputs);
    t.ok(
      typed.raw.length === http.raw.length && typed.raw.every((bytes, i) => bytes.equals(http.raw[i])),
      `${name}: gRPC typed = HTTP binary, bit for bit`,
    );
    t.same(
      [await inferences(name, 'http'), await inferences(name, 'grpc')],
      [1, 2],
      `${name}: the three went through the core, counted by protocol`,
    );
  }
});
