/**
 * OpenTelemetry tracing of requests, with the SDK's standard configuration (src/config/tracing.ts): a tracer provider
 * of our own (no global one is registered, no context manager, no auto-instrumentation: every span is made here, with
 * its parent given), its sampler, the resource this process is, a batch span processor per exporter.
 *
 * `startRequest` is how a frontend begins a request's trace, whatever its protocol: it reads the caller's W3C
 * `traceparent` and `tracestate` through a getter (HTTP headers here; gRPC metadata alike), continues that trace when
 * they are valid (a malformed `traceparent` starts a new trace, it is never refused), and lets the sampler decide:
 * the parent-based samplers follow the caller's sampled flag.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Attributes, ROOT_CONTEXT, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type Resource, defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import { SERVICE_NAME, type TracingSettings } from '../config/config.js';
import { createExporters } from './exporters.js';
import { RequestSpans, SpanClock } from './request-spans.js';

/** Reads one header (or metadata entry) of the incoming request by its lower-case name. */
export type HeaderGetter = (name: string) => string | readonly string[] | undefined;

const GETTER: TextMapGetter<HeaderGetter> = {
  get: (header, key) => header(key) as string | string[] | undefined,
  // Only the propagator's own fields are read; nothing enumerates the carrier.
  keys: () => [],
};

export interface Tracing {
  /**
   * Begins a request's trace, as its server span (kind SERVER) named `name`: a child of the caller's span when
   * `header` gives a valid `traceparent`, else the root of a new trace. `attributes` are built only when the sampler
   * records it (the built-in samplers do not read them). The frontend ends it with `finish`, and hands it to the
   * core (`Sink.trace`) when it is `recording`.
   */
  startRequest(name: string, attributes: () => Attributes, header: HeaderGetter): RequestSpans;
  /** Exports the spans ended so far; an export that fails is the exporter's to log, and this still resolves. */
  forceFlush(): Promise<void>;
  /** Exports what has ended and stops (the app's close); gives up after the export timeout. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly serviceVersion: string;
  /** Export failures and the `console` exporter's lines. */
  readonly log: Pick<Logger, 'info' | 'warn'>;
}

function sampler(settings: TracingSettings): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

/**
 * This process as a resource: the SDK's own attributes, ours (service name and version, an instance id per process,
 * the host and process id), then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, each winning over what comes
 * before (as the specification orders them).
 */
function resource(settings: TracingSettings, serviceVersion: string): Resource {
  const ours = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: SERVICE_NAME,
    [ATTR_SERVICE_VERSION]: serviceVersion,
    'service.instance.id': randomUUID(),
    'host.name': hostname(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
  });
  let merged = defaultResource()
    .merge(ours)
    .merge(resourceFromAttributes({ ...settings.resourceAttributes }));
  if (settings.serviceName !== null)
    merged = merged.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }));
  return merged;
}

export function createTracing(settings: TracingSettings, options: TracingOptions): Tracing {
  const { log, serviceVersion } = options;
  const { batch } = settings;
  const provider = new TracerProvider({
    resource: resource(settings, serviceVersion),
    sampler: sampler(settings),
    spanProcessors: createExporters(settings, log).map(
      (exporter) =>
        new BatchSpanProcessor({
          exporter,
          scheduledDelayMillis: batch.scheduledDelayMs,
          exportTimeoutMillis: batch.exportTimeoutMs,
          maxQueueSize: batch.maxQueueSize,
          maxExportBatchSize: batch.maxExportBatchSize,
        }),
    ),
  });
  const tracer: Tracer = provider.getTracer(SERVICE_NAME, serviceVersion);
  const propagator = settings.continueTraces ? new W3CTraceContextPropagator() : null;
  const clock = new SpanClock();
  let stopped: Promise<void> | null = null;
  return {
    startRequest(name, attributes, header) {
      const parent = propagator === null ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, header, GETTER);
      return new RequestSpans(tracer, clock.origin(), name, attributes, parent);
    },
    // The batch processor rejects when an export fails; ReportingExporter has logged it already.
    forceFlush: () => provider.forceFlush().catch(() => {}),
    shutdown() {
      stopped ??= new Promise<void>((resolve) => {
        // A receiver that does not answer must not hold up the process's exit beyond the export timeout.
        const timer = setTimeout(() => {
          log.warn(
            { timeoutMs: settings.otlp.timeoutMs },
            'spans not exported at shutdown: the exporter did not finish',
          );
          resolve();
        }, settings.otlp.timeoutMs);
        timer.unref();
        provider.shutdown().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (error: unknown) => {
            clearTimeout(timer);
            log.warn({ err: error }, 'spans not exported at shutdown');
            resolve();
          },
        );
      });
      return stopped;
    },
  };
}
