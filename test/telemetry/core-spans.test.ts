/**
 * The spans of what the core does for a request (src/core/trace.ts, recorded by src/telemetry/request-spans.ts): the
 * wait in the queue and the pass on a worker thread, each a child of the request's server span in the caller's
 * trace; a merged pass (dynamic batching) as a pass span in each request's trace, linked to the first's; a body parsed
 * on a worker; the steps of a stateful sequence in the sequence store; a request that waits past its deadline.
 */
import t from 'tap';
import { SHIPPED_MODELS } from '../helpers/build.js';
import type { ReceivedSpan } from '../helpers/otlp-receiver.js';
import { CALLER_SPAN, CALLER_TRACE, named, only, traceparent, tracedApp } from '../helpers/tracing.js';

const ERROR = 2;
const HELLO_INPUT = [
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ],
];

/** The spans of one trace, by name. */
const inTrace = (spans: ReceivedSpan[], traceId: string) => spans.filter((s) => s.traceId === traceId);

t.test("a pass on a worker: queue and pass spans under the request, in the caller's trace", async (t) => {
  const { post, spans } = await tracedApp(
    t,
    {},
    { models: { dir: SHIPPED_MODELS }, pool: { threads: 1, minCompute: 0 } },
  );
  const res = await post('/models/hello/forward', { inputs: HELLO_INPUT, priority: 1 }, { traceparent: traceparent() });
  t.equal(res.status, 200);
  await res.text();
  const received = await spans(5);
  t.same(received.map((s) => s.name).sort(), [
    'POST /models/:name/forward',
    'rnn.answer',
    'rnn.pass',
    'rnn.plan',
    'rnn.queue',
  ]);
  const server = only(received, 'POST /models/:name/forward');
  t.equal(server.parentSpanId, CALLER_SPAN);
  t.match(server.attributes, {
    'rnn.model.name': 'hello',
    'rnn.model.version': '1',
    'rnn.input.shape': [1, 3, 4],
    'rnn.priority': 1,
    'http.route': '/models/:name/forward',
  });
  const queue = only(received, 'rnn.queue');
  const pass = only(received, 'rnn.pass');
  for (const span of [queue, pass]) {
    t.equal(span.traceId, CALLER_TRACE);
    t.equal(span.parentSpanId, server.spanId, `${span.name} is a child of the request's span`);
  }
  t.match(queue.attributes, { 'rnn.priority': 1, 'rnn.queue.timeout_ms': 10_000 });
  t.ok(queue.endNanos <= pass.startNanos, 'out of the queue, then the pass');
  t.match(pass.attributes, { 'rnn.pass.thread': 'worker', 'rnn.pass.requests': 1, 'rnn.pass.rows': 1 });
  t.ok((pass.attributes['rnn.pass.compute_seconds'] as number) > 0, "the worker's own measure of the compute");
  t.ok(
    Number(pass.endNanos - pass.startNanos) / 1e9 >= (pass.attributes['rnn.pass.compute_seconds'] as number),
    'the span, from hand-over to result, holds the compute',
  );
  const answer = only(received, 'rnn.answer');
  t.ok(pass.endNanos <= answer.startNanos, 'computed, then written');
});

t.test("a merged pass: a pass span in each request's trace, each linked to the first", async (t) => {
  const { post, spans } = await tracedApp(
    t,
    {},
    { models: { dir: SHIPPED_MODELS }, pool: { threads: 1 }, queue: { maxDelayMs: 200, maxBatchRows: 3 } },
  );
  const traces = [
    '11111111111111111111111111111111',
    '22222222222222222222222222222222',
    '33333333333333333333333333333333',
  ];
  const answers = await Promise.all(
    traces.map((trace) =>
      post('/models/hello/forward', { inputs: HELLO_INPUT }, { traceparent: traceparent('01', trace) }),
    ),
  );
  for (const res of answers) {
    t.equal(res.status, 200);
    await res.text();
  }
  const received = await spans(15);
  const passes = named(received, 'rnn.pass');
  t.equal(passes.length, 3, 'one pass span per request');
  for (const trace of traces) {
    const pass = only(inTrace(received, trace), 'rnn.pass');
    const server = only(inTrace(received, trace), 'POST /models/:name/forward');
    t.equal(pass.parentSpanId, server.spanId, 'under its own request');
    t.match(pass.attributes, { 'rnn.pass.requests': 3, 'rnn.pass.rows': 3, 'rnn.request.rows': 1 });
    t.same(pass.attributes['rnn.pass.shape'], [3, 3]);
  }
  const lead = passes.filter((p) => p.links.length === 0);
  t.equal(lead.length, 1, 'the first has no link');
  for (const pass of passes.filter((p) => p.links.length > 0))
    t.same(pass.links, [{ traceId: lead[0].traceId, spanId: lead[0].spanId }], 'the others link to it');
  t.equal(new Set(passes.map((p) => `${p.startNanos}-${p.endNanos}`)).size, 1, 'one pass: the same times');
});

