/**
 * A ModelInferRequest → the inference request the core takes (inference/request.ts), through the same translation
 * as HTTP's /v2 infer route (protocols/oip-request.ts `oipRequest`) from what that route receives: the body its schema
 * validates (`OipInferenceRequest`, with the same checks and messages) and the binary data after its JSON. The
 * translation is done once, here; nothing past it knows gRPC's field names.
 *
 * - `raw_input_contents`, as Triton's rule has it, holds every input's tensor (little-endian, row-major; BYTES as a
 *   4-byte little-endian length before each element) in input order, or none: each becomes the input's
 *   `parameters.binary_data_size` and its bytes follow in order, as the binary tensor data extension carries them.
 *   Raw and typed contents in one request are refused.
 * - Typed `contents` become JSON `data`: the field of the input's datatype (`fp32_contents` for FP32,
 *   `int64_contents` for INT64, ...), 64-bit integers read exactly from their decimal text (beyond 2^53 the
 *   numbers are refused by the checks that refuse them over HTTP). FP16 has no typed field: it comes raw.
 * - Parameters (`bool_param`, `int64_param`, `string_param`, `double_param`, `uint64_param`) become the JSON values
 *   HTTP reads (`sequence_id` as a number or a string, `sequence_start` and `sequence_end`, `priority`, `timeout` in
 *   µs, `classification`); a `sequence_id` past 2^53 is kept exact, as HTTP keeps its JSON digits. The binary tensor
 *   data extension's own (`binary_data_size`, `binary_data`, `binary_data_output`) mean nothing over gRPC and are
 *   dropped.
 * - The answer is a ModelInferResponse with every output in `raw_output_contents` (protocols/oip-grpc-answer.ts).
 *
 * Problems keep HTTP's words; their paths name gRPC's fields where HTTP's do not exist (`inGrpcTerms`).
 */
import { OipInferenceRequest } from '../../schemas/oip.js';
import { parseIfValid } from '../errors/parse-if-valid.js';
import { isStackOverflow, precheck, tooLargeToValidate } from '../errors/precheck.js';
import { ProblemError, invalidAt } from '../errors/problem-error.js';
import { schemaProblem, validationEntries } from '../errors/schema-problems.js';
import type { InferenceRequest } from '../inference/request.js';
import type { OipGrpcAnswerSpec } from '../protocols/oip-grpc-answer.js';
import { oipRequest } from '../protocols/oip-request.js';
import type { InferParameters, InferTensorContents, ModelInferRequest } from './messages.js';

/** The typed contents field of each datatype that has one. */
export const CONTENTS_FIELD: Readonly<Record<string, keyof InferTensorContents>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const FIELDS = Object.keys({
  bool_contents: 0,
  int_contents: 0,
  int64_contents: 0,
  uint_contents: 0,
  uint64_contents: 0,
  fp32_contents: 0,
  fp64_contents: 0,
  bytes_contents: 0,
} satisfies Record<keyof InferTensorContents, 0>) as (keyof InferTensorContents)[];

/** The binary tensor data extension's parameters, which gRPC carries in its own fields. */
const HTTP_ONLY_PARAMETERS = new Set(['binary_data_size', 'binary_data', 'binary_data_output']);

/** The request for the core, the form of its answer, and where each input's elements came from. */
export interface TranslatedInferRequest {
  readonly request: InferenceRequest;
  readonly encoding: { readonly kind: 'oip-grpc'; readonly spec: OipGrpcAnswerSpec };
  /** For each input, where its elements came from: `raw_input_contents[i]` or its contents field (`inGrpcTerms`). */
  readonly sources: readonly string[];
}

type JsonValue = string | number | boolean;

/** A 64-bit integer's decimal text → the number; past 2^53 it is refused, as INT64 values are over HTTP. */
function integerOf(text: string, path: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) invalidAt(path, `is ${text}; beyond 2^53, which this server does not read`);
  return value;
}

/** The parameter whose 64-bit integer is kept exact past 2^53 (a sequence id is a name, not a quantity). */
const EXACT_INTEGER = 'sequence_id';

/**
 * gRPC parameters → JSON ones; a parameter with no value set is left out, as are the binary extension's. `exact`
 * gets a `sequence_id`'s digits when a number cannot hold them.
 */
function parametersOf(
  parameters: InferParameters,
  path: string,
  exact?: (digits: string) => void,
): Record<string, JsonValue> | undefined {
  const out: Record<string, JsonValue> = {};
  let any = false;
  for (const [name, parameter] of Object.entries(parameters)) {
    if (HTTP_ONLY_PARAMETERS.has(name)) continue;
    const at = `${path}.${name}`;
    let value: JsonValue | undefined;
    switch (parameter.parameter_choice) {
      case 'bool_param':
        value = parameter.bool_param;
        break;
      case 'string_param':
        value = parameter.string_param;
        break;
      case 'double_param':
        value = parameter.double_param;
        break;
      case 'int64_param':
      case 'uint64_param': {
        const digits = parameter[parameter.parameter_choice] as string;
        if (
          name === EXACT_INTEGER &&
          exact !== undefined &&
          /^\d+$/.test(digits) &&
          !Number.isSafeInteger(Number(digits))
        ) {
          // The number says it is past 2^53; oipRequest then reads the digits.
          exact(digits);
          value = Number(digits);
        } else value = integerOf(digits, at);
        break;
      }
    }
    if (value === undefined) continue;
    out[name] = value;
    any = true;
  }
  return any ? out : undefined;
}

/** The fields of `contents` that hold elements. */
function givenFields(contents: InferTensorContents | null): (keyof InferTensorContents)[] {
  if (contents === null) return [];
  return FIELDS.filter((field) => contents[field].length > 0);
}

