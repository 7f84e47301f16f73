/**
 * Computed tensors → a ModelInferResponse, as Triton's server answers over gRPC: every output's elements in
 * `raw_output_contents` (little-endian, row-major; BYTES elements each a 4-byte little-endian length and then its
 * UTF-8), in the order of `outputs`, which give each output's name, datatype and shape. Triton's clients read
 * them there (`InferResult.as_numpy`).
 *
 * `inferResponse` writes it from the tensors themselves; `answerResponse` from the answer the HTTP route writes
 * (its JSON, then its binary outputs), for as long as gRPC inference goes through the route's code (infer-adapter.ts).
 * test/grpc/infer-response.test.ts holds the two equal.
 */
import { littleEndianBytes } from '../codec/binary-tensors.js';
import { OIP_BYTES, type OipAnswer, bytesElements } from '../models/inference-protocol.js';
import type { ModelInferResponse } from './messages.js';

/** An output as computed: float32 values, or the strings of a BYTES tensor (a classification). */
export interface ComputedTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | readonly string[];
}

export function inferResponse(
  modelName: string,
  modelVersion: string,
  id: string,
  tensors: readonly ComputedTensor[],
): ModelInferResponse {
  return {
    model_name: modelName,
    model_version: modelVersion,
    id,
    outputs: tensors.map(({ name, datatype, shape }) => ({ name, datatype, shape: [...shape] })),
    raw_output_contents: tensors.map(({ data }) =>
      data instanceof Float32Array ? littleEndianBytes(data) : bytesElements(data),
    ),
  };
}

interface AnsweredOutput {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: { binary_data_size?: number };
  data?: number[] | string[];
}

/**
 * The HTTP route's answer → the response: the JSON names the outputs in order, each binary output's bytes are the
 * next binary part, and an output answered as JSON `data` is written as the same float32 values (JSON's shortest
 * decimals read back to the same bits) or BYTES strings.
 */
export function answerResponse(answer: OipAnswer): ModelInferResponse {
  const text = typeof answer.json === 'string' ? answer.json : Buffer.from(answer.json).toString('utf8');
  const json = JSON.parse(text) as {
    model_name: string;
    model_version: string;
    id?: string;
    outputs: AnsweredOutput[];
  };
  let part = 0;
  const raw = json.outputs.map((output) => {
    if (output.data === undefined) return answer.binary[part++];
    return output.datatype === OIP_BYTES
      ? bytesElements(output.data as string[])
      : littleEndianBytes(Float32Array.from(output.data as number[]));
  });
  if (part !== answer.binary.length)
    throw new Error(`answerResponse: ${answer.binary.length} binary parts for ${part} binary outputs`);
  return {
    model_name: json.model_name,
    model_version: json.model_version,
    id: json.id ?? '',
    outputs: json.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    raw_output_contents: raw,
  };
}