t.test('a body parsed on a worker: its shape is known from the pass', async (t) => {
  const { post, spans } = await tracedApp(t, {}, { pool: { threads: 1, minBodyBytes: 16, minCompute: 0 } });
  const res = await post(
    '/rnn/forward',
    {
      inputs: [
        [
          [1, 0],
          [0, 1],
        ],
        [
          [0.5, 0.5],
          [1, 1],
        ],
      ],
      hiddenSize: 3,
      seed: 7,
    },
    { traceparent: traceparent() },
  );
  t.equal(res.status, 200);
  await res.text();
  const received = await spans(5);
  const pass = only(received, 'rnn.pass');
  t.equal(pass.attributes['rnn.pass.thread'], 'worker');
  t.same(pass.attributes['rnn.pass.shape'], [2, 2, 2]);
  t.equal(pass.attributes['rnn.request.rows'], 2);
  t.same(only(received, 'POST /rnn/forward').attributes['rnn.input.shape'], [2, 2, 2]);
});

t.test('a stateful sequence: its state loaded and saved in the store, each step a span', async (t) => {
  const { post, spans } = await tracedApp(t, {}, { models: { dir: SHIPPED_MODELS } });
  const chunk = (trace: string, flags: object) =>
    post(
      '/models/hello/forward',
      { inputs: HELLO_INPUT, sequenceId: 'seq-42', ...flags },
      {
        traceparent: traceparent('01', trace),
      },
    );
  const steps = [
    ['a'.repeat(32), { sequenceStart: true }],
    ['b'.repeat(32), {}],
    ['c'.repeat(32), { sequenceEnd: true }],
  ] as const;
  for (const [trace, flags] of steps) {
    const res = await chunk(trace, flags);
    t.equal(res.status, 200);
    await res.text();
  }
  const received = await spans(3 * 4 + 2 + 2 + 2);
  const names = (trace: string) =>
    inTrace(received, trace)
      .filter((s) => s.name.startsWith('rnn.sequence.'))
      .map((s) => s.name)
      .sort();
  t.same(names('a'.repeat(32)), ['rnn.sequence.begin', 'rnn.sequence.save'], 'a start begins, then saves');
  t.same(names('b'.repeat(32)), ['rnn.sequence.load', 'rnn.sequence.save'], 'a chunk loads, then saves');
  t.same(names('c'.repeat(32)), ['rnn.sequence.end', 'rnn.sequence.load'], 'the last loads, then ends');
  for (const [trace, flags] of steps) {
    const mine = inTrace(received, trace);
    const server = only(mine, 'POST /models/:name/forward');
    t.match(server.attributes, { 'rnn.sequence.id': 'seq-42', 'rnn.sequence.store': 'memory' });
    for (const span of mine.filter((s) => s.name.startsWith('rnn.sequence.'))) {
      t.equal(span.parentSpanId, server.spanId);
      t.match(span.attributes, {
        'rnn.sequence.id': 'seq-42',
        'rnn.sequence.store': 'memory',
        'rnn.sequence.start': 'sequenceStart' in flags,
        'rnn.sequence.end': 'sequenceEnd' in flags,
      });
    }
  }
  const second = inTrace(received, 'b'.repeat(32));
  t.ok(only(second, 'rnn.sequence.load').endNanos <= only(second, 'rnn.plan').startNanos, 'loaded, then planned');
  t.ok(only(second, 'rnn.pass').endNanos <= only(second, 'rnn.sequence.save').startNanos, 'computed, then saved');
});

t.test('a sequence never started: the load span, and the 400 in the request span', async (t) => {
  const { post, spans } = await tracedApp(t, {}, { models: { dir: SHIPPED_MODELS } });
  const res = await post(
    '/models/hello/forward',
    { inputs: HELLO_INPUT, sequenceId: 9 },
    {
      traceparent: traceparent(),
    },
  );
  t.equal(res.status, 400);
  const problem = (await res.json()) as { detail: string };
  const received = await spans(2);
  const server = only(received, 'POST /models/:name/forward');
  t.equal(server.status.code, ERROR);
  t.equal(server.status.message, problem.detail);
  t.equal(server.attributes['rnn.sequence.id'], '9');
  t.equal(only(received, 'rnn.sequence.load').status.code, 0, 'the load itself worked: it found nothing');
});

t.test('a request that waits past its deadline: the queue span says so', async (t) => {
  const { post, spans } = await tracedApp(
    t,
    {},
    { models: { dir: SHIPPED_MODELS }, pool: { threads: 1 }, queue: { maxDelayMs: 1000, maxBatchRows: 8 } },
  );
  const res = await post(
    '/models/hello/forward',
    { inputs: HELLO_INPUT, timeoutMs: 30 },
    {
      traceparent: traceparent(),
    },
  );
  t.equal(res.status, 503);
  const problem = (await res.json()) as { detail: string };
  const received = await spans(3);
  const queue = only(received, 'rnn.queue');
  t.equal(queue.status.code, ERROR);
  t.equal(queue.status.message, problem.detail);
  t.equal(queue.attributes['error.type'], 'queue-timeout');
  t.equal(only(received, 'POST /models/:name/forward').attributes['rnn.problem'], 'queue-timeout');
  t.equal(named(received, 'rnn.pass').length, 0, 'nothing computed');
});
