/**
 * Where finished spans go (OTEL_TRACES_EXPORTER): an OTLP/HTTP receiver, in protobuf or JSON, and/or the log (the
 * `console` exporter: one JSON line per span through the service's logger, so that stdout stays one JSON document a
 * line). Exports run in the batch span processor, off every request's path; a failure never reaches a request, and is
 * logged once, then at most once a minute with the count of the exports that failed meanwhile, and once more when
 * exporting works again.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { TracingSettings } from '../config/config.js';

type OtlpOptions = NonNullable<ConstructorParameters<typeof OtlpProtobufExporter>[0]>;
/** The exporters' CompressionAlgorithm enum, whose values are the variable's (`gzip`, `none`). */
type OtlpCompression = OtlpOptions['compression'];

/** The least time between two log lines about failed exports. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;

type Log = Pick<Logger, 'warn' | 'info'>;

/** The receiver's URL as the log shows it: without credentials a URL might carry. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return '(invalid URL)';
  }
}

/** An exporter whose failures are logged, rate-limited; otherwise it is the exporter it wraps. */
export class ReportingExporter implements SpanExporter {
  #failures = 0;
  #spansLost = 0;
  #lastLogged = Number.NEGATIVE_INFINITY;
  #failing = false;

  constructor(
    readonly inner: SpanExporter,
    readonly destination: string,
    readonly log: Log,
    readonly now: () => number = performance.now.bind(performance),
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        this.#report(result, spans.length);
        done(result);
      });
    } catch (error) {
      const result = {
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      };
      this.#report(result, spans.length);
      done(result);
    }
  }

  #report(result: ExportResult, spans: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.#failing) {
        this.log.info({ destination: this.destination }, 'spans are exported again');
        this.#failing = false;
        this.#failures = 0;
        this.#spansLost = 0;
      }
      return;
    }
    this.#failing = true;
    this.#failures += 1;
    this.#spansLost += spans;
    const now = this.now();
    if (now - this.#lastLogged < FAILURE_LOG_INTERVAL_MS) return;
    this.#lastLogged = now;
    this.log.warn(
      {
        destination: this.destination,
        err: result.error,
        failedExports: this.#failures,
        spansLost: this.#spansLost,
      },
      `spans could not be exported (requests are served as before); the next failures are logged at most once every ${FAILURE_LOG_INTERVAL_MS / 1000} s`,
    );
    this.#failures = 0;
    this.#spansLost = 0;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

const KINDS: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** OTEL_TRACES_EXPORTER=console: each span as one log line (at info), for a look without a tracing backend. */
export class LogSpanExporter implements SpanExporter {
  constructor(readonly log: Pick<Logger, 'info'>) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const context = span.spanContext();
      this.log.info(
        {
          span: {
            name: span.name,
            kind: KINDS[span.kind],
            trace_id: context.traceId,
            span_id: context.spanId,
            parent_span_id: span.parentSpanContext?.spanId,
            start: new Date(hrTimeToMilliseconds(span.startTime)).toISOString(),
            duration_ms: Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000,
            status: span.status.code === SpanStatusCode.ERROR ? 'error' : 'unset',
            ...(span.status.message ? { status_message: span.status.message } : {}),
            attributes: span.attributes,
            ...(span.links.length > 0 ? { links: span.links.map((link) => link.context.spanId) } : {}),
          },
        },
        'span',
      );
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

/** The exporters OTEL_TRACES_EXPORTER names, each reporting its failures to `log`. */
export function createExporters(settings: TracingSettings, log: Log & Pick<Logger, 'info'>): SpanExporter[] {
  return settings.exporters.map((name) => {
    if (name === 'console') return new LogSpanExporter(log);
    const { url, protocol, headers, timeoutMs, compression } = settings.otlp;
    const options: OtlpOptions = {
      url,
      headers: { ...headers },
      timeoutMillis: timeoutMs,
      compression: compression as OtlpCompression,
    };
    const otlp = protocol === 'http/json' ? new OtlpJsonExporter(options) : new OtlpProtobufExporter(options);
    return new ReportingExporter(otlp, `${shownUrl(url)} (OTLP ${protocol})`, log);
  });
}
