/**
 * The Open Inference Protocol (KServe v2) view of a served model: the input `input` [batch, time, inputDim],
 * optionally `lengths` [batch] and the initial states (`initial_state`, or `initial_state_0`, ... one per layer
 * and direction), and the outputs `output` (every step) and `state` (the final state; `state_0`, `state_1`, ...
 * for a stack or a bidirectional model), all FP32. An LSTM layer also has `cell_state` (`cell_state_i`, named
 * as the state it pairs with) and the optional input `initial_cell_state` (`initial_cell_state_i`). An infer request becomes the ModelForwardRequest of
 * POST /models/{name}/forward, so it runs through the same plan and runner; binary tensors (the binary tensor
 * data extension) go to the plan as typed arrays, and the answer is written here from the plan's float32 values.
 */
import type { OipInferenceRequest } from '../../schemas/oip.js';
import { OIP_DATATYPE } from '../../schemas/oip.js';
import type { ModelForwardRequest } from '../../schemas/models.js';
import { returnsBothDirections, stateLayers } from '../engine/index.js';
import { endsInSoftmax, modelOutputFeatures } from '../inference/model.js';
import { type TypedInputs, cellStateIndices } from '../inference/forward-pass.js';
import { ProblemError, invalidAt, truncated } from '../errors/problem-error.js';
import {
  BYTES_PER_ELEMENT,
  checkIntegers,
  littleEndianBytes,
  readFloats,
  readIntegers,
} from '../codec/binary-tensors.js';
import { type JsonBody, JsonWriter } from '../codec/json-writer.js';
import { classText, topClasses } from '../inference/classes.js';
import { count } from '../codec/tensors.js';
import type { RnnServedModel } from './repository.js';

export const OIP_INPUT = 'input';
export const OIP_LENGTHS = 'lengths';
export const OIP_OUTPUT = 'output';
/** The classification extension's datatype: each element a string, `score:index:label`. */
export const OIP_BYTES = 'BYTES';
export const OIP_PLATFORM = 'rnn-serve_json';
/** The binary tensor data extension: binary tensors after the JSON, whose length this header gives. */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';

export interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
}

const FLOATS = ['FP32', 'FP64', 'FP16'];
const INTEGERS = ['INT64', 'INT32'];

/** The state outputs' names: `state` for one layer and direction, else `state_i` in state order. */
export function stateNames(served: RnnServedModel): string[] {
  const count = stateLayers(served.model.spec).length;
  return count === 1 ? ['state'] : Array.from({ length: count }, (_, i) => `state_${i}`);
}

/** The optional initial-state inputs, named as the state outputs they continue from. */
export function initialStateNames(served: RnnServedModel): string[] {
  return stateNames(served).map((name) => `initial_${name}`);
}

/** The LSTM layers' cell-state outputs: `cell_state`, or `cell_state_i` for state i (its pair `state_i`). */
export function cellStateNames(served: RnnServedModel): string[] {
  const states = stateNames(served);
  return cellStateIndices(served.model).map((i) => `cell_${states[i]}`);
}

export function initialCellStateNames(served: RnnServedModel): string[] {
  return cellStateNames(served).map((name) => `initial_${name}`);
}

/** The Embedding's vocabulary size for a model that takes token ids, else null. */
const vocabularyOf = (served: RnnServedModel): number | null => served.model.embedding?.inputDim ?? null;

/** The datatypes `input` accepts: floats (rounded to float32), and for a model that takes token ids, integers. */
function inputDatatypes(served: RnnServedModel): string[] {
  return vocabularyOf(served) === null ? FLOATS : [...FLOATS, ...INTEGERS];
}

/**
 * `input` is declared FP32 (what the engine computes in; an Embedding model too, as it always was): clients
 * that build requests from the metadata send FP32. The other datatypes and the optional inputs are in
 * `parameters`, where clients that do not know them look past them.
 */
export function oipInputs(served: RnnServedModel): OipTensor[] {
  return [{ name: OIP_INPUT, datatype: OIP_DATATYPE, shape: [-1, -1, served.model.inputDim] }];
}

