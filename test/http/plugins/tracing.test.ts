/**
 * OpenTelemetry traces of HTTP requests (src/http/plugins/tracing.ts, src/telemetry/): a caller's W3C traceparent is
 * continued (our server span is the child of the caller's span, in the caller's trace, with its tracestate); the
 * request's plan, pass and answer are children of our server span; the trace's ids are in the log lines, the
 * `traceresponse` header and problem answers. Sampling follows the caller's flag; a malformed traceparent starts a
 * new trace and is never refused; tracing off adds nothing. The spans are read as a collector reads them: OTLP/HTTP
 * protobuf, decoded with the specification's .proto files.
 */
import t from 'tap';
import { HELLO, build } from '../../helpers/build.js';
import { CALLER_SPAN, CALLER_TRACE, named, only, settle, traceparent, tracedApp } from '../../helpers/tracing.js';

const SERVER = 2;
const INTERNAL = 1;
const ERROR = 2;

t.test("a caller's sampled traceparent is continued: our spans in its trace, under its span", async (t) => {
  const { post, spans, logs } = await tracedApp(t);
  const res = await post('/rnn/forward', HELLO, {
    traceparent: traceparent('01'),
    tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    'user-agent': 'tracing-test/1',
    'x-request-id': 'req-traced-1',
  });
  t.equal(res.status, 200);
  await res.text();
  const received = await spans(4);
  t.same(received.map((s) => s.name).sort(), ['POST /rnn/forward', 'rnn.answer', 'rnn.pass', 'rnn.plan']);

  const server = only(received, 'POST /rnn/forward');
  t.equal(server.kind, SERVER);
  t.equal(server.traceId, CALLER_TRACE, "the caller's trace");
  t.equal(server.parentSpanId, CALLER_SPAN, "the caller's span is our server span's parent");
  t.equal(server.traceState, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7', 'its tracestate is carried on');
  t.match(server.attributes, {
    'http.request.method': 'POST',
    'http.route': '/rnn/forward',
    'http.response.status_code': 200,
    'url.path': '/rnn/forward',
    'url.scheme': 'http',
    'server.address': '127.0.0.1',
    'network.protocol.version': '1.1',
    'client.address': '127.0.0.1',
    'user_agent.original': 'tracing-test/1',
    'rnn.request.id': 'req-traced-1',
    'rnn.input.shape': [1, 5, 4],
    'rnn.request.rows': 1,
    'rnn.priority': 2,
  });
  t.type(server.attributes['server.port'], 'number');
  t.equal(server.status.code, 0, 'status unset: answered');
  t.equal(server.resource['service.name'], 'rnn-serve');
  t.equal(server.resource['service.version'], '0.1.0');

  for (const name of ['rnn.plan', 'rnn.pass', 'rnn.answer']) {
    const child = only(received, name);
    t.equal(child.kind, INTERNAL, `${name} is internal`);
    t.equal(child.traceId, CALLER_TRACE, `${name} is in the caller's trace`);
    t.equal(child.parentSpanId, server.spanId, `${name} is a child of our server span`);
    t.ok(child.startNanos >= server.startNanos && child.endNanos <= server.endNanos, `${name} lies within the request`);
  }
  const plan = only(received, 'rnn.plan');
  const pass = only(received, 'rnn.pass');
  t.ok(plan.endNanos <= pass.startNanos, 'planned, then computed');
  t.match(plan.attributes, { 'rnn.input.shape': [1, 5, 4], 'rnn.request.rows': 1, 'rnn.priority': 2 });
  t.ok((plan.attributes['rnn.request.compute'] as number) > 0, 'the cost it was planned at');
  t.match(pass.attributes, { 'rnn.pass.thread': 'event-loop', 'rnn.pass.requests': 1, 'rnn.pass.rows': 1 });
  t.same(pass.attributes['rnn.pass.shape'], [1, 5, 4]);
  t.ok((pass.attributes['rnn.pass.compute_seconds'] as number) > 0);

  const traceresponse = res.headers.get('traceresponse');
  t.equal(traceresponse, `00-${CALLER_TRACE}-${server.spanId}-01`, 'traceresponse names our server span');
  const line = logs.find((l) => l.msg === 'request completed' && l.reqId === 'req-traced-1');
  t.match(line, { trace_id: CALLER_TRACE, span_id: server.spanId }, 'the log line carries the trace');
});

t.test('a traceparent that says not sampled: nothing exported, the ids still in headers and logs', async (t) => {
  const { post, spans, logs } = await tracedApp(t);
  const unsampled = await post('/rnn/forward', HELLO, {
    traceparent: traceparent('00'),
    'x-request-id': 'req-unsampled',
  });
  t.equal(unsampled.status, 200);
  await unsampled.text();
  const header = unsampled.headers.get('traceresponse') ?? '';
  t.match(header, new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-00$`), 'the trace id, flagged not sampled');
  // A sampled request after it: once its spans have arrived, the unsampled one's would have too.
  const other = 'aaaabbbbccccddddeeeeffff00001111';
  await (await post('/rnn/forward', HELLO, { traceparent: traceparent('01', other) })).text();
  const received = await spans(4);
  await settle(100);
  t.equal(received.filter((s) => s.traceId === CALLER_TRACE).length, 0, 'no span of the unsampled trace');
  t.equal(received.filter((s) => s.traceId === other).length, 4, 'the sampled request is there');
  const line = logs.find((l) => l.msg === 'request completed' && l.reqId === 'req-unsampled');
  t.equal(line?.trace_id, CALLER_TRACE, 'its log line still names the trace');
});

t.test('a malformed traceparent starts a new trace and is never refused', async (t) => {
  const { post, spans } = await tracedApp(t);
  const malformed = [
    'garbage',
    `00-${CALLER_TRACE.toUpperCase()}-${CALLER_SPAN}-01`,
    `ff-${CALLER_TRACE}-${CALLER_SPAN}-01`,
    `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
    `00-${CALLER_TRACE}-${'0'.repeat(16)}-01`,
    `00-${CALLER_TRACE}-${CALLER_SPAN}-01-extra`,
    `00-${CALLER_TRACE.slice(1)}-${CALLER_SPAN}-01`,
  ];
  for (const value of malformed) {
    const res = await post('/rnn/forward', HELLO, { traceparent: value });
    t.equal(res.status, 200, `${value}: answered`);
    await res.text();
  }
  const received = await spans(4 * malformed.length);
  const servers = named(received, 'POST /rnn/forward');
  t.equal(servers.length, malformed.length);
  for (const server of servers) {
    t.equal(server.parentSpanId, '', 'a root span');
    t.not(server.traceId, CALLER_TRACE, 'in a trace of its own');
    t.match(server.traceId, /^[0-9a-f]{32}$/);
  }
  t.equal(new Set(servers.map((s) => s.traceId)).size, malformed.length, 'a new trace each');
});

t.test('a problem: status ERROR with its words, its kind, and the trace id in the problem answer', async (t) => {
  const { post, spans } = await tracedApp(t);
  const res = await post(
    '/rnn/forward',
    { inputs: [[[1, 0]], [[0, 1, 0]]], hiddenSize: 2 },
    {
      traceparent: traceparent('01'),
    },
  );
  t.equal(res.status, 400);
  const problem = (await res.json()) as { detail: string; traceId: string };
  t.equal(problem.traceId, CALLER_TRACE, 'the problem names the trace');
  const received = await spans(2);
  const server = only(received, 'POST /rnn/forward');
  t.equal(server.status.code, ERROR);
  t.equal(server.status.message, problem.detail, "the problem's words");
  t.equal(server.attributes['error.type'], 'invalid-request');
  t.equal(server.attributes['rnn.problem'], 'invalid-request');
  t.equal(server.attributes['http.response.status_code'], 400);
  const plan = only(received, 'rnn.plan');
  t.equal(plan.status.code, ERROR, 'the plan that refused it');
  t.equal(plan.status.message, problem.detail);
  t.equal(plan.parentSpanId, server.spanId);
});

t.test('without a traceparent a request is the root of a new trace; 404s are traced by method alone', async (t) => {
  const { base, post, spans } = await tracedApp(t);
  const res = await post('/rnn/forward', HELLO);
  await res.text();
  const missing = await fetch(`${base}/no/such/route`);
  const problem = (await missing.json()) as { traceId: string };
  const received = await spans(5);
  const server = only(received, 'POST /rnn/forward');
  t.equal(server.parentSpanId, '');
  t.equal(res.headers.get('traceresponse'), `00-${server.traceId}-${server.spanId}-01`);
  const notFound = only(received, 'GET');
  t.equal(notFound.attributes['http.response.status_code'], 404);
  t.notOk('http.route' in notFound.attributes, 'no route matched');
  t.equal(problem.traceId, notFound.traceId);
});

t.test('the inference protocol keeps its error body; the trace is in the traceresponse header', async (t) => {
  const { base, spans } = await tracedApp(t);
  const res = await fetch(`${base}/v2/models/nothing/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: traceparent('01') },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 1, 1], datatype: 'FP32', data: [1] }] }),
  });
  t.equal(res.status, 404);
  const body = (await res.json()) as Record<string, unknown>;
  t.same(Object.keys(body), ['error'], '{"error": ...} as the protocol has it');
  t.match(res.headers.get('traceresponse'), new RegExp(`^00-${CALLER_TRACE}-`));
  const server = only(await spans(1), 'POST /v2/models/:name/infer');
  t.equal(server.status.code, ERROR);
  t.equal(server.status.message, body.error);
});

t.test('probes and /metrics are not traced', async (t) => {
  const { base, post, spans } = await tracedApp(t);
  for (const path of ['/healthz', '/readyz', '/metrics', '/v2/health/live']) {
    const res = await fetch(`${base}${path}`, { headers: { traceparent: traceparent('01') } });
    await res.text();
    t.equal(res.headers.get('traceresponse'), null, `${path}: no trace`);
  }
  await (await post('/rnn/forward', HELLO)).text();
  const received = await spans(4);
  await settle(100);
  t.same(
    received.filter((s) => s.kind === SERVER).map((s) => s.name),
    ['POST /rnn/forward'],
    'only the forward request has a server span',
  );
});

t.test("OTEL_PROPAGATORS=none: a caller's traceparent is not continued", async (t) => {
  const { post, spans } = await tracedApp(t, { OTEL_PROPAGATORS: 'none' });
  await (await post('/rnn/forward', HELLO, { traceparent: traceparent('01') })).text();
  const server = only(await spans(4), 'POST /rnn/forward');
  t.equal(server.parentSpanId, '');
  t.not(server.traceId, CALLER_TRACE);
});

t.test(
  'OTEL_TRACES_SAMPLER=always_off records nothing; traceidratio 0 neither unless the caller sampled',
  async (t) => {
    const off = await tracedApp(t, { OTEL_TRACES_SAMPLER: 'always_off' });
    const res = await off.post('/rnn/forward', HELLO, { traceparent: traceparent('01') });
    await res.text();
    t.match(res.headers.get('traceresponse'), /-00$/, 'not sampled, whatever the caller said');
    const ratio = await tracedApp(t, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    await (await ratio.post('/rnn/forward', HELLO)).text();
    await (await ratio.post('/rnn/forward', HELLO, { traceparent: traceparent('01') })).text();
    const received = await ratio.spans(4);
    await off.app.tracing?.forceFlush();
    await settle(100);
    t.equal(off.receiver.spans.length, 0, 'always_off: nothing');
    t.equal(received.length, 4, 'ratio 0: only the request whose caller sampled it');
    t.ok(received.every((s) => s.traceId === CALLER_TRACE));
  },
);

t.test('tracing off: no tracer, no header, no trace ids, no traceId in problems', async (t) => {
  const { app, logs } = await build(t);
  t.equal(app.tracing, null, 'no tracing at all');
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { traceparent: traceparent('01'), 'x-request-id': 'req-untraced' },
    payload: HELLO,
  });
  t.equal(res.statusCode, 200);
  t.notOk('traceresponse' in res.headers);
  const bad = await app.inject({ method: 'POST', url: '/rnn/forward', payload: { inputs: 3 } });
  t.notOk('traceId' in bad.json(), 'the problem has no traceId');
  const line = logs.find((l) => l.msg === 'request completed' && l.reqId === 'req-untraced');
  t.ok(line);
  t.notOk(line && 'trace_id' in line, 'no trace_id in the log line');
});

t.test('OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true with an endpoint set: nothing is sent', async (t) => {
  const envs: Record<string, string>[] = [{ OTEL_TRACES_EXPORTER: 'none' }, { OTEL_SDK_DISABLED: 'true' }];
  for (const env of envs) {
    const { app, post, receiver } = await tracedApp(t, env);
    t.equal(app.tracing, null, `${Object.keys(env)[0]}: no tracing`);
    const res = await post('/rnn/forward', HELLO, { traceparent: traceparent('01') });
    t.equal(res.headers.get('traceresponse'), null);
    await res.text();
    await settle(100);
    t.equal(receiver.exports.length, 0, 'no export reached the receiver');
  }
});
