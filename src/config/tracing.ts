/**
 * The OpenTelemetry SDK's standard environment variables (OTEL_*) that configure tracing, with their schemas and
 * descriptions: the "Tracing" section of docs/configuration.md (sections.ts lists it with the others). Their names,
 * values and defaults are the specification's, with one difference: tracing is off unless configured (an exporter
 * named in OTEL_TRACES_EXPORTER, or an OTLP endpoint given), where the SDK would export to localhost:4318 by default.
 * What the service cannot do is refused at start-up, never ignored: the gRPC transport of OTLP, samplers and
 * propagators other than the specification's built-in ones.
 */
import { z } from 'zod';

/** The variables whose values are secrets (OTLP headers carry API keys): named in errors, never echoed. */
export const TRACING_SECRETS = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'];

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Tracing as configured; `Config.tracing` is null when it is off. */
export interface TracingSettings {
  /** Where finished spans go: an OTLP/HTTP receiver, the console (stdout), or both. Never empty. */
  readonly exporters: readonly ('otlp' | 'console')[];
  readonly otlp: {
    /** The full URL spans are posted to (…/v1/traces). */
    readonly url: string;
    readonly protocol: OtlpProtocol;
    /** Extra request headers (an API key for a hosted backend). A secret. */
    readonly headers: Readonly<Record<string, string>>;
    readonly timeoutMs: number;
    readonly compression: 'gzip' | 'none';
  };
  /** service.name; null: OTEL_RESOURCE_ATTRIBUTES' service.name, else rnn-serve. */
  readonly serviceName: string | null;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: SamplerName;
  /** The ratio of the traceidratio samplers, 0 to 1. */
  readonly samplerRatio: number;
  /** Whether an incoming W3C `traceparent` is continued (OTEL_PROPAGATORS has `tracecontext`). */
  readonly continueTraces: boolean;
  /** The batch span processor (OTEL_BSP_*). */
  readonly batch: {
    readonly scheduledDelayMs: number;
    readonly exportTimeoutMs: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
  };
}

/**
 * `key1=value1,key2=value2`, values percent-encoded (the W3C Baggage form the specification gives OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS); blanks around entries are dropped. The message never quotes a value (headers are
 * secrets).
 */
