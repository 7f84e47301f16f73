/**
 * Problems as gRPC statuses: each problem kind has the status code gRPC clients expect for it, and the message is
 * the words HTTP's `{"error": ...}` carries on /v2 (the problem's detail: the field's path, what was wrong, the
 * limit and its variable). A 503's Retry-After goes along as trailing metadata, in seconds as over HTTP and as
 * `grpc-retry-pushback-ms`, which gRPC clients with a retry policy honour.
 */
import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { ProblemError, type ProblemKind } from '../errors/problem-error.js';

export const CODE_OF_KIND: Readonly<Record<ProblemKind, status>> = {
  'invalid-json': status.INVALID_ARGUMENT,
  'invalid-request': status.INVALID_ARGUMENT,
  'limit-exceeded': status.INVALID_ARGUMENT,
  'unsupported-media-type': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'method-not-allowed': status.UNIMPLEMENTED,
  'body-too-large': status.RESOURCE_EXHAUSTED,
  // A float32 overflow in the result (refused over both protocols alike).
  'non-finite-result': status.OUT_OF_RANGE,
  unauthorized: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  'rate-limited': status.RESOURCE_EXHAUSTED,
  'internal-error': status.INTERNAL,
  'client-closed': status.CANCELLED,
  'worker-failed': status.UNAVAILABLE,
  'not-ready': status.UNAVAILABLE,
  // Triton answers a load or unload without model control UNAVAILABLE.
  'model-control-disabled': status.UNAVAILABLE,
  overloaded: status.UNAVAILABLE,
  // The server's own queue deadline (QUEUE_TIMEOUT_MS or the request's `timeout`), not the client's: retry later.
  'queue-timeout': status.UNAVAILABLE,
  'too-many-sequences': status.UNAVAILABLE,
  'sequence-store-unavailable': status.UNAVAILABLE,
  // Two steps of one sequence raced (a replica's compare-and-set refused one): gRPC's code for a concurrency
  // conflict that the client resolves at a higher level (re-sending its steps in order), not by retrying the call.
  'sequence-conflict': status.ABORTED,
};

/** What an unexpected error (a bug) is answered with; the error itself is logged with the request id. */
export const INTERNAL_ERROR_MESSAGE =
  'the server failed to answer this request; it has been logged with the request id';

/** A problem as the status that ends its call. */
export function problemStatus(problem: ProblemError): StatusObject {
  const metadata = new Metadata();
  const retryAfter = problem.headers['retry-after'];
  if (retryAfter !== undefined) {
    metadata.set('retry-after', retryAfter);
    metadata.set('grpc-retry-pushback-ms', String(Number(retryAfter) * 1000));
  }
  return { code: CODE_OF_KIND[problem.kind], details: problem.message, metadata };
}

/**
 * Any error thrown while answering → its status: a ProblemError's own, anything else INTERNAL (and `onUnexpected`
 * is called with it, to log it).
 */
export function errorStatus(error: unknown, onUnexpected: (error: unknown) => void): StatusObject {
  if (error instanceof ProblemError) return problemStatus(error);
  onUnexpected(error);
  return { code: status.INTERNAL, details: INTERNAL_ERROR_MESSAGE, metadata: new Metadata() };
}
