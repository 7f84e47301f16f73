/**
 * The Open Inference Protocol's inference response from a result (inference/request.ts): the requested outputs in
 * order, JSON `data` written straight from the float32 values (their shortest decimals, as every JSON answer of
 * this server), binary outputs (the binary tensor data extension) as `binary_data_size` and their bytes after the
 * JSON; a ranked output (the classification extension) as BYTES strings `score:index:label`.
 */
import { littleEndianBytes } from '../codec/binary-tensors.js';
import { type JsonBody, JsonWriter } from '../codec/json-writer.js';
import { ProblemError } from '../errors/problem-error.js';
import { classText, topClasses } from '../inference/classes.js';
import type { InferenceResult, ResultTensor } from '../inference/request.js';

export const OIP_FP32 = 'FP32';
/** The classification extension's datatype: each element a string, `score:index:label`. */
export const OIP_BYTES = 'BYTES';

/** An answer: the JSON (alone, or the header before `binary`), and the binary outputs' bytes in order. */
export interface OipAnswer {
  readonly json: JsonBody;
  readonly binary: Uint8Array[];
}

/**
 * How the frontend wants the answer: the request's id, and which outputs go as binary data: each requested
 * output's own `binary_data` (by position), else the request's `binary_data_output`.
 */
export interface OipAnswerSpec {
  readonly id: string | undefined;
  readonly binary: readonly (boolean | undefined)[];
  readonly allBinary: boolean;
}

/** The top K classes of each row of `tensor` [..., features] → [..., K] strings `score:index:label`. */
export function classificationTensor(
  tensor: ResultTensor,
  k: number,
  labels: readonly string[] | null,
): { shape: number[]; strings: string[] } {
  const { shape, data } = tensor;
  const features = shape[shape.length - 1];
  const top = topClasses(data, data.length / features, features, k);
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
 * An output as raw bytes, as the binary tensor data extension and gRPC's `raw_output_contents` carry it: float32
 * values little-endian, or for a classification its top K classes as BYTES strings `score:index:label`.
 */
export function rawOutput(
  tensor: ResultTensor,
  labels: readonly string[] | null,
): { datatype: string; shape: readonly number[]; bytes: Uint8Array } {
  if (tensor.classes === null)
    return { datatype: OIP_FP32, shape: tensor.shape, bytes: littleEndianBytes(tensor.data) };
  const ranked = classificationTensor(tensor, tensor.classes, labels);
  return { datatype: OIP_BYTES, shape: ranked.shape, bytes: bytesElements(ranked.strings) };
}

/** Refuses a value JSON cannot carry (and, for our clients' sake, binary data and gRPC alike): 422 naming the output. */
export function checkFinite(tensors: readonly ResultTensor[]): void {
  for (const { name, data } of tensors) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]))
        throw ProblemError.at('non-finite-result', [
          { path: 'outputs', message: `output '${name}' has ${data[i]} at element ${i}; JSON cannot carry it` },
        ]);
    }
  }
}

export function writeOipAnswer(result: InferenceResult, spec: OipAnswerSpec): OipAnswer {
  const { tensors, facts } = result;
  checkFinite(tensors);
  const model = facts.model;
  if (model === null) throw new Error('an inference protocol answer for a model without a name');
  const values = tensors.reduce((n, t) => n + t.data.length, 0);
  const writer = new JsonWriter(64 + values * 12);
  writer.raw(`{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}`);
  if (spec.id !== undefined) writer.raw(`,"id":${JSON.stringify(spec.id)}`);
  writer.raw(',"outputs":[');
  const binary: Uint8Array[] = [];
  for (const [i, tensor] of tensors.entries()) {
    const { name, shape, data, classes } = tensor;
    const open = `${i > 0 ? ',' : ''}{"name":${JSON.stringify(name)},"datatype":`;
    if (spec.binary[i] ?? spec.allBinary) {
      const raw = rawOutput(tensor, facts.labels);
      writer.raw(`${open}"${raw.datatype}","shape":`).ints(raw.shape);
      writer.raw(',"parameters":{"binary_data_size":').int(raw.bytes.byteLength).raw('}}');
      binary.push(raw.bytes);
    } else if (classes !== null) {
      const ranked = classificationTensor(tensor, classes, facts.labels);
      writer.raw(`${open}"${OIP_BYTES}","shape":`).ints(ranked.shape);
      writer.raw(`,"data":${JSON.stringify(ranked.strings)}}`);
    } else {
      writer.raw(`${open}"${OIP_FP32}","shape":`).ints(shape);
      writer.raw(',"data":').floats(data).raw('}');
    }
  }
  writer.raw(']}');
  return { json: binary.length > 0 ? writer.bytes() : writer.body(), binary };
}
