/**
 * A one-node ONNX model (opset 14 `RNN`, forward, tanh) encoded by hand in the protobuf wire format, so the
 * benchmark can run onnxruntime-node on exactly our weights without a Python export step.
 *
 * Only the fields the model needs are written (onnx.proto3 field numbers):
 *   ModelProto      1 ir_version, 7 graph, 8 opset_import
 *   OperatorSetId   1 domain, 2 version
 *   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
 *   NodeProto       1 input, 2 output, 4 op_type, 5 attribute
 *   AttributeProto  1 name, 3 i, 20 type (2 = INT)
 *   TensorProto     1 dims, 2 data_type (1 = FLOAT), 8 name, 9 raw_data (little-endian float32)
 *   ValueInfoProto  1 name, 2 type → TypeProto 1 tensor_type → 1 elem_type, 2 shape → 1 dim → 1 dim_value
 *
 * Layouts (ONNX RNN): X [seq, batch, input], W [1, hidden, input] = Wᵀ, R [1, hidden, hidden] = Uᵀ,
 * B [1, 2·hidden] = concat(Wb, Rb), initial_h [1, batch, hidden]; Y [seq, 1, batch, hidden], Y_h [1, batch, hidden].
 * Our Keras bias goes whole into Wb (Rb = 0), so the model computes what our engine computes.
 */
import { transpose } from '../src/engine/layouts.js';
import type { SimpleRnnWeights } from '../src/engine/simple-rnn.js';

const IR_VERSION = 7; // the IR version that introduced opset 14
const OPSET = 14;
const ATTRIBUTE_INT = 2;
const TENSOR_FLOAT = 1;
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

/** Protobuf pieces, each returned as bytes so messages nest by concatenation. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function intField(field: number, value: number): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | WIRE_VARINT), ...varint(value)]);
}

function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([...varint((field << 3) | WIRE_BYTES), ...varint(payload.length)]), payload]);
}

function stringField(field: number, value: string): Uint8Array {
  return bytesField(field, new TextEncoder().encode(value));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function tensor(name: string, dims: number[], data: Float32Array): Uint8Array {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return concat([
    ...dims.map((d) => intField(1, d)),
    intField(2, TENSOR_FLOAT),
    stringField(8, name),
    bytesField(9, raw),
  ]);
}

function valueInfo(name: string, dims: number[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(1, intField(1, d))));
  const tensorType = concat([intField(1, TENSOR_FLOAT), bytesField(2, shape)]);
  return concat([stringField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

export interface OnnxRnnShape {
  readonly batch: number;
  readonly time: number;
  /** Adds an `initial_h` graph input [1, batch, hidden]. */
  readonly initialState?: boolean;
}

/** The serialized ModelProto of one forward tanh RNN layer with these weights and fixed input shape. */
export function onnxSimpleRnnModel(
  weights: SimpleRnnWeights,
  { batch, time, initialState = false }: OnnxRnnShape,
): Uint8Array {
  const { inputDim, hiddenSize: h } = weights;
  const b = new Float32Array(2 * h);
  b.set(weights.bias, 0); // Wb = Keras bias, Rb = 0
  const node = concat([
    ...(initialState ? ['X', 'W', 'R', 'B', '', 'initial_h'] : ['X', 'W', 'R', 'B']).map((name) =>
      stringField(1, name),
    ),
    stringField(2, 'Y'),
    stringField(2, 'Y_h'),
    stringField(4, 'RNN'),
    bytesField(5, concat([stringField(1, 'hidden_size'), intField(3, h), intField(20, ATTRIBUTE_INT)])),
  ]);
  const graph = concat([
    bytesField(1, node),
    stringField(2, 'simple_rnn'),
    bytesField(5, tensor('W', [1, h, inputDim], transpose(weights.kernel, inputDim, h))),
    bytesField(5, tensor('R', [1, h, h], transpose(weights.recurrentKernel, h, h))),
    bytesField(5, tensor('B', [1, 2 * h], b)),
    bytesField(11, valueInfo('X', [time, batch, inputDim])),
    ...(initialState ? [bytesField(11, valueInfo('initial_h', [1, batch, h]))] : []),
    bytesField(12, valueInfo('Y', [time, 1, batch, h])),
    bytesField(12, valueInfo('Y_h', [1, batch, h])),
  ]);
  return concat([
    intField(1, IR_VERSION),
    bytesField(7, graph),
    bytesField(8, concat([stringField(1, ''), intField(2, OPSET)])),
  ]);
}

/** [a, b, c] → [b, a, c]: batch-major ↔ time-major. */
export function swapLeadingAxes(data: Float32Array, a: number, b: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * c, (i * b + j + 1) * c), (j * a + i) * c);
  }
  return out;
}
