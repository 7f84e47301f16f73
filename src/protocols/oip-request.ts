/**
 * The Open Inference Protocol's inference request (and, with the binary tensor data extension, the bytes after its
 * JSON) → the inference request (inference/request.ts). Each input keeps its name, datatype and shape and is placed
 * at `inputs[i]`; binary data is assigned to the inputs with `parameters.binary_data_size`, in input order, every
 * byte accounted for. `outputs` (default: every output) with `binary_data` and `classification` per output; the
 * request's parameters `binary_data_output`, `priority` and `timeout` (µs), as Triton's clients send them.
 */
import type { OipInferenceRequest } from '../../schemas/oip.js';
import { invalidAt } from '../errors/problem-error.js';
import type {
  InferenceOptions,
  InferenceRequest,
  OptionPlaces,
  RequestTensor,
  RequestedOutput,
  SequenceControl,
} from '../inference/request.js';
import type { AnswerEncoding } from './encoding.js';

type Parameters = Record<string, string | number | boolean> | undefined;

/** Where the options this protocol carries are written: the request's parameters. */
const OIP_OPTIONS_AT: OptionPlaces = {
  returnSequences: 'parameters',
  returnState: 'parameters',
  stateLayout: 'parameters',
  zeroOutputForMask: 'parameters',
  topK: 'outputs',
  vocabulary: 'parameters',
  priority: 'parameters.priority',
  timeoutMs: 'parameters.timeout',
};

/** A boolean parameter of the binary tensor data extension (absent: undefined). */
export function flag(parameters: Parameters, name: string, path: string): boolean | undefined {
  const value = parameters?.[name];
  if (value !== undefined && typeof value !== 'boolean')
    invalidAt(`${path}.parameters.${name}`, `is ${JSON.stringify(value)}; expected true or false`);
  return value;
}

/** A whole-number parameter at least `min` (absent: undefined). */
function count(parameters: Parameters, name: string, path: string, min: number, what: string): number | undefined {
  const value = parameters?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    invalidAt(path, `is ${JSON.stringify(value)}; expected ${what}`);
  return value;
}

/**
 * The inputs, each with its binary data when it has `binary_data_size`: the sizes, in input order, account for
 * every byte after the JSON.
 */
function tensorsOf(request: OipInferenceRequest, binary: Uint8Array | null): RequestTensor[] {
  let at = 0;
  const tensors = request.inputs.map((input, index): RequestTensor => {
    const path = `inputs[${index}]`;
    const place = {
      tensor: path,
      shape: `${path}.shape`,
      data: `${path}.data`,
      size: `${path}.parameters.binary_data_size`,
    };
    const base = { name: input.name, datatype: input.datatype, shape: input.shape, at: place };
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) invalidAt(path, 'has neither data nor parameters.binary_data_size');
      const flat = input.data.every((x) => typeof x === 'number');
      return {
        ...base,
        values: flat ? { kind: 'flat', value: input.data as number[] } : { kind: 'nested', value: input.data },
      };
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      invalidAt(place.size, `is ${JSON.stringify(size)}; expected a number of bytes`);
    if (input.data !== undefined)
      invalidAt(place.data, 'is given with parameters.binary_data_size; send the tensor one way or the other');
    if (binary === null)
      invalidAt(
        place.size,
        'is given, but the request has no binary data: send the JSON, then the tensors, with the ' +
          'Inference-Header-Content-Length header giving the length of the JSON',
      );
    if (at + size > binary.length)
      invalidAt(
        place.size,
        `is ${size}, but only ${binary.length - at} bytes of binary data are left after the JSON and the inputs before it`,
      );
    const bytes = binary.subarray(at, at + size);
    at += size;
    return { ...base, values: { kind: 'bytes', value: bytes } };
  });
  if (binary !== null && at !== binary.length)
    invalidAt(
      '$',
      `has ${binary.length} bytes after the JSON (Inference-Header-Content-Length), but the inputs' ` +
        `binary_data_size add up to ${at}`,
    );
  return tensors;
}