export function oipParameters(served: RnnServedModel): Record<string, string> {
  const { spec } = served.model;
  const layerOf = stateLayers(spec);
  const states = initialStateNames(served).map(
    (name, i) => `${name} FP32 [batch, ${spec.layers[layerOf[i]].hiddenSize}]`,
  );
  const cellIndices = cellStateIndices(served.model);
  const cells = initialCellStateNames(served).map(
    (name, j) => `${name} FP32 [batch, ${spec.layers[layerOf[cellIndices[j]]].hiddenSize}]`,
  );
  const vocabulary = vocabularyOf(served);
  return {
    input_datatypes: inputDatatypes(served).join(', '),
    ...(vocabulary === null ? {} : { input_ids: `token ids, integers in [0, ${vocabulary})` }),
    optional_inputs:
      `${OIP_LENGTHS} INT32|INT64 [batch] (valid steps per sequence; later steps are masked); ` +
      `${states.join(', ')} (the initial state${states.length > 1 ? 's, all or none, in state order' : ''})` +
      (cells.length === 0
        ? ''
        : `; ${cells.join(', ')} (the LSTM layers' initial cell state${cells.length > 1 ? 's, all or none' : ''})`),
  };
}

export function oipOutputs(served: RnnServedModel): OipTensor[] {
  const { spec } = served.model;
  const last = spec.layers.length - 1;
  // A many-to-one model answers the last step only: [batch, features].
  const steps = served.model.lastStep === true ? [-1] : [-1, -1];
  const output = returnsBothDirections(spec)
    ? [2, ...steps, spec.layers[last].hiddenSize]
    : [...steps, modelOutputFeatures(served.model)];
  const layerOf = stateLayers(spec);
  const states = stateNames(served).map((name, i) => ({
    name,
    datatype: OIP_DATATYPE,
    shape: [-1, spec.layers[layerOf[i]].hiddenSize],
  }));
  const cellIndices = cellStateIndices(served.model);
  const cells = cellStateNames(served).map((name, j) => ({
    name,
    datatype: OIP_DATATYPE,
    shape: [-1, spec.layers[layerOf[cellIndices[j]]].hiddenSize],
  }));
  return [{ name: OIP_OUTPUT, datatype: OIP_DATATYPE, shape: output }, ...states, ...cells];
}

/** Flat or nested `data` → flat numbers; a nested array must follow `shape` level by level. */
function flatData(data: unknown[], shape: number[], path: string): number[] {
  if (data.every((x) => typeof x === 'number')) return data as number[];
  const out: number[] = [];
  const walk = (node: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number')
        invalidAt(
          at,
          `is ${Array.isArray(node) ? 'an array' : typeof node}; expected a number (shape has ${shape.length} dimensions)`,
        );
      out.push(node);
      return;
    }
    if (!Array.isArray(node))
      invalidAt(at, `is a number; expected ${shape[depth]} entries (dimension ${depth} of shape)`);
    if (node.length !== shape[depth])
      invalidAt(at, `has ${node.length} entries; expected ${shape[depth]} (dimension ${depth} of shape)`);
    node.forEach((item, i) => walk(item, depth + 1, `${at}[${i}]`));
  };
  walk(data, 0, path);
  return out;
}

export interface OipOutput {
  readonly name: string;
  /** Whether it is answered as binary data after the JSON (else as JSON `data`). */
  readonly binary: boolean;
  /** The classification extension's count K: the output becomes its top K per row as BYTES; null for the values. */
  readonly classification: number | null;
}

/**
 * An output's `parameters.classification` (the classification extension): a count K of classes, for `output` of a
 * model whose last layer is softmax, at most its features. Triton ranks every element of a batch entry together;
 * here each step of a sequence is ranked on its own ([batch, time, K]), as each step is a classification.
 */
function classificationOf(served: RnnServedModel, name: string, parameters: Parameters, path: string): number | null {
  const k = parameters?.classification;
  if (k === undefined) return null;
  const at = `${path}.parameters.classification`;
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1)
    invalidAt(at, `is ${JSON.stringify(k)}; expected a count of classes, an integer of at least 1`);
  if (name !== OIP_OUTPUT)
    invalidAt(at, `applies to '${OIP_OUTPUT}', not to '${name}' (a state is not a classification)`);
  if (!endsInSoftmax(served.model))
    invalidAt(
      at,
      "applies to classifiers: the model's last layer is not softmax (its outputs are not class probabilities)",
    );
  const features = modelOutputFeatures(served.model);
  if (k > features) invalidAt(at, `is ${k}; '${OIP_OUTPUT}' has ${count(features, 'feature')} (classes)`);
  return k;
}

export interface OipPlan {
  readonly body: ModelForwardRequest;
  /** The input tensor when it came as binary data. */
  readonly typed?: TypedInputs;
  /** The outputs to answer, in order. */
  readonly outputs: OipOutput[];
  /** The ranked output's `outputs[i].parameters.classification`: where the plan's problems name its K. */
  readonly topKPath?: string;
}

