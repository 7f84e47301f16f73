/**
 * A trace per HTTP request, when tracing is configured (OTEL_*, src/telemetry/): its server span, named and
 * attributed by OpenTelemetry's HTTP semantic conventions, continues the caller's W3C `traceparent`; its ids go into
 * every log line of the request (`trace_id`, `span_id`), into the `traceresponse` header of its answer, and into the
 * `traceId` of a problem+json answer. The core records the request's plan, queue wait, pass and sequence steps under
 * it (`Sink.trace`, reply-sink.ts). Health probes and /metrics are not traced: a probe every few seconds per replica
 * would bury the requests.
 *
 * Registered first, so that its hook runs before any other: a request shed or refused by a later hook is traced too.
 * With tracing off there is no hook at all, and a request pays nothing; neither the hooks (tracing-hooks.ts) nor
 * OpenTelemetry's modules are loaded.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestSpans } from '../../telemetry/request-spans.js';
import type { Tracing } from '../../telemetry/tracing.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Tracing, for a frontend to begin its requests' traces with (HTTP: tracing-hooks.ts); null: off. */
    tracing: Tracing | null;
  }
  interface FastifyRequest {
    /** The request's trace; null when tracing is off or the route is not traced. */
    trace: RequestSpans | null;
  }
}

export default fp(
  async function tracingPlugin(app: FastifyInstance, { tracing }: { tracing: Tracing | null }) {
    app.decorate('tracing', tracing);
    app.decorateRequest('trace', null);
    if (tracing === null) return;
    const { addTracingHooks } = await import('./tracing-hooks.js');
    addTracingHooks(app, tracing);
  },
  { name: 'tracing' },
);
