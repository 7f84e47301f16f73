/**
 * How a frontend wants its answers written, as plain data: the core carries it with the request to wherever the
 * pass runs (the event loop, or a worker, which then writes the answer too: writing JSON costs as much as a small
 * pass), and `encodeAnswer` writes the result in that form. Each form is its protocol's one translation back.
 */
import type { JsonAnswer } from '../codec/json-stream.js';
import type { InferenceResult } from '../inference/request.js';
import { type TensorFormat, writeForwardAnswer } from './forward-answer.js';
import { type OipAnswer, type OipAnswerSpec, writeOipAnswer } from './oip-answer.js';
import { type OipGrpcAnswer, type OipGrpcAnswerSpec, writeOipGrpcAnswer } from './oip-grpc-answer.js';

export type AnswerEncoding =
  /** Our forward routes' JSON (ForwardResponse), tensors nested or flat. */
  | { readonly kind: 'forward'; readonly format: TensorFormat }
  /** The Open Inference Protocol's JSON, with binary outputs after it. */
  | { readonly kind: 'oip'; readonly spec: OipAnswerSpec }
  /** The Open Inference Protocol over gRPC: a ModelInferResponse, every output in raw_output_contents. */
  | { readonly kind: 'oip-grpc'; readonly spec: OipGrpcAnswerSpec }
  /** The result itself (POST /rnn/weights, a body parsed on a worker: the work writes its own answer). */
  | { readonly kind: 'result' };

export type EncodedAnswer = JsonAnswer | OipAnswer | OipGrpcAnswer | InferenceResult;

/** The protocol a request came by, as the metrics label it: gRPC's encoding is its own, every other is HTTP's. */
export type Protocol = 'http' | 'grpc';

export const protocolOf = (encoding: AnswerEncoding): Protocol => (encoding.kind === 'oip-grpc' ? 'grpc' : 'http');

/** What an encoding gives. */
export type AnswerOf<E extends AnswerEncoding> = E extends { kind: 'forward' }
  ? JsonAnswer
  : E extends { kind: 'oip' }
    ? OipAnswer
    : E extends { kind: 'oip-grpc' }
      ? OipGrpcAnswer
      : InferenceResult;

export function encodeAnswer<E extends AnswerEncoding>(encoding: E, result: InferenceResult): AnswerOf<E> {
  switch (encoding.kind) {
    case 'forward':
      return writeForwardAnswer(result, encoding.format) as AnswerOf<E>;
    case 'oip':
      return writeOipAnswer(result, encoding.spec) as AnswerOf<E>;
    case 'oip-grpc':
      return writeOipGrpcAnswer(result, encoding.spec) as AnswerOf<E>;
    default:
      return result as AnswerOf<E>;
  }
}