export type Parameters = Record<string, string | number | boolean> | undefined;

/** A boolean parameter of the binary tensor data extension (absent: undefined). */
export function flag(parameters: Parameters, name: string, path: string): boolean | undefined {
  const value = parameters?.[name];
  if (value !== undefined && typeof value !== 'boolean')
    invalidAt(`${path}.parameters.${name}`, `is ${JSON.stringify(value)}; expected true or false`);
  return value;
}

/**
 * The names in `outputs` (default: all of the model's), each known and named once, and whether each is binary
 * (its `binary_data`, else the request's `binary_data_output`). Every copy of an output would be written into the
 * answer again: 1,000 copies of a 1,000-step `output` made a 33 MB answer from one pass, built on the event loop.
 * A list longer than the model's outputs necessarily repeats one, so this loop stops by entry `known.length` at
 * the latest and its work is bounded by the model, not by the request. Checked before the input data is walked
 * and before any compute.
 */
function requestedOutputs(served: RnnServedModel, request: OipInferenceRequest): OipOutput[] {
  const known = [OIP_OUTPUT, ...stateNames(served), ...cellStateNames(served)];
  const allBinary = flag(request.parameters, 'binary_data_output', '$') ?? false;
  if (request.outputs === undefined) return known.map((name) => ({ name, binary: allBinary, classification: null }));
  const seenAt = new Map<string, number>();
  const outputs: OipOutput[] = [];
  for (const [i, { name, parameters }] of request.outputs.entries()) {
    if (!known.includes(name))
      invalidAt(
        `outputs[${i}].name`,
        `is '${truncated(name)}'; the model's outputs are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    const first = seenAt.get(name);
    if (first !== undefined)
      invalidAt(
        `outputs[${i}].name`,
        `'${name}' is requested again (also outputs[${first}]); each output may be named once`,
      );
    seenAt.set(name, i);
    outputs.push({
      name,
      binary: flag(parameters, 'binary_data', `outputs[${i}]`) ?? allBinary,
      classification: classificationOf(served, name, parameters, `outputs[${i}]`),
    });
  }
  return outputs;
}

/** One input of the request, with the bytes of its binary data (null when it came as JSON `data`). */
export interface GivenInput {
  readonly index: number;
  readonly path: string;
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly data: unknown[] | undefined;
  readonly bytes: Uint8Array | null;
}

/**
 * Assigns the binary data after the JSON header to the inputs with `binary_data_size`, in input order, checking
 * that each input has either `data` or binary data and that the sizes account for every byte.
 */
export function givenInputs(request: OipInferenceRequest, binary: Uint8Array | null): GivenInput[] {
  let at = 0;
  const given = request.inputs.map((input, index): GivenInput => {
    const path = `inputs[${index}]`;
    const size = input.parameters?.binary_data_size;
    let bytes: Uint8Array | null = null;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        invalidAt(`${path}.parameters.binary_data_size`, `is ${JSON.stringify(size)}; expected a number of bytes`);
      if (input.data !== undefined)
        invalidAt(`${path}.data`, 'is given with parameters.binary_data_size; send the tensor one way or the other');
      if (binary === null)
        invalidAt(
          `${path}.parameters.binary_data_size`,
          'is given, but the request has no binary data: send the JSON, then the tensors, with the ' +
            'Inference-Header-Content-Length header giving the length of the JSON',
        );
      if (at + size > binary.length)
        invalidAt(
          `${path}.parameters.binary_data_size`,
          `is ${size}, but only ${binary.length - at} bytes of binary data are left after the JSON and the inputs before it`,
        );
      bytes = binary.subarray(at, at + size);
      at += size;
    } else if (input.data === undefined) invalidAt(path, 'has neither data nor parameters.binary_data_size');
    return { index, path, name: input.name, datatype: input.datatype, shape: input.shape, data: input.data, bytes };
  });
  if (binary !== null && at !== binary.length)
    invalidAt(
      '$',
      `has ${binary.length} bytes after the JSON (Inference-Header-Content-Length), but the inputs' ` +
        `binary_data_size add up to ${at}`,
    );
  return given;
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Checks a binary input's byte count against its shape and datatype. */
export function checkByteSize(input: GivenInput): void {
  if (input.bytes === null) return;
  const size = BYTES_PER_ELEMENT[input.datatype];
  const elements = product(input.shape);
  if (input.bytes.length !== elements * size)
    invalidAt(
      `${input.path}.parameters.binary_data_size`,
      `is ${input.bytes.length}; shape [${input.shape.join(', ')}] of ${input.datatype} takes ${elements * size} bytes ` +
        `(${elements} elements of ${size} bytes)`,
    );
}

export function checkDatatype(input: GivenInput, accepted: string[], what: string): void {
  if (!accepted.includes(input.datatype))
    invalidAt(
      `${input.path}.datatype`,
      `is '${truncated(input.datatype)}'; input '${truncated(input.name)}' is ${accepted[0]}${accepted.length > 1 ? ` (also accepted: ${accepted.slice(1).join(', ')})` : ''}${what}`,
    );
}

/** A JSON input's values, flat, as many as its shape holds. */
export function jsonValues(input: GivenInput): number[] {
  const values = flatData(input.data as unknown[], input.shape, `${input.path}.data`);
  if (values.length !== product(input.shape))
    invalidAt(
      `${input.path}.data`,
      `has ${values.length} elements; expected ${product(input.shape)} (the product of shape [${input.shape.join(', ')}])`,
    );
  return values;
}

/** `lengths` [batch], INT32 or INT64 → the valid steps of each sequence. */
function readLengths(input: GivenInput): number[] {
  checkDatatype(input, INTEGERS, ': the valid steps of each sequence');
  if (input.shape.length !== 1)
    invalidAt(`${input.path}.shape`, `has ${input.shape.length} dimensions; expected 1 ([batch])`);
  checkByteSize(input);
  const what = 'a number of time steps';
  if (input.bytes !== null)
    return Array.from(readIntegers(input.bytes, input.datatype, input.shape[0], 2 ** 31, `${input.path}`, what));
  const values = jsonValues(input);
  checkIntegers(values, 2 ** 31, `${input.path}.data`, what);
  return values;
}

/** An initial state [batch, hiddenSize] → its rows (its sizes are checked by the plan, against the model). */
function readState(input: GivenInput): number[][] {
  checkDatatype(input, FLOATS, '');
  if (input.shape.length !== 2)
    invalidAt(`${input.path}.shape`, `has ${input.shape.length} dimensions; expected 2 ([batch, hiddenSize])`);
  checkByteSize(input);
  const [rows, columns] = input.shape;
  const values =
    input.bytes !== null ? readFloats(input.bytes, input.datatype, rows * columns, input.path) : jsonValues(input);
  return Array.from({ length: rows }, (_, r) => Array.from(values.slice(r * columns, (r + 1) * columns)));
}

/**
 * An infer request (and the binary data after its JSON, if any) → the served model's forward request, checking
 * names, datatypes, shapes and binary sizes. Nothing here scales with the input before the plan has checked the
 * shape against the limits, except JSON data already parsed: binary input is read by `typed.read`, which the
 * plan calls after its checks.
 */
export function oipForwardRequest(
  served: RnnServedModel,
  request: OipInferenceRequest,
  binary: Uint8Array | null = null,
): OipPlan {
  const given = givenInputs(request, binary);
  const stateInputs = initialStateNames(served);
  const cellInputs = initialCellStateNames(served);
  const known = [OIP_INPUT, OIP_LENGTHS, ...stateInputs, ...cellInputs];
  const byName = new Map<string, GivenInput>();
  for (const input of given) {
    if (!known.includes(input.name))
      invalidAt(
        `${input.path}.name`,
        `is '${truncated(input.name)}'; the model's input is '${OIP_INPUT}' (optional: ${known
          .slice(1)
          .map((k) => `'${k}'`)
          .join(', ')})`,
      );
    const first = byName.get(input.name);
    if (first !== undefined)
      invalidAt(
        'inputs',
        `has ${given.length} tensors; the model takes 1, named '${OIP_INPUT}', and optionally ${known
          .slice(1)
          .map((k) => `'${k}'`)
          .join(', ')}, each once: ${input.path} is '${truncated(input.name)}' again (also ${first.path})`,
      );
    byName.set(input.name, input);
  }
  const input = byName.get(OIP_INPUT);
  if (input === undefined)
    invalidAt(
      'inputs',
      `has no tensor named '${OIP_INPUT}' (the model's input, [batch, time, ${served.model.inputDim}])`,
    );
  const vocabulary = vocabularyOf(served);
  const ids = vocabulary === null ? '' : `; token ids for INT32/INT64, in [0, ${vocabulary})`;
  checkDatatype(input, inputDatatypes(served), ids);
  if (input.shape.length !== 3)
    invalidAt(
      `${input.path}.shape`,
      `has ${input.shape.length} dimensions; expected 3 ([batch, time, ${served.model.inputDim}])`,
    );
  checkByteSize(input);
  const outputs = requestedOutputs(served, request);

  const integer = INTEGERS.includes(input.datatype);
  const idsWhat = `a token id, an integer in [0, ${vocabulary}) (the Embedding's input_dim)`;
  let inputs: ModelForwardRequest['inputs'];
  let typed: TypedInputs | undefined;
  if (input.bytes !== null) {
    const { bytes, datatype, shape, path } = input;
    const elements = product(shape);
    typed = {
      shape,
      read: () =>
        integer
          ? readIntegers(bytes, datatype, elements, vocabulary as number, path, idsWhat)
          : readFloats(bytes, datatype, elements, path),
    };
  } else {
    const data = flatData(input.data as unknown[], input.shape, `${input.path}.data`);
    // Ids are checked here, where the path names the tensor; counting them waits for the plan (flatLayout).
    if (integer && data.length === product(input.shape))
      checkIntegers(data, vocabulary as number, `${input.path}.data`, idsWhat);
    inputs = { shape: input.shape, data };
  }

  const lengths = byName.get(OIP_LENGTHS);
  const initialState = allOrNone(byName, stateInputs, 'every initial state (one per layer and direction)');
  const initialCellState = allOrNone(byName, cellInputs, "every initial cell state (one per LSTM layer's direction)");
  // A ranked `output` carries its K as topK: the binary answer has no classes, but the plan then counts
  // CLASS_ENTRY_VALUES per class entry against MAX_OUTPUT_VALUES before the pass, as /forward and ONNX models do.
  // Only `output` may be ranked, and named once: at most one is, and outputs[i] is the request's outputs[i].
  const rankedAt = outputs.findIndex(({ classification }) => classification !== null);
  const ranked = rankedAt < 0 ? null : outputs[rankedAt].classification;
  return {
    body: {
      ...(inputs !== undefined ? { inputs } : {}),
      ...(lengths !== undefined ? { lengths: readLengths(lengths) } : {}),
      ...(initialState !== undefined ? { initialState } : {}),
      ...(initialCellState !== undefined ? { initialCellState } : {}),
      returnSequences: served.model.lastStep !== true,
      returnState: outputs.some(({ name }) => name !== OIP_OUTPUT),
      outputFormat: 'flat',
      ...(ranked !== null ? { topK: ranked } : {}),
    },
    ...(typed !== undefined ? { typed } : {}),
    outputs,
    ...(rankedAt < 0 ? {} : { topKPath: `outputs[${rankedAt}].parameters.classification` }),
  };
}

/** The initial states named `names`, all given or none: one matrix for one name, else a list; undefined for none. */
function allOrNone(
  byName: ReadonlyMap<string, GivenInput>,
  names: readonly string[],
  what: string,
): number[][] | number[][][] | undefined {
  const states = names.map((name) => byName.get(name));
  const given = states.filter((s) => s !== undefined);
  if (given.length > 0 && given.length < states.length)
    invalidAt(
      'inputs',
      `has ${given.map((s) => `'${s.name}'`).join(', ')} but not ${names
        .filter((_, i) => states[i] === undefined)
        .map((n) => `'${n}'`)
        .join(', ')}: send ${what} or none`,
    );
  if (given.length === 0) return undefined;
  return given.length === 1 ? readState(given[0]) : given.map(readState);
}

/** An answer: the JSON (alone, or the header before `binary`), and the binary outputs' bytes in order. */
export interface OipAnswer {
  readonly json: JsonBody;
  readonly binary: Uint8Array[];
}

/**
 * The plan's float32 values (`values`: `output`, then every state when any was requested) → the protocol's
 * response, the requested outputs in order: JSON `data` written straight from the float32 values (their
 * shortest decimals, as every JSON answer of this server), binary outputs as `binary_data_size` and their bytes.
 */
export function oipAnswer(
  served: RnnServedModel,
  request: OipInferenceRequest,
  plan: OipPlan,
  values: Float32Array,
  batch: number,
  time: number,
): OipAnswer {
  const shapes = oipOutputs(served).map(({ shape }) => {
    const sized = [...shape];
    const at = shape.indexOf(-1);
    sized.splice(at, shape.lastIndexOf(-1) === at ? 1 : 2, ...(shape.lastIndexOf(-1) === at ? [batch] : [batch, time]));
    return sized;
  });
  const names = [OIP_OUTPUT, ...stateNames(served), ...cellStateNames(served)];
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let at = 0;
  for (const [i, name] of names.entries()) {
    if (i > 0 && !plan.body.returnState) break;
    const length = product(shapes[i]);
    tensors.set(name, { shape: shapes[i], data: values.subarray(at, at + length) });
    at += length;
  }
  if (at !== values.length) throw new Error(`oipAnswer: ${values.length} values for outputs of ${at}`);
  return writeOipAnswer(served, request, plan.outputs, tensors);
}

/**
 * The protocol's response from the computed tensors: the requested outputs in order, JSON `data` written straight
 * from the float32 values, binary outputs as `binary_data_size` and their bytes.
 */
export function writeOipAnswer(
  served: { readonly name: string; readonly version: string; readonly labels?: readonly string[] | null },
  request: OipInferenceRequest,
  outputs: readonly OipOutput[],
  tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>,
): OipAnswer {
  const values = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  const writer = new JsonWriter(64 + values * 12);
  writer.raw(`{"model_name":${JSON.stringify(served.name)},"model_version":${JSON.stringify(served.version)}`);
  if (request.id !== undefined) writer.raw(`,"id":${JSON.stringify(request.id)}`);
  writer.raw(',"outputs":[');
  const binary: Uint8Array[] = [];
  for (const [i, { name, binary: asBinary, classification }] of outputs.entries()) {
    const { shape, data } = tensors.get(name) as { shape: number[]; data: Float32Array };
    if (classification !== null) {
      const classes = classificationTensor(served, shape, data, classification);
      writer
        .raw(`${i > 0 ? ',' : ''}{"name":${JSON.stringify(name)},"datatype":"${OIP_BYTES}","shape":`)
        .ints(classes.shape);
      if (asBinary) {
        const bytes = bytesElements(classes.strings);
        writer.raw(',"parameters":{"binary_data_size":').int(bytes.byteLength).raw('}}');
        binary.push(bytes);
      } else writer.raw(`,"data":${JSON.stringify(classes.strings)}}`);
      continue;
    }
    writer.raw(`${i > 0 ? ',' : ''}{"name":${JSON.stringify(name)},"datatype":"${OIP_DATATYPE}","shape":`).ints(shape);
    if (asBinary) {
      writer.raw(',"parameters":{"binary_data_size":').int(data.byteLength).raw('}}');
      binary.push(littleEndianBytes(data));
    } else {
      writer.raw(',"data":').floats(data).raw('}');
    }
  }
  writer.raw(']}');
  return { json: binary.length > 0 ? writer.bytes() : writer.body(), binary };
}

/** The top K classes of each row of `output` [..., features] → [..., K] strings `score:index:label`. */
function classificationTensor(
  served: { readonly labels?: readonly string[] | null },
  shape: number[],
  data: Float32Array,
  k: number,
): { shape: number[]; strings: string[] } {
  const features = shape[shape.length - 1];
  const top = topClasses(data, data.length / features, features, k);
  const labels = served.labels ?? null;
  const strings = Array.from({ length: top.rows * k }, (_, at) => classText(top, at, labels));
  return { shape: [...shape.slice(0, -1), k], strings };
}

/** BYTES elements as the binary tensor data extension sends them: each a 4-byte little-endian length, then its UTF-8. */
export function bytesElements(strings: readonly string[]): Uint8Array {
  const encoded = strings.map((text) => Buffer.from(text, 'utf8'));
  const out = new Uint8Array(encoded.reduce((n, bytes) => n + 4 + bytes.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const bytes of encoded) {
    view.setUint32(at, bytes.length, true);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return out;
}

/**
 * Problems found by the /models path name `inputs.shape`/`inputs.data`, `lengths` and `initialState`; in the
 * protocol's body those are the tensor `input` (at `inputIndex`), and the inputs `lengths` and `initial_state`.
 */
export function inProtocolTerms(error: unknown, inputIndex = 0): unknown {
  if (!(error instanceof ProblemError)) return error;
  const rename = (path: string) =>
    path.replace(/^inputs\.(shape|data)/, `inputs[${inputIndex}].$1`).replace(/^initialState/, 'initial_state');
  return ProblemError.at(
    error.kind,
    error.errors.length > 0
      ? error.errors.map((e) => ({ ...e, path: rename(e.path) }))
      : [{ path: '$', message: error.message }],
    error.errorCount,
  );
}