const keyValueList = (what: string) =>
  z
    .string()
    .default('')
    .transform((text, ctx): Record<string, string> => {
      const pairs: Record<string, string> = {};
      for (const [index, entry] of text.split(',').entries()) {
        if (entry.trim() === '') continue;
        const equals = entry.indexOf('=');
        const key = equals < 0 ? '' : entry.slice(0, equals).trim();
        let value: string | null = null;
        try {
          value = equals < 0 ? null : decodeURIComponent(entry.slice(equals + 1).trim());
        } catch {
          value = null;
        }
        if (key === '' || value === null) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${index + 1} is not key=value (with the value percent-encoded); expected ${what}`,
          });
          return z.NEVER;
        }
        pairs[key] = value;
      }
      return pairs;
    });

/** An http(s) URL, or empty for none. */
const optionalUrl = z
  .string()
  .default('')
  .refine((v) => v.trim() === '' || /^https?:\/\/[^/]/.test(v.trim()), {
    message: 'expected an http:// or https:// URL (the OTLP/HTTP receiver)',
  })
  .transform((v) => (v.trim() === '' ? null : v.trim()));

const PROTOCOL_MESSAGE =
  'expected http/protobuf (the default) or http/json; OTLP over gRPC is not supported: point it at the ' +
  "receiver's OTLP/HTTP port instead (4318 on an OpenTelemetry Collector, Jaeger or Tempo)";
const protocol = z
  .string()
  .default('')
  .refine((v) => ['', 'http/protobuf', 'http/json'].includes(v.trim()), { message: PROTOCOL_MESSAGE })
  .transform((v) => (v.trim() === '' ? null : (v.trim() as OtlpProtocol)));

/** Milliseconds, or empty for the default. */
const optionalMs = z
  .string()
  .default('')
  .refine((v) => v.trim() === '' || /^[1-9]\d*$/.test(v.trim()), { message: 'expected a whole number of ms ≥ 1' })
  .transform((v) => (v.trim() === '' ? null : Number(v.trim())));
const compression = z
  .enum(['', 'gzip', 'none'])
  .default('')
  .transform((v) => (v === '' ? null : v));

const commaList = (allowed: readonly string[], refusal: (value: string) => string) =>
  z
    .string()
    .default('')
    .transform((text, ctx): string[] => {
      const values = text
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      const bad = values.find((v) => !allowed.includes(v));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: refusal(bad) });
        return z.NEVER;
      }
      return values;
    });

const EXPORTERS = ['otlp', 'console', 'none'];
const PROPAGATORS = ['tracecontext', 'baggage', 'none'];

export const tracingVariables = {
  OTEL_SDK_DISABLED: z
    .string()
    .default('')
    .refine((v) => ['', 'true', 'false'].includes(v.trim().toLowerCase()), { message: 'expected true or false' })
    .transform((v) => v.trim().toLowerCase() === 'true')
    .meta({
      description: '`true`: no tracing at all, whatever the other variables say',
      accepts: 'empty, `true`, `false` (any case)',
    }),
  OTEL_TRACES_EXPORTER: commaList(
    EXPORTERS,
    (bad) => `'${bad}' is not an exporter of this service; expected otlp, console or none (comma-separated)`,
  ).meta({
    description:
      'Where spans go: `otlp` (OTLP over HTTP, to OTEL_EXPORTER_OTLP_*), `console` (one line per span on stdout), ' +
      'both (`otlp,console`), or `none`. Empty: `otlp` when OTEL_EXPORTER_OTLP_ENDPOINT or ' +
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, else none: tracing is off unless configured (the SDK itself would ' +
      'export to localhost:4318)',
    accepts: '`otlp`, `console`, `none`, comma-separated',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl.meta({
    description:
      'The OTLP/HTTP receiver (an OpenTelemetry Collector, Jaeger, Tempo, …): spans are posted to its `/v1/traces`. ' +
      'With OTEL_TRACES_EXPORTER=otlp and no endpoint: `http://localhost:4318`',
    accepts: 'empty or an http(s) URL',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl.meta({
    description:
      'The full URL spans are posted to, as it is (no `/v1/traces` added); wins over OTEL_EXPORTER_OTLP_ENDPOINT',
    accepts: 'empty or an http(s) URL',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.meta({
    description:
      'The OTLP encoding: `http/protobuf` (the default) or `http/json`. `grpc` is refused at start-up: use the ' +
      "receiver's OTLP/HTTP port",
    accepts: 'empty, `http/protobuf`, `http/json`',
  }),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.meta({
    description: 'The same for traces alone; wins over OTEL_EXPORTER_OTLP_PROTOCOL',
    accepts: 'empty, `http/protobuf`, `http/json`',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList('key=value,key2=value2').meta({
    description:
      'Headers sent with every export, `key=value` comma-separated, values percent-encoded (an API key for a hosted ' +
      'backend: `authorization=Bearer%20…`). A secret: never logged or echoed',
    accepts: 'comma-separated `key=value` pairs',
  }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList('key=value,key2=value2').meta({
    description: 'Headers for trace exports alone, added to (and winning over) OTEL_EXPORTER_OTLP_HEADERS. A secret',
    accepts: 'comma-separated `key=value` pairs',
  }),
  OTEL_EXPORTER_OTLP_TIMEOUT: optionalMs.meta({
    description: 'The longest one export may take, in ms, retries included (empty: 10000)',
    accepts: 'empty or an integer ≥ 1',
  }),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: optionalMs.meta({
    description: 'The same for traces alone; wins over OTEL_EXPORTER_OTLP_TIMEOUT',
    accepts: 'empty or an integer ≥ 1',
  }),
  OTEL_EXPORTER_OTLP_COMPRESSION: compression.meta({
    description: '`gzip` compresses every export (empty: `none`)',
    accepts: 'empty, `gzip`, `none`',
  }),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: compression.meta({
    description: 'The same for traces alone; wins over OTEL_EXPORTER_OTLP_COMPRESSION',
    accepts: 'empty, `gzip`, `none`',
  }),
  OTEL_SERVICE_NAME: z
    .string()
    .default('')
    .describe(
      'The `service.name` of every span (empty: the `service.name` of OTEL_RESOURCE_ATTRIBUTES, else `rnn-serve`)',
    ),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList('key=value,key2=value2').meta({
    description:
      'Attributes of the resource (this process) on every span, `key=value` comma-separated, values percent-encoded: ' +
      '`deployment.environment.name=prod,k8s.pod.name=…`. They win over the ones the service sets itself ' +
      '(`service.version`, `service.instance.id`, `host.name`, `process.pid`)',
    accepts: 'comma-separated `key=value` pairs',
  }),
  OTEL_TRACES_SAMPLER: z
    .enum(SAMPLERS)
    .default('parentbased_always_on')
    .describe(
      'Which requests are recorded. `parentbased_*` follow the caller: a request whose `traceparent` says sampled is ' +
        'recorded, one that says not sampled is not, and requests without one are decided by the rest of the name ' +
        '(`always_on`, `always_off`, `traceidratio`: a share of trace ids). `always_on`, `always_off` and ' +
        '`traceidratio` ignore the caller',
    ),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe('The share of traces the `traceidratio` samplers record, 0 to 1'),
  OTEL_PROPAGATORS: commaList(
    PROPAGATORS,
    (bad) =>
      `'${bad}' is not supported; this service reads W3C Trace Context only: expected tracecontext, baggage or none`,
  ).meta({
    description:
      'How an incoming trace is read: `tracecontext` (W3C `traceparent` and `tracestate`, the default); `none`: ' +
      'every request starts a trace of its own. `baggage` is accepted and has no effect (the service calls no one ' +
      'to pass it on to); other formats (b3, jaeger, xray) are refused at start-up',
    accepts: '`tracecontext`, `baggage`, `none`, comma-separated (empty: `tracecontext`)',
  }),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce
    .number()
    .int()
    .min(0)
    .default(5000)
    .describe('Spans are exported in batches at least this often, in ms (the batch span processor)'),
  OTEL_BSP_EXPORT_TIMEOUT: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('The longest one batch export may take, in ms; then it is abandoned'),
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce
    .number()
    .int()
    .positive()
    .default(2048)
    .describe(
      'Finished spans waiting to be exported; beyond it new ones are dropped (requests never wait for the exporter)',
    ),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z.coerce
    .number()
    .int()
    .positive()
    .default(512)
    .describe('Spans per export; a batch goes as soon as this many are waiting. At most OTEL_BSP_MAX_QUEUE_SIZE'),
};

export const TRACING_SECTION = {
  title: 'Tracing',
  about:
    "OpenTelemetry traces (docs/operations/tracing.md), with the SDK's standard variables. Off unless configured: " +
    'set ' +
    "OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER). A caller's W3C `traceparent` is continued. Variables of " +
    'the OTLP exporter not listed here (OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY, ' +
    'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, and their TRACES_ forms) are read by the exporter itself.',
  variables: tracingVariables,
} as const;

type TracingEnv = { [K in keyof typeof tracingVariables]: z.infer<(typeof tracingVariables)[K]> };

/** The default OTLP/HTTP receiver (the specification's). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';
/** The specification's default export timeout. */
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;

/** The traces URL of a base endpoint: `/v1/traces` appended to its path. */
export function tracesUrl(base: string): string {
  return `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
}

/** The tracing settings from the parsed variables; null when tracing is off. Throws a one-line message otherwise. */
export function tracingSettings(e: TracingEnv): TracingSettings | null {
  if (e.OTEL_SDK_DISABLED) return null;
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const named = e.OTEL_TRACES_EXPORTER;
  const exporters: ('otlp' | 'console')[] =
    named.length === 0
      ? endpoint === null
        ? []
        : ['otlp']
      : [...new Set(named.filter((n): n is 'otlp' | 'console' => n !== 'none'))];
  if (exporters.length === 0) return null;
  const propagators = e.OTEL_PROPAGATORS.length === 0 ? ['tracecontext'] : e.OTEL_PROPAGATORS;
  return {
    exporters,
    otlp: {
      url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? tracesUrl(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT),
      protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
      timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? DEFAULT_OTLP_TIMEOUT_MS,
      compression: e.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? e.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    },
    serviceName: e.OTEL_SERVICE_NAME.trim() === '' ? null : e.OTEL_SERVICE_NAME.trim(),
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES,
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
    continueTraces: propagators.includes('tracecontext'),
    batch: {
      scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, e.OTEL_BSP_MAX_QUEUE_SIZE),
    },
  };
}
