/**
 * decode.ts reads a model.onnx into the graph the interpreter runs. Held to: what it reads of a hand-built graph and
 * of a torch export (opset, producer, inputs without initializers, -1 for dynamic axes, attributes as plain values,
 * initializers from listed and raw data, INT32 and INT64 exactly), and each refusal's one line, every size checked
 * before an array is made.
 */
import onnxProto from 'onnx-proto';
import t from 'tap';
import {
  ONNX_TYPES,
  OnnxModelError,
  SUPPORTED_OPSETS,
  decodeOnnx,
  readTensor,
  typeName,
} from '../../../src/models/onnx/decode.js';
import { type GraphSpec, fixtureBytes, graphModel } from '../../helpers/onnx.js';

const { onnx } = onnxProto;
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof OnnxModelError) return error.message;
    throw error;
  }
  throw new Error('nothing was refused');
};
const SPEC: GraphSpec = {
  inputs: [{ name: 'x', shape: ['batch', 3] }],
  outputs: [['y', 2]],
  nodes: [{ op: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], attributes: { alpha: 0.5, transB: 1 }, floats: ['alpha'] }],
  initializers: [{ name: 'w', dims: [2, 3], values: [1, 2, 3, 4, 5, 6] }],
};
/** SPEC's model, changed by `change` on the decoded proto, encoded again. */
const changed = (change: (model: onnxProto.onnx.ModelProto) => void): Uint8Array => {
  const model = onnx.ModelProto.decode(graphModel(SPEC));
  change(model);
  return onnx.ModelProto.encode(model).finish();
};

t.test('a hand-built graph: what is read', async (t) => {
  const graph = decodeOnnx(graphModel(SPEC));
  t.equal(graph.opset, 14);
  t.equal(graph.producer, 'rnn-serve tests');
  t.same(graph.inputs, [{ name: 'x', elemType: 1, shape: [-1, 3] }], 'a dim_param is -1');
  t.same(graph.outputs, [{ name: 'y', elemType: 1, shape: [-1, -1] }]);
  t.same([...graph.initializers.keys()], ['w']);
  const w = graph.initializers.get('w');
  t.same([w?.type, w?.shape, [...(w?.data ?? [])]], ['float', [2, 3], [1, 2, 3, 4, 5, 6]]);
  t.equal(graph.nodes.length, 1);
  const [node] = graph.nodes;
  t.same([node.name, node.opType, node.inputs, node.outputs], ['n0', 'Gemm', ['x', 'w'], ['y']]);
  t.same(Object.fromEntries(node.attributes), {
    alpha: { kind: 'float', value: 0.5 },
    transB: { kind: 'int', value: 1 },
  });
});

t.test('a torch export: its producer, and graph inputs that are initializers left out', async (t) => {
  const graph = decodeOnnx(fixtureBytes('lstm-2-bf-h0'));
  t.equal(graph.producer, 'pytorch 1.13.0');
  t.same(
    graph.inputs.map((i) => [i.name, i.shape]),
    [
      ['x', [-1, -1, 2]],
      ['h0', [2, -1, 5]],
      ['c0', [2, -1, 5]],
    ],
  );
  t.ok(graph.initializers.size > 0);
});

