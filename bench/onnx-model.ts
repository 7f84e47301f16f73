/**
 * One-node ONNX models (opset 14 `RNN`, `LSTM` or `GRU`, forward) encoded by hand in the protobuf wire format,
 * so the benchmark and the engine's parity tests can run onnxruntime-node on exactly our weights without a
 * Python export step.
 *
 * Only the fields the model needs are written (onnx.proto3 field numbers):
 *   ModelProto      1 ir_version, 7 graph, 8 opset_import
 *   OperatorSetId   1 domain, 2 version
 *   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
 *   NodeProto       1 input, 2 output, 4 op_type, 5 attribute
 *   AttributeProto  1 name, 2 f, 3 i, 9 strings, 20 type (1 = FLOAT, 2 = INT, 8 = STRINGS)
 *   TensorProto     1 dims, 2 data_type (1 = FLOAT, 6 = INT32), 8 name, 9 raw_data (little-endian)
 *   ValueInfoProto  1 name, 2 type → TypeProto 1 tensor_type → 1 elem_type, 2 shape → 1 dim → 1 dim_value
 *
 * Layouts (ONNX RNN): X [seq, batch, input], W [1, hidden, input] = Wᵀ, R [1, hidden, hidden] = Uᵀ,
 * B [1, 2·hidden] = concat(Wb, Rb), initial_h [1, batch, hidden]; Y [seq, 1, batch, hidden], Y_h [1, batch, hidden].
 * Our Keras bias goes whole into Wb (Rb = 0), so the model computes what our engine computes.
 */
import type { RecurrentWeights } from '../src/engine/cells.js';
import { onnxFromKeras, transpose } from '../src/engine/layouts.js';
import type { SimpleRnnWeights } from '../src/engine/simple-rnn.js';

const IR_VERSION = 7; // the IR version that introduced opset 14
const OPSET = 14;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_STRINGS = 8;
const TENSOR_FLOAT = 1;
const TENSOR_INT32 = 6;
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

function tensor(name: string, dims: number[], data: Float32Array | Int32Array): Uint8Array {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  const int = data instanceof Int32Array;
  data.forEach((v, i) => (int ? view.setInt32(i * 4, v, true) : view.setFloat32(i * 4, v, true)));
  return concat([
    ...dims.map((d) => intField(1, d)),
    intField(2, int ? TENSOR_INT32 : TENSOR_FLOAT),
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

function floatAttribute(name: string, value: number): Uint8Array {
  const f = new Uint8Array(4);
  new DataView(f.buffer).setFloat32(0, value, true);
  return concat([stringField(1, name), Uint8Array.of((2 << 3) | 5), f, intField(20, ATTRIBUTE_FLOAT)]);
}

function intAttribute(name: string, value: number): Uint8Array {
  return concat([stringField(1, name), intField(3, value), intField(20, ATTRIBUTE_INT)]);
}

function stringsAttribute(name: string, values: string[]): Uint8Array {
  return concat([stringField(1, name), ...values.map((v) => stringField(9, v)), intField(20, ATTRIBUTE_STRINGS)]);
}

export interface OnnxGatedOptions {
  readonly batch: number;
  readonly time: number;
  /** GRU: linear_before_reset = 1 (default true, as our resetAfter). */
  readonly resetAfter?: boolean;
  /** Adds graph inputs `initial_h` (and for LSTM `initial_c`), [1, batch, hidden]. */
  readonly initialState?: boolean;
  /** sequence_lens [batch]: each sequence's valid steps from the start (ONNX zeroes Y after them). */
  readonly lengths?: Int32Array;
  readonly clip?: number;
  /** ONNX activation names: the gates', the candidate's and (LSTM) the output's, e.g. ['Sigmoid', 'Tanh', 'Tanh']. */
  readonly activations?: string[];
}

/**
 * The serialized ModelProto of one forward LSTM or GRU node on these Keras weights (converted by
 * layouts.ts onnxFromKeras). Inputs X [time, batch, in] (and initial_h, initial_c); outputs Y [time, 1,
 * batch, h], Y_h [1, batch, h] and for LSTM Y_c.
 */
export function onnxGatedModel(cell: 'lstm' | 'gru', weights: RecurrentWeights, options: OnnxGatedOptions): Uint8Array {
  const { inputDim, hiddenSize: h } = weights;
  const { batch, time, resetAfter = true, initialState = false } = options;
  const g = cell === 'lstm' ? 4 : 3;
  const { W, R, B } = onnxFromKeras(cell, weights, resetAfter);
  const states = cell === 'lstm' ? ['initial_h', 'initial_c'] : ['initial_h'];
  const inputs = ['X', 'W', 'R', 'B', options.lengths ? 'sequence_lens' : '', ...(initialState ? states : [])];
  const outputs = cell === 'lstm' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const attributes = [
    intAttribute('hidden_size', h),
    ...(cell === 'gru' ? [intAttribute('linear_before_reset', resetAfter ? 1 : 0)] : []),
    ...(options.clip !== undefined ? [floatAttribute('clip', options.clip)] : []),
    ...(options.activations ? [stringsAttribute('activations', options.activations)] : []),
  ];
  const node = concat([
    ...inputs.map((name) => stringField(1, name)),
    ...outputs.map((name) => stringField(2, name)),
    stringField(4, cell === 'lstm' ? 'LSTM' : 'GRU'),
    ...attributes.map((a) => bytesField(5, a)),
  ]);
  const graph = concat([
    bytesField(1, node),
    stringField(2, cell),
    bytesField(5, tensor('W', [1, g * h, inputDim], W)),
    bytesField(5, tensor('R', [1, g * h, h], R)),
    bytesField(5, tensor('B', [1, 2 * g * h], B!)),
    ...(options.lengths ? [bytesField(5, tensor('sequence_lens', [batch], options.lengths))] : []),
    bytesField(11, valueInfo('X', [time, batch, inputDim])),
    ...(initialState ? states.map((name) => bytesField(11, valueInfo(name, [1, batch, h]))) : []),
    bytesField(12, valueInfo('Y', [time, 1, batch, h])),
    ...outputs.slice(1).map((name) => bytesField(12, valueInfo(name, [1, batch, h]))),
  ]);
  return concat([
    intField(1, IR_VERSION),
    bytesField(7, graph),
    bytesField(8, concat([stringField(1, ''), intField(2, OPSET)])),
  ]);
}
