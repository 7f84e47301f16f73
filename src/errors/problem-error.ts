/**
 * The one error format: RFC 9457 problem details. Anything that rejects a request throws a `ProblemError`
 * (or a Fastify error that `error-handler.ts` maps to one); nothing else writes an error body.
 */
import type { Problem, ProblemDetail } from '../../schemas/problem.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The kinds of problem, each with its status and title; `type` is `urn:rnn-serve:problem:<kind>`. */
export const PROBLEM_KINDS = {
  'invalid-json': { status: 400, title: 'Body is not valid JSON' },
  'invalid-request': { status: 400, title: 'Invalid request' },
  'limit-exceeded': { status: 400, title: 'Request exceeds a configured limit' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'non-finite-result': { status: 422, title: 'Result is not finite' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'internal-error': { status: 500, title: 'Internal server error' },
  // Never reaches the client (it has gone); it names the outcome in the access log and the metrics.
  'client-closed': { status: 499, title: 'Client closed the request' },
  'worker-failed': { status: 503, title: 'The computation failed; retry' },
  'not-ready': { status: 503, title: 'Not ready' },
  overloaded: { status: 503, title: 'Overloaded; retry later' },
} as const;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

export class ProblemError extends Error {
  readonly kind: ProblemKind;
  readonly errors: readonly ProblemDetail[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    kind: ProblemKind,
    detail: string,
    errors: readonly ProblemDetail[] = [],
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.kind = kind;
    this.errors = errors;
    this.headers = headers;
  }

  get status(): number {
    return PROBLEM_KINDS[this.kind].status;
  }

  /** A problem about the values at these paths; `detail` is the first message with its path. */
  static at(kind: ProblemKind, errors: readonly ProblemDetail[]): ProblemError {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    const where = first.path === '$' ? 'body' : first.path;
    return new ProblemError(kind, `${where}: ${first.message}${more}`, errors);
  }
}

/** Rejects a request: the value at JSON path `path` is wrong, and `message` says how (and what was expected). */
export function invalidAt(path: string, message: string): never {
  throw ProblemError.at('invalid-request', [{ path, message }]);
}

/** A configured limit exceeded: names the value at `path`, what it measures, the limit and its variable. */
export function limitExceeded(
  path: string,
  what: string,
  value: number | string,
  limit: number,
  variable: string,
): ProblemError {
  return ProblemError.at('limit-exceeded', [
    { path, message: `${what} is ${value}; the limit is ${limit} (${variable})` },
  ]);
}

export function problemBody(error: ProblemError, instance: string, requestId: string): Problem {
  const body: Problem = {
    type: `urn:rnn-serve:problem:${error.kind}`,
    title: PROBLEM_KINDS[error.kind].title,
    status: error.status,
    detail: error.message,
    instance,
    requestId,
  };
  if (error.errors.length > 0) body.errors = [...error.errors];
  return body;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['inputs', 2, 7]` → `inputs[2][7]`; `[]` → `$`. Keys that are not identifiers are quoted: `a["b c"]`. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else {
      const key = String(segment);
      if (IDENTIFIER.test(key)) path += path === '' ? key : `.${key}`;
      else path += `[${JSON.stringify(key)}]`;
    }
  }
  return path === '' ? '$' : path;
}

/**
 * Errors Node's HTTP parser raises before a request exists (a body that did not arrive within
 * REQUEST_TIMEOUT_MS, oversized headers, malformed HTTP): answered in the same problem+json format as
 * everything else, then the connection is closed, as Node itself does.
 */
export function clientErrorResponse(code: string | undefined): string {
  const [status, title, detail] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [
          408,
          'Request timeout',
          'the request did not arrive completely within the request timeout (REQUEST_TIMEOUT_MS)',
        ]
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request header fields too large', 'the request headers exceed the server limit (16 KiB)']
        : [400, 'Bad request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ type: `urn:rnn-serve:problem:client-error`, title, status, detail });
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status];
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
