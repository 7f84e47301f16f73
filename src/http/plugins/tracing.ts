/**
 * A trace per HTTP request, when tracing is configured (OTEL_*, src/telemetry/): its server span, named and
 * attributed by OpenTelemetry's HTTP semantic conventions, continues the caller's W3C `traceparent`; its ids go into
 * every log line of the request (`trace_id`, `span_id`), into the `traceresponse` header of its answer, and into the
 * `traceId` of a problem+json answer. The core records the request's plan, queue wait, pass and sequence steps under
 * it (`Sink.trace`, reply-sink.ts). Health probes and /metrics are not traced: a probe every few seconds per replica
 * would bury the requests.
 *
 * Registered first, so that its hook runs before any other: a request shed or refused by a later hook is traced too.
 * With tracing off there is no hook at all, and a request pays nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { Attributes } from '@opentelemetry/api';
import type { RequestSpans } from '../../telemetry/request-spans.js';
import { ATTR_REQUEST_ID } from '../../telemetry/names.js';
import type { Tracing } from '../../telemetry/tracing.js';
import { isMetrics, isProbe } from '../route-kinds.js';

/** The response header that gives the caller this request's trace (W3C Trace Context Level 2). */
export const TRACE_RESPONSE_HEADER = 'traceresponse';

declare module 'fastify' {
  interface FastifyInstance {
    /** Tracing, for the frontends (the gRPC frontend begins its calls' traces with it); null: off. */
    tracing: Tracing | null;
  }
  interface FastifyRequest {
    /** The request's trace; null when tracing is off or the route is not traced. */
    trace: RequestSpans | null;
  }
}

function serverAttributes(request: FastifyRequest): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: request.url.split('?')[0],
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    [ATTR_CLIENT_ADDRESS]: request.ip,
    [ATTR_REQUEST_ID]: request.id,
  };
  const route = request.routeOptions.url;
  if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route;
  const host = request.hostname;
  if (host !== '') attributes[ATTR_SERVER_ADDRESS] = host;
  const port = request.port;
  if (port !== null) attributes[ATTR_SERVER_PORT] = port;
  const agent = request.headers['user-agent'];
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = agent;
  return attributes;
}

/** The request's span ends when its response closes: sent, failed, or its client gone. */
function finish(request: FastifyRequest, reply: FastifyReply, spans: RequestSpans): void {
  const response = reply.raw;
  const problem = request.problem;
  spans.finish({
    attributes: response.headersSent ? { [ATTR_HTTP_RESPONSE_STATUS_CODE]: reply.statusCode } : {},
    problem: problem === null ? null : { kind: problem.kind, message: problem.message },
    aborted: !response.writableFinished,
  });
}

export default fp(
  async function tracingPlugin(app: FastifyInstance, { tracing }: { tracing: Tracing | null }) {
    app.decorate('tracing', tracing);
    app.decorateRequest('trace', null);
    if (tracing === null) return;
    app.addHook('onClose', () => tracing.shutdown());
    app.addHook('onRequest', (request, reply, done) => {
      if (isProbe(request) || isMetrics(request)) {
        done();
        return;
      }
      const route = request.routeOptions.url;
      const spans = tracing.startRequest(
        route === undefined ? request.method : `${request.method} ${route}`,
        serverAttributes(request),
        (name) => request.headers[name],
      );
      request.trace = spans;
      reply.header(TRACE_RESPONSE_HEADER, spans.traceresponse);
      const log = request.log.child({ trace_id: spans.traceId, span_id: spans.spanId });
      request.log = log;
      reply.log = log;
      reply.raw.once('close', () => finish(request, reply, spans));
      done();
    });
  },
  { name: 'tracing' },
);
