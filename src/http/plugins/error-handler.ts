/**
 * One error handler for the whole app: every error leaves as `application/problem+json`. Schema errors
 * (zod) name each offending JSON path; Fastify's transport errors (bad JSON, media type, body size) keep
 * their 4xx status with a message that says what the limit is; anything unexpected is logged in full and
 * answered with a 500 that shows nothing internal. Unknown routes are 404 and known routes with another
 * method 405 with `Allow`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody, truncated } from '../../errors/problem-error.js';
import { type ValidationEntry, schemaProblem } from '../../errors/schema-problems.js';

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Fastify's own 4xx errors, with messages that say what to send instead. */
function transportProblem(error: FastifyError, request: FastifyRequest, bodyLimit: number): ProblemError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError(
        'body-too-large',
        `the request body is larger than the limit of ${bodyLimit} bytes (BODY_LIMIT_BYTES)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'];
      return new ProblemError(
        'unsupported-media-type',
        `${type === undefined ? 'a request without Content-Type' : `Content-Type '${truncated(type)}'`} is not supported; send application/json`,
      );
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ProblemError.at('invalid-json', [{ path: '$', message: 'is empty; expected a JSON object' }]);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ProblemError('invalid-request', 'the Content-Length header does not match the body received');
  }
  if (error instanceof SyntaxError) {
    // JSON.parse's message names the position; secure-json-parse's names the forbidden key.
    return ProblemError.at('invalid-json', [{ path: '$', message: error.message }]);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ProblemError('invalid-request', error.message);
  return null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The problem this request was answered with, for the access log line. */
    problem: ProblemError | null;
  }
}

/**
 * Whether a request gets the Open Inference Protocol's error body, `{"error": "..."}`: its routes (marked
 * `config.oip`), and /v2, /v2/models/... and /v2/repository/... paths without a route. Its health probes keep
 * problem+json, as they always had.
 */
function wantsOipError(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0];
  return (
    request.routeOptions.config?.oip === true ||
    path === '/v2' ||
    path.startsWith('/v2/models/') ||
    path.startsWith('/v2/repository/')
  );
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError): FastifyReply {
  request.problem = problem;
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  if (wantsOipError(request))
    return reply.code(problem.status).type('application/json; charset=utf-8').send({ error: problem.message });
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem, request.url.split('?')[0], request.id));
}

/** A route's URL pattern as a regular expression over paths: `:name` is one segment, `*` the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}

export default fp(
  async function problems(app: FastifyInstance, options: { bodyLimit: number }) {
    app.decorateRequest('problem', null);
    // Every route, to answer 405 (not 404) for a path that matches one, parametric routes included
    // (app.hasRoute compares the pattern itself: /models/:name, not /models/hello).
    const routes: { methods: string[]; pattern: RegExp }[] = [];
    app.addHook('onRoute', (route) => {
      routes.push({ methods: [route.method].flat().map(String), pattern: patternOf(route.url) });
    });
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let problem: ProblemError | null;
      if (error instanceof ProblemError) problem = error;
      else if (hasZodFastifySchemaValidationErrors(error)) {
        problem = schemaProblem(
          (request.routeOptions.schema as { body?: unknown } | undefined)?.body,
          error.validation as ValidationEntry[],
        );
      } else problem = transportProblem(error, request, options.bodyLimit);

      if (problem === null) {
        request.log.error({ err: error }, 'unhandled error');
        problem = new ProblemError(
          'internal-error',
          'the server failed to answer this request; it has been logged with the request id',
        );
      }
      return sendProblem(request, reply, problem);
    });

    app.setNotFoundHandler((request, reply) => {
      const url = request.url.split('?')[0];
      // The path is echoed in the detail (and the log line): cut, as any value a client sent.
      const shown = truncated(url);
      const allowed = METHODS.filter((method) =>
        routes.some((route) => route.methods.includes(method) && route.pattern.test(url)),
      );
      if (allowed.length > 0) {
        return sendProblem(
          request,
          reply,
          new ProblemError(
            'method-not-allowed',
            `${request.method} is not allowed on ${shown}; use ${allowed.join(', ')}`,
            [],
            {
              allow: allowed.join(', '),
            },
          ),
        );
      }
      return sendProblem(request, reply, new ProblemError('not-found', `there is no route ${request.method} ${shown}`));
    });
  },
  { name: 'problems' },
);
