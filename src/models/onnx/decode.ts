/**
 * An ONNX file (`model.onnx`, protobuf) → the graph the interpreter runs: nodes with their attributes read into
 * plain values, initializers as tensors, and the graph's inputs and outputs with their element types and shapes
 * (-1 for a dynamic axis). The protobuf is decoded by onnx-proto (the ONNX schema as protobufjs static code);
 * this file only reads what it decoded, checking every size before an array is made: the file itself is bounded
 * by MAX_MODEL_FILE_BYTES, each initializer's declared dims must agree with the bytes it carries, and all of them
 * together stay within MAX_WEIGHT_BYTES.
 *
 * Refused here, each with one line: external data, sparse initializers, model-local functions, operators of other
 * domains, element types other than FLOAT/INT64/INT32, and default-domain opsets outside SUPPORTED_OPSETS
 * (the operators' definitions below were checked against opsets 13 to 21; older opsets define Softmax, Squeeze,
 * Unsqueeze and Slice differently).
 */
import onnxProto from 'onnx-proto';
import { formatBytes } from '../repository-files.js';
import { MAX_WEIGHT_BYTES } from '../tfjs-import.js';
import { type ElementType, type Tensor, formatShape } from './tensor.js';

const { onnx } = onnxProto;

export const SUPPORTED_OPSETS = { min: 13, max: 21 } as const;

/** A problem with the file; the repository prefixes the file's path. */
export class OnnxModelError extends Error {}

export function fail(problem: string): never {
  throw new OnnxModelError(problem);
}

/** ONNX TensorProto.DataType values this server reads, with the Open Inference Protocol's names. */
export const ONNX_TYPES: Readonly<Record<number, { type: ElementType; datatype: string; bytes: number }>> = {
  1: { type: 'float', datatype: 'FP32', bytes: 4 },
  6: { type: 'int', datatype: 'INT32', bytes: 4 },
  7: { type: 'int', datatype: 'INT64', bytes: 8 },
};

/** ONNX's names of the other data types, for messages. */
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
};

export const typeName = (code: number): string => ONNX_TYPES[code]?.datatype ?? TYPE_NAMES[code] ?? `type ${code}`;

/** The largest dimension read: Float32Array lengths stay far below it. */
const MAX_DIMENSION = 2 ** 31 - 1;

export type Attribute =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  /** Input names; '' for an optional input left out. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, Attribute>;
}

export interface ValueInfo {
  readonly name: string;
  /** ONNX's TensorProto.DataType code (1 FLOAT, 6 INT32, 7 INT64). */
  readonly elemType: number;
  /** -1 for a dynamic axis (a dim_param or no value). */
  readonly shape: readonly number[];
}

export interface OnnxGraph {
  readonly opset: number;
  readonly producer: string;
  /** The graph's inputs that are not initializers: what a request sends. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  readonly nodes: readonly OnnxNode[];
}

type Int64 = number | { toNumber(): number };
const toNumber = (value: Int64 | null | undefined): number =>
  value == null ? 0 : typeof value === 'number' ? value : value.toNumber();

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A TensorProto (an initializer or a Constant's value) → a tensor, its size checked before the array is made. */
export function readTensor(proto: onnxProto.onnx.ITensorProto, what: string, budget: { bytes: number }): Tensor {
  const dims = (proto.dims ?? []).map(toNumber);
  for (const d of dims)
    if (!Number.isSafeInteger(d) || d < 0 || d > MAX_DIMENSION)
      fail(`${what}: dims ${formatShape(dims)} has a dimension outside [0, ${MAX_DIMENSION}]`);
  if (proto.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (proto.externalData ?? []).length > 0)
    fail(`${what}: keeps its data in an external file; rnn-serve reads only data inside model.onnx`);
  const code = proto.dataType ?? 0;
  const known = ONNX_TYPES[code];
  if (known === undefined) fail(`${what}: data type ${typeName(code)}; rnn-serve reads FLOAT, INT64 and INT32`);
  const count = dims.reduce((a, b) => a * b, 1);
  const bytes = count * known.bytes;
  budget.bytes += count * 4;
  if (budget.bytes > MAX_WEIGHT_BYTES)
    fail(
      `${what}: the tensors so far take ${formatBytes(budget.bytes)}; the limit is ${formatBytes(MAX_WEIGHT_BYTES)} (MAX_WEIGHT_BYTES)`,
    );
  const raw = proto.rawData;
  const listed = code === 1 ? proto.floatData : code === 6 ? proto.int32Data : proto.int64Data;
  if (raw != null && raw.length > 0) {
    if (raw.length !== bytes)
      fail(
        `${what}: has ${raw.length} bytes of raw_data; dims ${formatShape(dims)} of ${known.datatype} take ${bytes}`,
      );
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (code === 1) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return { type: 'float', shape: dims, data: out };
    }
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++)
      out[i] = code === 6 ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true));
    return { type: 'int', shape: dims, data: out };
  }
  const values = (listed ?? []) as Int64[];
  if (values.length !== count) fail(`${what}: has ${values.length} values; dims ${formatShape(dims)} hold ${count}`);
  if (known.type === 'float') return { type: 'float', shape: dims, data: Float32Array.from(values as number[]) };
  return { type: 'int', shape: dims, data: Float64Array.from(values, toNumber) };
}

