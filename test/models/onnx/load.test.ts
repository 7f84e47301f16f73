/**
 * ONNX models at start-up: every refusal is one line, `MODELS_DIR/NAME/VERSION/model.onnx: problem`, naming the
 * node and operator where one is at fault: an operator outside the supported set, an attribute or activation
 * the engine cannot honour (also LSTM peepholes that are not zero, input_forget 1, g and h that differ), an
 * input datatype it does not serve, shapes that disagree, malformed protobuf, initializers whose dims and bytes
 * disagree. Files made by the fixture script, or a fixture changed through
 * onnx-proto (the same schema the loader decodes with).
 */
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import t from 'tap';
import { defaultConfig } from '../../../src/config/config.js';
import { SeededWeightsCache } from '../../../src/inference/weights-cache.js';
import { ModelLoadError, loadRepository } from '../../../src/models/repository.js';
import { fixtureBytes, onnxRepository } from '../../helpers/onnx.js';
import { spawnServer } from '../../helpers/server.js';

const { onnx } = onnxProto;
const cache = new SeededWeightsCache(0);
const limits = defaultConfig.limits;

/** A fixture decoded, changed by `change`, and encoded again. */
function changed(name: string, change: (model: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(fixtureBytes(name));
  change(model);
  return onnx.ModelProto.encode(model).finish();
}

const rnnNode = (model: onnxProto.onnx.ModelProto) =>
  (model.graph?.node ?? []).find((n) => n.opType === 'RNN') as onnxProto.onnx.NodeProto;

const cellNode = (model: onnxProto.onnx.ModelProto) =>
  (model.graph?.node ?? []).find((n) => n.name === 'cell') as onnxProto.onnx.NodeProto;

const bytes = (text: string) => new TextEncoder().encode(text);

async function refusal(dir: string): Promise<ModelLoadError> {
  const error = await loadRepository({ dir, onError: 'fail' }, limits, cache).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ModelLoadError)) throw new Error(`expected a ModelLoadError, got ${String(error)}`);
  return error;
}

