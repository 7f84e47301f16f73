/**
 * The hooks that trace HTTP requests (plugins/tracing.ts registers them when tracing is configured; with it off this
 * module and OpenTelemetry's are never loaded): a request's server span begins in onRequest and ends when its
 * response closes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
import type { Logger } from 'pino';
import type { RequestSpans } from '../../telemetry/request-spans.js';
import { ATTR_REQUEST_ID } from '../../telemetry/names.js';
import type { Tracing } from '../../telemetry/tracing.js';
import { isMetrics, isProbe } from '../route-kinds.js';

/** The response header that gives the caller this request's trace (W3C Trace Context Level 2). */
export const TRACE_RESPONSE_HEADER = 'traceresponse';

function serverAttributes(request: FastifyRequest, route: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: request.url.split('?')[0],
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    [ATTR_CLIENT_ADDRESS]: request.ip,
    [ATTR_REQUEST_ID]: request.id,
  };
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

export function addTracingHooks(app: FastifyInstance, tracing: Tracing): void {
  app.addHook('onClose', () => tracing.shutdown());
  app.addHook('onRequest', (request, reply, done) => {
    if (isProbe(request) || isMetrics(request)) {
      done();
      return;
    }
    const route = request.routeOptions.url;
    const spans = tracing.startRequest(
      route === undefined ? request.method : `${request.method} ${route}`,
      () => serverAttributes(request, route),
      (name) => request.headers[name],
    );
    request.trace = spans;
    reply.header(TRACE_RESPONSE_HEADER, spans.traceresponse);
    // The request's own logger (Fastify makes one per request, reply.log too; a pino child, as app.ts's logger is
    // pino): its lines name the trace.
    (request.log as Logger).setBindings({ trace_id: spans.traceId, span_id: spans.spanId });
    // An unsampled request records nothing: its trace has nothing to end.
    if (spans.recording) reply.raw.once('close', () => finish(request, reply, spans));
    done();
  });
}
