/**
 * How spans leave the process (src/telemetry/exporters.ts, tracing.ts): OTLP/HTTP as JSON and gzip-compressed with
 * the configured headers, as a receiver reads them; a receiver that refuses never touches a request, and is logged
 * once, then at most once a minute with a count, then once more when exports work again; the spans still waiting
 * are exported when the app closes and when the process stops on SIGTERM; the console exporter's one log line a span.
 */
import { once } from 'node:events';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { FAILURE_LOG_INTERVAL_MS, ReportingExporter } from '../../src/telemetry/exporters.js';
import { HELLO, build } from '../helpers/build.js';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';
import { send, startServer } from '../helpers/server.js';
import { CALLER_TRACE, only, settle, traceparent, tracedApp } from '../helpers/tracing.js';
import { loadConfig } from '../../src/config/config.js';

t.test('OTLP/HTTP JSON, gzip, with the configured headers', async (t) => {
  const { post, spans, receiver } = await tracedApp(t, {
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-key,x-scope-orgid=tenant-1',
    OTEL_SERVICE_NAME: 'rnn-serve-eu',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,service.name=ignored',
  });
  await (await post('/rnn/forward', HELLO, { traceparent: traceparent() })).text();
  const received = await spans(4);
  const sent = receiver.exports[0];
  t.match(sent.contentType, /^application\/json/);
  t.equal(sent.encoding, 'gzip');
  t.equal(sent.headers.authorization, 'Bearer collector-key');
  t.equal(sent.headers['x-scope-orgid'], 'tenant-1');
  const server = only(received, 'POST /rnn/forward');
  t.equal(server.traceId, CALLER_TRACE, 'ids read back from OTLP/JSON hex');
  t.equal(server.attributes['http.response.status_code'], 200);
  t.equal(server.resource['service.name'], 'rnn-serve-eu', 'OTEL_SERVICE_NAME wins');
  t.equal(server.resource['deployment.environment.name'], 'test');
});

t.test('a receiver that refuses: requests are served, the failure logged once, then its recovery', async (t) => {
  const { post, receiver, logs, app } = await tracedApp(t);
  receiver.failWith = 400;
  for (let i = 0; i < 3; i++) {
    const res = await post('/rnn/forward', HELLO);
    t.equal(res.status, 200, 'served whatever the exporter does');
    await res.text();
    await app.tracing?.forceFlush();
  }
  const failures = logs.filter((l) => String(l.msg).startsWith('spans could not be exported'));
  t.equal(failures.length, 1, 'logged once');
  t.match(failures[0], { level: 40, destination: `${receiver.url}/v1/traces (OTLP http/protobuf)` });
  receiver.failWith = null;
  await (await post('/rnn/forward', HELLO)).text();
  await app.tracing?.forceFlush();
  await receiver.received(4);
  t.equal(logs.filter((l) => l.msg === 'spans are exported again').length, 1);
});

t.test('failures are logged at most once a minute, with what failed meanwhile', async (t) => {
  let now = 0;
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }),
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', fields, msg }),
  };
  let fail = true;
  const inner: SpanExporter = {
    export: (_spans, done) =>
      done(fail ? { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED') } : { code: 0 }),
    shutdown: async () => {},
  };
  const exporter = new ReportingExporter(inner, 'http://c/v1/traces', log as never, () => now);
  const results: number[] = [];
  const spans = (n: number) => Array.from({ length: n }) as ReadableSpan[];
  const exportAt = (at: number, n: number) => {
    now = at;
    exporter.export(spans(n), (result) => results.push(result.code));
  };
  exportAt(0, 3);
  exportAt(1000, 5);
  exportAt(FAILURE_LOG_INTERVAL_MS - 1, 7);
  t.equal(lines.length, 1, 'once within the interval');
  t.match(lines[0], { level: 'warn', fields: { failedExports: 1, spansLost: 3, destination: 'http://c/v1/traces' } });
  exportAt(FAILURE_LOG_INTERVAL_MS, 2);
  t.equal(lines.length, 2, 'again once the interval is over');
  t.match(lines[1].fields, { failedExports: 3, spansLost: 14 }, 'with the exports that failed since the last line');
  fail = false;
  exportAt(FAILURE_LOG_INTERVAL_MS + 1, 1);
  exportAt(FAILURE_LOG_INTERVAL_MS + 2, 1);
  t.same(
    lines.slice(2).map((l) => l.msg),
    ['spans are exported again'],
    'the recovery once',
  );
  t.same(results, [1, 1, 1, 1, 0, 0], 'each result passed on as it was');
});

t.test('closing the app exports the spans still waiting', async (t) => {
  const receiver = await OtlpReceiver.start();
  t.teardown(() => receiver.close());
  const { tracing } = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
  const { app } = await build({ teardown: () => {} }, { tracing });
  const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: HELLO });
  t.equal(res.statusCode, 200);
  await settle(50);
  t.equal(receiver.spans.length, 0, 'nothing exported yet: the batch waits');
  await app.close();
  t.equal(receiver.spans.length, 4, 'exported by the time the app is closed');
});

t.test('closing does not wait on a receiver that is not there beyond the export timeout', async (t) => {
  const receiver = await OtlpReceiver.start();
  const url = receiver.url;
  await receiver.close();
  const { tracing } = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    OTEL_EXPORTER_OTLP_TIMEOUT: '300',
  });
  const { app } = await build({ teardown: () => {} }, { tracing });
  t.equal((await app.inject({ method: 'POST', url: '/rnn/forward', payload: HELLO })).statusCode, 200);
  await app.close();
  t.pass('closed');
});

t.test('SIGTERM: the process exports its spans before it exits', async (t) => {
  const receiver = await OtlpReceiver.start();
  t.teardown(() => receiver.close());
  const server = await startServer(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    SHUTDOWN_DELAY_MS: '0',
    POOL_THREADS: '0',
  });
  const { answer } = send(server.port, 'POST', '/rnn/forward', HELLO, { traceparent: traceparent() });
  const res = await answer;
  t.equal(res.status, 200);
  t.match(res.headers.traceresponse, new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
  t.equal(receiver.spans.length, 0);
  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  t.equal(code, 0);
  // Read once its stdout is over: the log line may come after the answer.
  const stdout = server.child.stdout;
  if (stdout !== null && !stdout.closed) await once(stdout, 'close');
  const line = server.logs.find((l) => l.msg === 'request completed');
  t.equal(line?.trace_id, CALLER_TRACE, "the process's own log line carries the trace");
  t.equal(receiver.spans.filter((s) => s.traceId === CALLER_TRACE).length, 4, 'all four spans arrived');
});

t.test('OTEL_TRACES_EXPORTER=console: one log line a span', async (t) => {
  const { tracing } = loadConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '600000' });
  const { app, logs } = await build({ teardown: () => {} }, { tracing });
  await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { traceparent: traceparent() },
    payload: { inputs: [[[1, 0]], [[0, 1, 0]]], hiddenSize: 2 },
  });
  await app.close();
  const lines = logs.filter((l) => l.msg === 'span');
  t.equal(lines.length, 2, 'the request and its plan');
  const server = lines.find((l) => (l.span as { kind: string }).kind === 'server')?.span as Record<string, unknown>;
  t.match(server, {
    name: 'POST /rnn/forward',
    trace_id: CALLER_TRACE,
    status: 'error',
    attributes: { 'http.response.status_code': 400, 'rnn.problem': 'invalid-request' },
  });
  t.match(server.status_message, /^inputs\[1\]/);
  t.type(server.duration_ms, 'number');
});