const CASES: [string, string | Uint8Array, RegExp][] = [
  [
    'an unknown operator',
    'refuse-cos',
    /^node 'wobble' \(Cos\): operator Cos is not supported \(supported: Add, Concat, Constant, ConstantOfShape, GRU, Gather, Gemm, Identity, LSTM, LogSoftmax, MatMul, RNN, Reshape, Shape, Slice, Softmax, Squeeze, Transpose, Unsqueeze\)$/,
  ],
  [
    'LSTM peepholes that are not zero',
    'refuse-lstm-peepholes',
    /^node 'cell' \(LSTM\): input P \(peepholes\) is 0\.25 at \[1, 5\]; only all-zero peepholes are supported \(the engine has no peephole connections\)$/,
  ],
  [
    'LSTM peepholes given by the request (not a constant)',
    changed('lstm-node-zero-peepholes', (m) => {
      const graph = m.graph as onnxProto.onnx.GraphProto;
      graph.initializer = graph.initializer.filter((i) => i.name !== 'P');
      graph.input.push(
        onnx.ValueInfoProto.create({
          name: 'P',
          type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 12 }] } } },
        }),
      );
    }),
    /^node 'cell' \(LSTM\): input P \(peepholes\) is not an initializer or a Constant; only constant all-zero peepholes are supported$/,
  ],
  [
    'LSTM input_forget 1',
    'refuse-lstm-input-forget',
    /^node 'cell' \(LSTM\): attribute 'input_forget' is 1; only 0 is supported \(the engine's LSTM has separate input and forget gates\)$/,
  ],
  [
    'LSTM activations g and h that differ',
    'refuse-lstm-activations',
    /^node 'cell' \(LSTM\): activations of direction 0 have g 'Tanh' and h 'Relu'; the engine applies one function to both \(use the same for g and h\)$/,
  ],
  [
    'LSTM activations one short',
    changed('lstm-node-reverse', (m) => {
      cellNode(m).attribute.push(
        onnx.AttributeProto.create({ name: 'activations', strings: ['Sigmoid', 'Tanh'].map(bytes), type: 8 }),
      );
    }),
    /^node 'cell' \(LSTM\): attribute 'activations' has 2 entries; expected 3 \(3 per direction: f, g, h\)$/,
  ],
  [
    'GRU linear_before_reset 2',
    'refuse-gru-lbr',
    /^node 'cell' \(GRU\): attribute 'linear_before_reset' is 2; expected 0 or 1$/,
  ],
  [
    'an LSTM attribute on a GRU',
    changed('gru-node-lbr0', (m) => {
      cellNode(m).attribute.push(onnx.AttributeProto.create({ name: 'input_forget', i: 0, type: 2 }));
    }),
    /^node 'cell' \(GRU\): attribute 'input_forget' is not supported \(supported: activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout, linear_before_reset\)$/,
  ],
  [
    'GRU hidden_size that disagrees with W',
    changed('gru-node-lbr0', (m) => {
      const hidden = cellNode(m).attribute.find((a) => a.name === 'hidden_size') as onnxProto.onnx.AttributeProto;
      hidden.i = 5;
    }),
    /^node 'cell' \(GRU\): W is float \[1, 12, 3\]; expected float \[1, 15, 3\] \(planned with every dynamic axis 2\)$/,
  ],
  [
    'an activation the engine does not have',
    'refuse-activation',
    /^node 'rnn' \(RNN\): activation 'LeakyRelu' with alpha 0\.01 is not supported \(supported: Tanh, Relu, Sigmoid/,
  ],
  [
    'activation_alpha for activations that take none',
    'refuse-attribute',
    /^node 'rnn' \(RNN\): attribute 'activation_alpha' has 1 value\(s\) more than the activations take \(0\)$/,
  ],
  ['a DOUBLE input', 'refuse-datatype', /^input 'X' is DOUBLE; rnn-serve serves FLOAT, INT64 and INT32 inputs$/],
  [
    'an attribute no operator defines',
    changed('node-reverse', (m) => {
      rnnNode(m).attribute.push(onnx.AttributeProto.create({ name: 'input_forget', i: 1, type: 2 }));
    }),
    /^node 'rnn' \(RNN\): attribute 'input_forget' is not supported \(supported: activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout\)$/,
  ],
  [
    'layout 2',
    changed('node-reverse', (m) => {
      rnnNode(m).attribute.push(onnx.AttributeProto.create({ name: 'layout', i: 2, type: 2 }));
    }),
    /^node 'rnn' \(RNN\): attribute 'layout' is 2; expected 0 or 1$/,
  ],
  [
    'a clip that is not positive',
    changed('node-clip', (m) => {
      const clip = rnnNode(m).attribute.find((a) => a.name === 'clip') as onnxProto.onnx.AttributeProto;
      clip.f = -1;
    }),
    /^node 'rnn' \(RNN\): attribute 'clip' is -1; expected a positive number$/,
  ],
  [
    'hidden_size that disagrees with W',
    changed('node-reverse', (m) => {
      const hidden = rnnNode(m).attribute.find((a) => a.name === 'hidden_size') as onnxProto.onnx.AttributeProto;
      hidden.i = 5;
    }),
    /^node 'rnn' \(RNN\): W is float \[1, 4, 3\]; expected float \[1, 5, 3\] \(planned with every dynamic axis 2\)$/,
  ],
  [
    'a node reading a tensor nothing defines',
    changed('node-reverse', (m) => {
      rnnNode(m).input[1] = 'nowhere';
    }),
    /^node 'rnn' \(RNN\): reads 'nowhere', which no earlier node, input or initializer defines$/,
  ],
  [
    'an initializer whose dims promise more than its bytes',
    changed('node-reverse', (m) => {
      const w = (m.graph?.initializer ?? []).find((i) => i.name === 'W') as onnxProto.onnx.TensorProto;
      w.dims = [1, 4, 3000];
    }),
    /^initializer 'W': has 12 values; dims \[1, 4, 3000\] hold 12000$/,
  ],
  [
    "raw_data (torch's way of writing weights) shorter than the dims",
    changed('rnn-1-tanh-bf', (m) => {
      const first = (m.graph?.initializer ?? [])[0];
      first.rawData = (first.rawData as Uint8Array).subarray(0, 8);
    }),
    /^initializer '[^']+': has 8 bytes of raw_data; dims \[[0-9, ]+\] of FP32 take [0-9]+$/,
  ],
  [
    'an initializer with external data',
    changed('node-reverse', (m) => {
      const w = (m.graph?.initializer ?? []).find((i) => i.name === 'W') as onnxProto.onnx.TensorProto;
      w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    }),
    /^initializer 'W': keeps its data in an external file; rnn-serve reads only data inside model\.onnx$/,
  ],
  [
    'opset 9',
    changed('node-reverse', (m) => {
      (m.opsetImport ?? [])[0].version = 9;
    }),
    /^uses opset 9; rnn-serve reads opsets 13 to 21 \(export with opset_version=14\)$/,
  ],
  [
    'bytes that are not protobuf',
    Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
    /^is not an ONNX model \(protobuf: /,
  ],
  ['an empty file', new Uint8Array(0), /^is not an ONNX model \(no graph, or no nodes\)$/],
];

t.test('each refusal is one line naming the file, and the node and operator at fault', async (t) => {
  for (const [what, source, problem] of CASES) {
    const dir =
      typeof source === 'string' ? onnxRepository(t, [source]) : onnxRepository(t, [], { 'bad/1/model.onnx': source });
    const name = typeof source === 'string' ? source : 'bad';
    const error = await refusal(dir);
    t.equal(error.file, `${name}/1/model.onnx`, `${what}: the file`);
    t.match(error.problem, problem, `${what}: ${error.problem}`);
    t.equal(error.message, `${dir}/${name}/1/model.onnx: ${error.problem}`, `${what}: one line, as configured`);
    t.notMatch(error.message, /\n/, `${what}: one line`);
  }
});

t.test('the fixtures that make their point load (the refusals above are not an accident of the file)', async (t) => {
  const names = ['gru-node-lbr0', 'lstm-node-reverse', 'lstm-node-zero-peepholes', 'node-clip', 'node-reverse'];
  const repository = await loadRepository({ dir: onnxRepository(t, names), onError: 'fail' }, limits, cache);
  t.same(repository.names(), names, 'all-zero peepholes are accepted');
  t.equal(repository.get('node-clip').kind, 'onnx');
});

t.test('all-zero peepholes from a Constant node load like an initializer of zeros', async (t) => {
  const moved = changed('lstm-node-zero-peepholes', (m) => {
    const graph = m.graph as onnxProto.onnx.GraphProto;
    const p = graph.initializer.find((i) => i.name === 'P') as onnxProto.onnx.TensorProto;
    graph.initializer = graph.initializer.filter((i) => i !== p);
    graph.node.unshift(
      onnx.NodeProto.create({
        name: 'zeros',
        opType: 'Constant',
        output: ['P'],
        attribute: [onnx.AttributeProto.create({ name: 'value', t: p, type: 4 })],
      }),
    );
  });
  const dir = onnxRepository(t, [], { 'constant-p/1/model.onnx': moved });
  const repository = await loadRepository({ dir, onError: 'fail' }, limits, cache);
  t.same(repository.names(), ['constant-p']);
  const nonzero = changed('lstm-node-zero-peepholes', (m) => {
    const graph = m.graph as onnxProto.onnx.GraphProto;
    const p = graph.initializer.find((i) => i.name === 'P') as onnxProto.onnx.TensorProto;
    p.floatData[7] = -0.5;
  });
  const error = await refusal(onnxRepository(t, [], { 'bad/1/model.onnx': nonzero }));
  t.equal(
    error.problem,
    "node 'cell' (LSTM): input P (peepholes) is -0.5 at [0, 7]; only all-zero peepholes are supported (the engine has no peephole connections)",
  );
});

t.test('MODELS_ON_ERROR=skip leaves a refused ONNX model out and lists it', async (t) => {
  const dir = onnxRepository(t, ['refuse-cos', 'node-reverse']);
  const repository = await loadRepository({ dir, onError: 'skip' }, limits, cache);
  t.same(repository.names(), ['node-reverse']);
  t.equal(repository.skipped.length, 1);
  t.match(repository.skipped[0], {
    name: 'refuse-cos',
    version: '1',
    file: 'refuse-cos/1/model.onnx',
    error: /^refuse-cos\/1\/model\.onnx: node 'wobble' \(Cos\): operator Cos is not supported/,
  });
});

t.test('a version holding both model.json and model.onnx is refused', async (t) => {
  const dir = onnxRepository(t, ['node-reverse'], {
    'node-reverse/1/model.json': JSON.stringify({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 }),
  });
  const error = await refusal(dir);
  t.equal(error.file, 'node-reverse/1');
  t.equal(error.problem, 'holds both model.json and model.onnx; keep one model file per version');
});

t.test('a model.onnx over MAX_MODEL_FILE_BYTES is refused without being read', async (t) => {
  const dir = onnxRepository(t, ['node-reverse']);
  const file = join(dir, 'node-reverse', '1', 'model.onnx');
  writeFileSync(file, '');
  truncateSync(file, 65 * 1024 * 1024);
  const error = await refusal(dir);
  t.equal(error.problem, 'is 68157440 bytes (65.0 MiB); the limit is 67108864 bytes (64.0 MiB) (MAX_MODEL_FILE_BYTES)');
});

t.test('the process refuses to start on an unknown operator: one line on stderr, exit code 2', async (t) => {
  const dir = onnxRepository(t, ['refuse-cos']);
  const server = spawnServer({ MODELS_DIR: dir });
  server.listening.catch(() => {});
  t.same(await server.exited, { code: 2, signal: null });
  const lines = server.stderr().trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${server.stderr()}`);
  t.match(
    lines[0],
    new RegExp(
      `^rnn-serve: cannot load model ${dir}/refuse-cos/1/model\\.onnx: node 'wobble' \\(Cos\\): operator Cos is not supported \\(supported: Add, `,
    ),
  );
});