/** The outputs asked for, each with its `classification` K (checked to be a count here; against the model later). */
function outputsOf(request: OipInferenceRequest): RequestedOutput[] | 'all' {
  if (request.outputs === undefined) return 'all';
  return request.outputs.map(({ name, parameters }, i) => {
    const at = `outputs[${i}]`;
    const classesAt = `${at}.parameters.classification`;
    const k = count(parameters, 'classification', classesAt, 1, 'a count of classes, an integer of at least 1');
    return { name, classes: k === undefined ? null : { value: k, at: classesAt }, at };
  });
}

/** The schedule the request's parameters ask for: `priority` (a level, 0 = default) and `timeout` (µs). */
function scheduleOf(parameters: Parameters): InferenceOptions {
  const priority = count(
    parameters,
    'priority',
    OIP_OPTIONS_AT.priority,
    0,
    'a priority level, an integer of at least 0',
  );
  const timeout = count(parameters, 'timeout', OIP_OPTIONS_AT.timeoutMs, 0, 'a timeout in microseconds, an integer');
  // Triton reads a timeout of 0 as none given (the model's default).
  return {
    ...(priority === undefined ? {} : { priority }),
    ...(timeout === undefined || timeout === 0 ? {} : { timeoutMs: Math.max(1, Math.ceil(timeout / 1000)) }),
  };
}

/**
 * `sequence_id` (an unsigned 64-bit integer or a string; 0 and "" mean none), `sequence_start` and `sequence_end`,
 * as Triton's clients send them. `exactId`: the id's digits as the body wrote them, when JSON's number could not
 * hold them (past 2^53).
 */
function sequenceOf(parameters: Parameters, exactId: string | null): SequenceControl | null {
  const at = 'parameters.sequence_id';
  const value = parameters?.sequence_id;
  const start = flag(parameters, 'sequence_start', '$');
  const end = flag(parameters, 'sequence_end', '$');
  let id: bigint | string | null = null;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) id = value === 0 ? null : BigInt(value);
    else if (exactId !== null) id = BigInt(exactId);
    else invalidAt(at, `is ${value}; expected a sequence id, an unsigned 64-bit integer or a string`);
  } else if (typeof value === 'string') id = value === '' ? null : value;
  else if (value !== undefined)
    invalidAt(at, `is ${JSON.stringify(value)}; expected a sequence id, an unsigned 64-bit integer or a string`);
  if (id === null) {
    if (start === true || end === true)
      invalidAt(
        `$.parameters.sequence_${start === true ? 'start' : 'end'}`,
        'is true, but the request names no sequence (parameters.sequence_id is absent, 0 or ""): send sequence_id with it',
      );
    return null;
  }
  return { id, start: start ?? false, end: end ?? false, at, startAt: 'parameters.sequence_start' };
}

/** The request and the form of its answer. */
export function oipRequest(
  body: OipInferenceRequest,
  binary: Uint8Array | null,
  name: string,
  version: string | undefined,
  exactSequenceId: string | null = null,
): { request: InferenceRequest; encoding: AnswerEncoding } {
  const inputs = tensorsOf(body, binary);
  const outputs = outputsOf(body);
  const allBinary = flag(body.parameters, 'binary_data_output', '$') ?? false;
  const binaryOf =
    body.outputs === undefined ? [] : body.outputs.map((o, i) => flag(o.parameters, 'binary_data', `outputs[${i}]`));
  const request: InferenceRequest = {
    model: version === undefined ? { kind: 'served', name } : { kind: 'served', name, version },
    inputs,
    outputs,
    options: scheduleOf(body.parameters),
    optionsAt: OIP_OPTIONS_AT,
    elsewhere: null,
    sequence: sequenceOf(body.parameters, exactSequenceId),
  };
  return { request, encoding: { kind: 'oip', spec: { id: body.id, binary: binaryOf, allBinary } } };
}
