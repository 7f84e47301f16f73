/**
 * The Open Inference Protocol's inference response over gRPC (`ModelInferResponse` of KServe's and Triton's
 * .proto, field for field) from a result (inference/request.ts), as Triton's server writes it: every requested
 * output, in order, named with its datatype and shape in `outputs`, and its elements in `raw_output_contents` at the
 * same position (Triton's clients read them there: `InferResult.as_numpy`). The elements are the binary tensor data
 * extension's (oip-answer.ts `rawOutput`): float32 little-endian, and for a classification its top K classes as BYTES
 * strings `score:index:label`, each a 4-byte little-endian length and then its UTF-8.
 *
 * Plain data with typed arrays: it is written where the pass ran (a worker, too) and crosses back by transfer.
 */
import type { InferenceResult } from '../inference/request.js';
import { checkFinite, rawOutput } from './oip-answer.js';

/** What the gRPC frontend wants besides the result: the request's id, which its response carries. */
export interface OipGrpcAnswerSpec {
  readonly id: string;
}

/** A ModelInferResponse: model_name, model_version, id, outputs and raw_output_contents. */
export interface OipGrpcAnswer {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly outputs: { readonly name: string; readonly datatype: string; readonly shape: number[] }[];
  readonly raw_output_contents: Uint8Array[];
}

export function writeOipGrpcAnswer(result: InferenceResult, spec: OipGrpcAnswerSpec): OipGrpcAnswer {
  const { tensors, facts } = result;
  // A float32 overflow is refused as over HTTP, with the same words (the two protocols answer alike).
  checkFinite(tensors);
  const model = facts.model;
  if (model === null) throw new Error('an inference protocol answer for a model without a name');
  const outputs: OipGrpcAnswer['outputs'] = [];
  const raw: Uint8Array[] = [];
  for (const tensor of tensors) {
    const { datatype, shape, bytes } = rawOutput(tensor, facts.labels);
    outputs.push({ name: tensor.name, datatype, shape: [...shape] });
    raw.push(bytes);
  }
  return { model_name: model.name, model_version: model.version, id: spec.id, outputs, raw_output_contents: raw };
}
