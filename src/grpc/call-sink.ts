/**
 * A unary ModelInfer call as the core's sink (src/core/sink.ts): the answer is the call's response, a problem its
 * status (status.ts: the code gRPC clients expect, HTTP's words, paths in gRPC's field names), the client's leaving
 * is the call's cancellation, and the exchange is over once the response or status is handed to grpc-js (it has
 * then serialised the message: what the request held is no longer needed) or the call is cancelled.
 */
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Sink } from '../core/sink.js';
import type { OipGrpcAnswer } from '../protocols/oip-grpc-answer.js';
import { CallPresence, arrivalOf, requestIdOf } from './call-context.js';
import { inGrpcTerms } from './infer-request.js';
import type { ModelInferRequest, ModelInferResponse } from './messages.js';
import { errorStatus } from './status.js';

/** Runs the releases once, when the exchange is over. */
export class Closing {
  #closed = false;
  readonly #releases: (() => void)[] = [];

  get closed(): boolean {
    return this.#closed;
  }

  add(release: () => void): void {
    if (this.#closed) release();
    else this.#releases.push(release);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const release of this.#releases.splice(0)) release();
  }
}

export class UnaryCallSink implements Sink<OipGrpcAnswer> {
  readonly #presence: CallPresence;
  readonly #closing = new Closing();
  readonly #arrived: number;
  #watching = false;

  constructor(
    private readonly call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>,
    private readonly callback: sendUnaryData<ModelInferResponse>,
    /** Where each input's elements came from, to name them in problems (infer-request.ts). */
    private readonly sources: readonly string[],
    private readonly logger: Logger,
  ) {
    this.#presence = new CallPresence(call);
    this.#arrived = arrivalOf(call);
  }

  gone(): AbortSignal {
    return this.#presence.gone();
  }

  arrived(): number {
    return this.#arrived;
  }

  onClose(release: () => void): void {
    if (!this.#watching && !this.#closing.closed) {
      this.#watching = true;
      this.#presence.onCancel(() => this.#close());
    }
    this.#closing.add(release);
  }

  answer(answer: OipGrpcAnswer): void {
    if (this.#closing.closed) return;
    try {
      this.callback(null, answer);
    } finally {
      this.#close();
    }
  }

  fail(error: unknown): void {
    if (this.#closing.closed) return;
    try {
      this.callback(errorStatus(inGrpcTerms(error, this.sources), (err) => this.#unexpected(err)));
    } finally {
      this.#close();
    }
  }

  #unexpected(err: unknown): void {
    this.logger.error({ reqId: requestIdOf(this.call), rpc: this.call.getPath(), err }, 'unexpected error');
  }

  #close(): void {
    this.#presence.settled();
    this.#closing.close();
  }
}