t.test('readTensor: listed and raw data, INT32 and INT64 exact, sizes checked first', async (t) => {
  const budget = { bytes: 0 };
  const int64 = new Uint8Array(16);
  new DataView(int64.buffer).setBigInt64(0, -(2n ** 53n) + 1n, true);
  new DataView(int64.buffer).setBigInt64(8, 7n, true);
  const ids = readTensor({ dims: [2], dataType: 7, rawData: int64 }, 'ids', budget);
  t.same([ids.type, [...ids.data]], ['int', [-(2 ** 53) + 1, 7]]);
  const floats = new Uint8Array(new Float32Array([0.5, -2]).buffer);
  t.same([...readTensor({ dims: [2], dataType: 1, rawData: floats }, 'f', budget).data], [0.5, -2]);
  t.same([...readTensor({ dims: [3], dataType: 6, int32Data: [1, -2, 3] }, 'i', budget).data], [1, -2, 3]);
  t.equal(budget.bytes, 2 * 4 + 2 * 4 + 3 * 4, 'four bytes per element counted, whatever the type');
  t.equal(
    refusal(() => readTensor({ dims: [3], dataType: 1, rawData: floats }, "initializer 'w'", { bytes: 0 })),
    "initializer 'w': has 8 bytes of raw_data; dims [3] of FP32 take 12",
  );
  t.equal(
    refusal(() => readTensor({ dims: [2, 2], dataType: 1, floatData: [1, 2, 3] }, "initializer 'w'", { bytes: 0 })),
    "initializer 'w': has 3 values; dims [2, 2] hold 4",
  );
  t.equal(
    refusal(() => readTensor({ dims: [1], dataType: 11, doubleData: [1] }, "initializer 'w'", { bytes: 0 })),
    "initializer 'w': data type DOUBLE; rnn-serve reads FLOAT, INT64 and INT32",
  );
  t.equal(
    refusal(() => readTensor({ dims: [2 ** 28, 2] }, 'w', { bytes: 0 })),
    'w: data type UNDEFINED; rnn-serve reads FLOAT, INT64 and INT32',
  );
  t.equal(
    refusal(() => readTensor({ dims: [2 ** 28 + 1], dataType: 1 }, 'w', { bytes: 0 })),
    'w: the tensors so far take 1073741828 bytes (1.0 GiB); the limit is 1073741824 bytes (1.0 GiB) (MAX_WEIGHT_BYTES)',
    'the budget is checked before anything is read',
  );
  t.equal(
    refusal(() => readTensor({ dims: [-1], dataType: 1 }, 'w', { bytes: 0 })),
    'w: dims [-1] has a dimension outside [0, 2147483647]',
  );
  t.equal(
    refusal(() => readTensor({ dims: [1], dataType: 1, dataLocation: 1 }, 'w', { bytes: 0 })),
    'w: keeps its data in an external file; rnn-serve reads only data inside model.onnx',
  );
});

t.test('refusals of the file, one line each', async (t) => {
  t.match(
    refusal(() => decodeOnnx(Uint8Array.of(0xff, 0xff, 0xff))),
    /^is not an ONNX model \(protobuf: /,
  );
  t.equal(
    refusal(() => decodeOnnx(changed((m) => m.graph?.node?.splice(0)))),
    'is not an ONNX model (no graph, or no nodes)',
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          m.opsetImport = [onnx.OperatorSetIdProto.create({ domain: 'ai.onnx', version: 12 })];
        }),
      ),
    ),
    `uses opset 12; rnn-serve reads opsets ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max} (export with opset_version=14)`,
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          m.opsetImport = [onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 })];
        }),
      ),
    ),
    'imports no default-domain opset',
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          m.functions = [onnx.FunctionProto.create({ name: 'f' })];
        }),
      ),
    ),
    'defines functions; rnn-serve reads plain graphs only',
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          (m.graph as onnxProto.onnx.GraphProto).node[0].domain = 'com.microsoft';
        }),
      ),
    ),
    "node 'n0' (Gemm): is from operator domain 'com.microsoft'; rnn-serve runs the default ONNX domain only",
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          const graph = m.graph as onnxProto.onnx.GraphProto;
          graph.output[0] = onnx.ValueInfoProto.create({ name: 'y', type: { sequenceType: {} } });
        }),
      ),
    ),
    "output 'y': is not a tensor (sequences and maps are not served)",
  );
  t.equal(
    refusal(() =>
      decodeOnnx(
        changed((m) => {
          const graph = m.graph as onnxProto.onnx.GraphProto;
          graph.input[0] = onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1 } } });
        }),
      ),
    ),
    "input 'x': has no shape; rnn-serve needs at least its rank",
  );
});

t.test('type names', async (t) => {
  t.same(
    Object.values(ONNX_TYPES).map((v) => v.datatype),
    ['FP32', 'INT32', 'INT64'],
  );
  t.equal(typeName(7), 'INT64');
  t.equal(typeName(10), 'FLOAT16');
  t.equal(typeName(99), 'type 99');
});