/** A typed input's elements as JSON `data`, from the field of its datatype; and that field's name. */
function typedData(
  contents: InferTensorContents | null,
  datatype: string,
  path: string,
): { data: unknown[]; field: string } {
  const given = givenFields(contents);
  if (given.length > 1)
    invalidAt(`${path}.contents`, `has ${given.join(' and ')}; a tensor's elements are in one field, its datatype's`);
  const expected = CONTENTS_FIELD[datatype];
  if (expected === undefined && (datatype === 'FP16' || datatype === 'BF16'))
    invalidAt(
      `${path}.contents`,
      `cannot hold ${datatype} elements (no field of contents does); send them in raw_input_contents`,
    );
  if (given.length === 1 && expected !== undefined && given[0] !== expected)
    invalidAt(`${path}.contents`, `has ${given[0]}; datatype ${datatype} takes ${expected}`);
  const field = given[0] ?? expected ?? 'fp32_contents';
  if (contents === null) return { data: [], field };
  switch (field) {
    case 'int64_contents':
    case 'uint64_contents':
      return { data: contents[field].map((text) => Number(text)), field };
    case 'bytes_contents':
      return { data: contents.bytes_contents.map((bytes) => Buffer.from(bytes).toString('utf8')), field };
    default:
      return { data: contents[field] as unknown[], field };
  }
}

/** The request as HTTP's schema validates it: the same checks, in the same order, with the same messages. */
function validated(body: unknown): OipInferenceRequest {
  const valid = parseIfValid(OipInferenceRequest, body);
  if (valid !== null) return valid.value;
  const rejected = precheck(OipInferenceRequest, body);
  if (rejected !== null) throw rejected;
  let parsed: ReturnType<typeof OipInferenceRequest.safeParse>;
  try {
    parsed = OipInferenceRequest.safeParse(body);
  } catch (error) {
    if (isStackOverflow(error)) throw tooLargeToValidate();
    throw error;
  }
  if (!parsed.success) throw schemaProblem(OipInferenceRequest, validationEntries(parsed.error.issues));
  return parsed.data;
}

export function translateInferRequest(message: ModelInferRequest): TranslatedInferRequest {
  const raw = message.raw_input_contents;
  const isRaw = raw.length > 0;
  if (isRaw && raw.length !== message.inputs.length)
    invalidAt(
      'raw_input_contents',
      `has ${raw.length} tensors; inputs has ${message.inputs.length}: send every input's tensor in raw_input_contents, in input order, or none`,
    );
  const sources: string[] = [];
  const inputs = message.inputs.map((input, i) => {
    const path = `inputs[${i}]`;
    const shape = input.shape.map((size, j) => integerOf(size, `${path}.shape[${j}]`));
    const parameters = parametersOf(input.parameters, `${path}.parameters`) ?? {};
    if (isRaw) {
      const given = givenFields(input.contents);
      if (given.length > 0)
        invalidAt(
          `${path}.contents`,
          `has ${given[0]} while the request has raw_input_contents; send every input raw, in input order, or none`,
        );
      sources.push(`raw_input_contents[${i}]`);
      return {
        name: input.name,
        shape,
        datatype: input.datatype,
        parameters: { ...parameters, binary_data_size: raw[i].length },
      };
    }
    const { data, field } = typedData(input.contents, input.datatype, path);
    sources.push(`${path}.contents.${field}`);
    return {
      name: input.name,
      shape,
      datatype: input.datatype,
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
      data,
    };
  });
  const outputs = message.outputs.map((output, i) => {
    const parameters = parametersOf(output.parameters, `outputs[${i}].parameters`);
    return { name: output.name, ...(parameters !== undefined ? { parameters } : {}) };
  });
  let exactSequenceId: string | null = null;
  const parameters = parametersOf(message.parameters, 'parameters', (digits) => {
    exactSequenceId = digits;
  });
  const body = {
    ...(message.id !== '' ? { id: message.id } : {}),
    ...(parameters !== undefined ? { parameters } : {}),
    inputs,
    ...(outputs.length > 0 ? { outputs } : {}),
  };
  // One raw input is the received message's own bytes (no copy); several are laid end to end, as HTTP's body has them.
  const binary = !isRaw ? null : raw.length === 1 ? raw[0] : Buffer.concat(raw);
  const version = message.model_version === '' ? undefined : message.model_version;
  try {
    const { request } = oipRequest(validated(body), binary, message.model_name, version, exactSequenceId);
    return { request, encoding: { kind: 'oip-grpc', spec: { id: message.id } }, sources };
  } catch (error) {
    throw inGrpcTerms(error, sources);
  }
}

/**
 * A problem's paths in gRPC's field names, where HTTP's name a field gRPC does not have: an input's `data` is its
 * contents field, its `parameters.binary_data_size` its entry of `raw_input_contents`. The words are HTTP's.
 */
export function inGrpcTerms(error: unknown, sources: readonly string[]): unknown {
  if (!(error instanceof ProblemError) || error.errors.length === 0) return error;
  let renamed = false;
  const rename = (path: string) =>
    path.replace(
      /^inputs\[(\d+)\](\.data(?![A-Za-z_])|\.parameters\.binary_data_size(?![A-Za-z_]))/,
      (whole, index: string) => {
        const source = sources[Number(index)];
        if (source === undefined) return whole;
        renamed = true;
        return source;
      },
    );
  const errors = error.errors.map((e) => ({ ...e, path: rename(e.path) }));
  return renamed ? ProblemError.at(error.kind, errors, error.errorCount) : error;
}