function readAttribute(proto: onnxProto.onnx.IAttributeProto, what: string, budget: { bytes: number }): Attribute {
  const T = onnx.AttributeProto.AttributeType;
  if (proto.refAttrName) fail(`${what}: refers to a function's attribute; rnn-serve reads plain graphs only`);
  switch (proto.type) {
    case T.FLOAT:
      return { kind: 'float', value: proto.f ?? 0 };
    case T.INT:
      return { kind: 'int', value: toNumber(proto.i) };
    case T.STRING:
      return { kind: 'string', value: text(proto.s ?? new Uint8Array()) };
    case T.TENSOR:
      return { kind: 'tensor', value: readTensor(proto.t ?? {}, what, budget) };
    case T.FLOATS:
      return { kind: 'floats', value: [...(proto.floats ?? [])] };
    case T.INTS:
      return { kind: 'ints', value: (proto.ints ?? []).map(toNumber) };
    case T.STRINGS:
      return { kind: 'strings', value: (proto.strings ?? []).map(text) };
    default:
      return fail(`${what}: is of attribute type ${proto.type ?? 'UNDEFINED'}, which rnn-serve does not read`);
  }
}

function readValueInfo(proto: onnxProto.onnx.IValueInfoProto, what: string): ValueInfo {
  const name = proto.name ?? '';
  const tensor = proto.type?.tensorType;
  if (tensor == null) fail(`${what} '${name}': is not a tensor (sequences and maps are not served)`);
  const elemType = tensor.elemType ?? 0;
  if (tensor.shape == null) fail(`${what} '${name}': has no shape; rnn-serve needs at least its rank`);
  const shape = (tensor.shape.dim ?? []).map((d) => (d.dimValue != null ? toNumber(d.dimValue) : -1));
  return { name, elemType, shape };
}

/** Decodes and reads `bytes`; every problem throws an OnnxModelError with one line. */
export function decodeOnnx(bytes: Uint8Array): OnnxGraph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    return fail(`is not an ONNX model (protobuf: ${(error as Error).message})`);
  }
  const graph = model.graph;
  if (graph == null || (graph.node ?? []).length === 0) return fail('is not an ONNX model (no graph, or no nodes)');
  let opset: number | null = null;
  for (const set of model.opsetImport ?? []) {
    if ((set.domain ?? '') === '' || set.domain === 'ai.onnx') opset = toNumber(set.version);
  }
  if (opset === null) return fail('imports no default-domain opset');
  if (opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max)
    fail(
      `uses opset ${opset}; rnn-serve reads opsets ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max} (export with opset_version=14)`,
    );
  if ((model.functions ?? []).length > 0) fail('defines functions; rnn-serve reads plain graphs only');
  if ((graph.sparseInitializer ?? []).length > 0) fail('has sparse initializers, which rnn-serve does not read');

  const budget = { bytes: 0 };
  const initializers = new Map<string, Tensor>();
  for (const proto of graph.initializer ?? []) {
    const name = proto.name ?? '';
    initializers.set(name, readTensor(proto, `initializer '${name}'`, budget));
  }
  const nodes = (graph.node ?? []).map((proto, index): OnnxNode => {
    const name = proto.name || `#${index}`;
    const opType = proto.opType ?? '';
    const what = `node '${name}' (${opType})`;
    if (proto.domain && proto.domain !== 'ai.onnx')
      fail(`${what}: is from operator domain '${proto.domain}'; rnn-serve runs the default ONNX domain only`);
    const attributes = new Map<string, Attribute>();
    for (const a of proto.attribute ?? []) {
      const attribute = a.name ?? '';
      attributes.set(attribute, readAttribute(a, `${what}: attribute '${attribute}'`, budget));
    }
    return { name, opType, inputs: [...(proto.input ?? [])], outputs: [...(proto.output ?? [])], attributes };
  });
  const inputs = (graph.input ?? [])
    .filter((input) => !initializers.has(input.name ?? ''))
    .map((input) => readValueInfo(input, 'input'));
  const outputs = (graph.output ?? []).map((output) => readValueInfo(output, 'output'));
  return {
    opset,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    inputs,
    outputs,
    initializers,
    nodes,
  };
}
