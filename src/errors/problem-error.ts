/**
 * The one error format: RFC 9457 problem details. Anything that rejects a request throws a `ProblemError`
 * (or a Fastify error that `error-handler.ts` maps to one); nothing else writes an error body.
 */
import { MAX_REPORTED_ERRORS, type Problem, type ProblemDetail } from '../../schemas/problem.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Defined beside the Problem schema, whose description states it. */
export { MAX_REPORTED_ERRORS };

/** A value the client sent, quoted in a message or a log line, is cut to this many characters. */
export const MAX_ECHO_CHARS = 64;

/**
 * `text` cut to at most MAX_ECHO_CHARS characters (code points, so no surrogate pair is split), with `…` when
 * cut: a message quoting a key, token or header the client sent stays small whatever was sent.
 */
export function truncated(text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return text;
  let end = 0;
  for (let n = 0; n < max && end < text.length; n++) end += (text.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  return end >= text.length ? text : `${text.slice(0, end)}…`;
}

/** `text` truncated and quoted as a JSON string, for messages: `"hidden_size"`. */
export function quoted(text: string): string {
  return JSON.stringify(truncated(text));
}

/** The kinds of problem, each with its status and title; `type` is `urn:rnn-serve:problem:<kind>`. */
export const PROBLEM_KINDS = {
  'invalid-json': { status: 400, title: 'Body is not valid JSON' },
  'invalid-request': { status: 400, title: 'Invalid request' },
  'limit-exceeded': { status: 400, title: 'Request exceeds a configured limit' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  // Two steps of one sequence ran at once: one of them was computed from a state the other replaced. Retrying the
  // same step blindly would apply it twice or out of order, so it is not a 503: the client orders its steps.
  'sequence-conflict': { status: 409, title: 'Sequence step conflict' },
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
  // Triton answers a model load or unload in a mode without model control so (UNAVAILABLE).
  'model-control-disabled': { status: 503, title: 'Model control is disabled' },
  overloaded: { status: 503, title: 'Overloaded; retry later' },
  'queue-timeout': { status: 503, title: 'Timed out waiting for its turn; retry later' },
  // Server-wide capacity (SEQUENCE_MAX, or the memory budget), not a client's quota: 503 like `overloaded`.
  'too-many-sequences': { status: 503, title: 'Too many sequences in progress; retry later' },
  'sequence-store-unavailable': { status: 503, title: 'Sequence store unavailable; retry later' },
} as const;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

export class ProblemError extends Error {
  readonly kind: ProblemKind;
  /** At most MAX_REPORTED_ERRORS of them. */
  readonly errors: readonly ProblemDetail[];
  readonly headers: Readonly<Record<string, string>>;
  /** How many errors were found: `errors.length`, or more when the list was cut. */
  readonly errorCount: number;

  constructor(
    kind: ProblemKind,
    detail: string,
    errors: readonly ProblemDetail[] = [],
    headers: Record<string, string> = {},
    errorCount = errors.length,
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.kind = kind;
    this.errors = errors.length > MAX_REPORTED_ERRORS ? errors.slice(0, MAX_REPORTED_ERRORS) : errors;
    this.headers = headers;
    this.errorCount = Math.max(errorCount, errors.length);
  }

  get status(): number {
    return PROBLEM_KINDS[this.kind].status;
  }

  /**
   * A problem about the values at these paths; `detail` is the first message with its path and how many
   * more there are. `errorCount` is how many were found when that is more than `errors` (only the first
   * MAX_REPORTED_ERRORS are listed).
   */
  static at(kind: ProblemKind, errors: readonly ProblemDetail[], errorCount = errors.length): ProblemError {
    const first = errors[0];
    const total = Math.max(errorCount, errors.length);
    const listed = Math.min(errors.length, MAX_REPORTED_ERRORS);
    const more =
      total <= 1
        ? ''
        : total === listed
          ? ` (and ${total - 1} more)`
          : ` (and ${total - 1} more, ${total - listed} of them not listed)`;
    const where = first.path === '$' ? 'body' : first.path;
    return new ProblemError(kind, `${where}: ${first.message}${more}`, errors, {}, total);
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
  if (error.errorCount > error.errors.length) body.errorCount = error.errorCount;
  return body;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `['inputs', 2, 7]` → `inputs[2][7]`; `[]` → `$`. Keys that are not identifiers are quoted: `a["b c"]`. A key
 * longer than MAX_ECHO_CHARS (only a client's unknown key can be) is cut, and then quoted: `["aaaa…"]`.
 */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else {
      const key = String(segment);
      if (key.length <= MAX_ECHO_CHARS && IDENTIFIER.test(key)) path += path === '' ? key : `.${key}`;
      else path += `[${quoted(key)}]`;
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
