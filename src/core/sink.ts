/**
 * A frontend's end of one request, as the core sees it: where its answer goes (or its problem), whether its client
 * is still there, and when the exchange is over (so what the request holds is given back). HTTP makes one from a
 * Fastify reply (src/http/reply-sink.ts); gRPC from a call.
 */
import type { RequestTrace } from './trace.js';

export interface Sink<A> {
  /** A signal that aborts when the client has gone before its answer was complete (made on first use). */
  gone(): AbortSignal;
  /** Calls `release` once, when the exchange is over: answered, failed, or its client gone. */
  onClose(release: () => void): void;
  answer(answer: A): void;
  fail(error: unknown): void;
  /** The request's trace, when tracing is on and it is sampled (trace.ts); the core records its steps there. */
  readonly trace?: RequestTrace | null;
  /**
   * performance.now() when the request reached the server (before its body was read), where the frontend knows it:
   * its queue deadline counts from then. Without it, from when the core received it.
   */
  arrived?(): number;
}

/**
 * Hands an answer to its sink. The core answers in setImmediate and worker callbacks, where a throw would be
 * uncaught: a sink that throws gets its error instead, and if that throws too, the answer is dropped (the sink's own
 * logging is the last word), so that one request can never stop the others or the process.
 */
export function answerSafely<A>(sink: Sink<A>, answer: A): void {
  try {
    sink.answer(answer);
  } catch (error) {
    failSafely(sink, error);
  }
}

export function failSafely<A>(sink: Sink<A>, error: unknown): void {
  try {
    sink.fail(error);
  } catch {
    // Nothing more can be done for this request.
  }
}
