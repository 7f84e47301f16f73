/**
 * A frontend's end of one request, as the core sees it: where its answer goes (or its problem), whether its client
 * is still there, and when the exchange is over (so what the request holds is given back). HTTP makes one from a
 * Fastify reply (src/http/reply-sink.ts); gRPC from a call.
 */
export interface Sink<A> {
  /** A signal that aborts when the client has gone before its answer was complete (made on first use). */
  gone(): AbortSignal;
  /** Calls `release` once, when the exchange is over: answered, failed, or its client gone. */
  onClose(release: () => void): void;
  answer(answer: A): void;
  fail(error: unknown): void;
  /**
   * performance.now() when the request reached the server (before its body was read), where the frontend knows it:
   * its queue deadline counts from then. Without it, from when the core received it.
   */
  arrived?(): number;
}
