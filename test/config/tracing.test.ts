/**
 * The OTEL_* variables (src/config/tracing.ts): tracing off unless configured; the OTLP endpoint, protocol, headers,
 * timeout and compression as the specification combines them (the traces-only variable wins, `/v1/traces` added to
 * a base endpoint only); what the service cannot do refused at start-up with one line (gRPC, other propagators,
 * unknown exporters and samplers), headers never echoed.
 */
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { spawnServer } from '../helpers/server.js';

t.test('off unless configured', async (t) => {
  t.equal(loadConfig({}).tracing, null, 'an empty environment traces nothing');
  t.equal(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).tracing, null);
  t.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing, null);
  t.equal(loadConfig({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing, null);
  t.ok(loadConfig({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing);
});

t.test('an endpoint turns OTLP on, with the specification defaults', async (t) => {
  const tracing = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing;
  t.same(tracing, {
    exporters: ['otlp'],
    otlp: {
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
      compression: 'none',
    },
    serviceName: null,
    resourceAttributes: {},
    sampler: 'parentbased_always_on',
    samplerRatio: 1,
    continueTraces: true,
    batch: { scheduledDelayMs: 5000, exportTimeoutMs: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 },
  });
  t.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/base/' }).tracing?.otlp.url,
    'https://otel.example/base/v1/traces',
    'the signal path is appended to a base with a path',
  );
  t.equal(
    loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.otlp.url,
    'http://localhost:4318/v1/traces',
    'named without an endpoint: the default receiver',
  );
});

t.test('the traces-only variables win, as they are', async (t) => {
  const tracing = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom/path',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=a',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
    OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
  }).tracing;
  t.same(tracing?.otlp, {
    url: 'http://traces:9999/custom/path',
    protocol: 'http/json',
    headers: { authorization: 'Bearer abc', 'x-tenant': 'b' },
    timeoutMs: 2000,
    compression: 'gzip',
  });
});

t.test('resource, service name, sampler, propagators, batches, exporters', async (t) => {
  const tracing = loadConfig({
    OTEL_TRACES_EXPORTER: 'console, otlp,console',
    OTEL_SERVICE_NAME: ' inference-eu ',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, k8s.pod.name=rnn-serve-7%2Cb',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_PROPAGATORS: 'baggage,tracecontext',
    OTEL_BSP_MAX_QUEUE_SIZE: '100',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
  }).tracing;
  t.same(tracing?.exporters, ['console', 'otlp'], 'each once');
  t.equal(tracing?.serviceName, 'inference-eu');
  t.same(tracing?.resourceAttributes, { 'deployment.environment.name': 'prod', 'k8s.pod.name': 'rnn-serve-7,b' });
  t.equal(tracing?.sampler, 'parentbased_traceidratio');
  t.equal(tracing?.samplerRatio, 0.25);
  t.equal(tracing?.continueTraces, true);
  t.equal(tracing?.batch.maxExportBatchSize, 100, 'a batch is at most the queue');
  t.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_PROPAGATORS: 'none' }).tracing?.continueTraces, false);
});

t.test('what the service cannot do is refused at start-up, in one line', async (t) => {
  const refused: [Record<string, string>, RegExp][] = [
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL="grpc": .*OTLP over gRPC is not supported/],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="grpc"/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /'zipkin' is not an exporter of this service/],
    [{ OTEL_TRACES_EXPORTER: 'otlp,jaeger' }, /'jaeger' is not an exporter/],
    [{ OTEL_PROPAGATORS: 'tracecontext,b3' }, /'b3' is not supported; this service reads W3C Trace Context only/],
    [{ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, /OTEL_TRACES_SAMPLER="jaeger_remote"/],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, /OTEL_TRACES_SAMPLER_ARG="1.5"/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /expected an http:\/\/ or https:\/\/ URL/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '0' }, /OTEL_EXPORTER_OTLP_TIMEOUT="0"/],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, /OTEL_EXPORTER_OTLP_COMPRESSION="zstd"/],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }, /entry 1 is not key=value/],
    [{ OTEL_SDK_DISABLED: 'yes' }, /OTEL_SDK_DISABLED="yes"/],
  ];
  for (const [env, message] of refused) {
    try {
      loadConfig(env);
      t.fail(`${JSON.stringify(env)} is refused`);
    } catch (error) {
      t.type(error, ConfigError);
      t.match((error as Error).message, message);
      t.notMatch((error as Error).message, /\n/, 'one line');
    }
  }
});

t.test('OTLP headers are secrets: named, never echoed', async (t) => {
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    try {
      loadConfig({ [name]: 'api-key-s3cr3t-value' });
      t.fail('refused');
    } catch (error) {
      t.match((error as Error).message, new RegExp(`^invalid environment variable ${name}=\\(redacted\\): `));
      t.notMatch((error as Error).message, /s3cr3t/);
    }
  }
});

t.test('the process refuses OTLP over gRPC at start-up: exit 2, one line on stderr', async (t) => {
  const server = spawnServer({
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317',
  });
  server.listening.catch(() => {});
  const { code } = await server.exited;
  t.equal(code, 2);
  const lines = server.stderr().trim().split('\n');
  t.equal(lines.length, 1);
  t.match(lines[0], /^rnn-serve: invalid environment variable OTEL_EXPORTER_OTLP_PROTOCOL="grpc": /);
});
