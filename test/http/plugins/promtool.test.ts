/**
 * GET /metrics passes Prometheus's own linter, `promtool check metrics` (the exposition parser plus the naming
 * rules: HELP on every metric, `_total` on counters and only there, base units, histogram suffixes), after
 * requests of every kind so that every metric has series: forward passes inline and on the worker pool, served
 * models over our routes and the Open Inference Protocol (an ONNX graph too), problem answers, an unknown route,
 * a rate-limited client. Scraped over a socket with the Accept header Prometheus sends.
 *
 * Needs `promtool` (Debian's `prometheus` package). Without it the test fails, unless RNN_SERVE_SKIP_PROMTOOL=1,
 * which reports it as skipped.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { build, HELLO, HELLO_BATCH, SHIPPED_MODELS } from '../../helpers/build.js';
import { MISNAMED_DEFAULT_GAUGES } from '../../../src/http/plugins/metrics.js';

/** What Prometheus 2.x sends when it scrapes a target. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const skip = process.env.RNN_SERVE_SKIP_PROMTOOL === '1' ? 'RNN_SERVE_SKIP_PROMTOOL=1: promtool is not run' : false;

/** `promtool check metrics` over `text` on stdin: its exit status and everything it printed. */
function promtool(text: string): { status: number | null; output: string; missing: boolean } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  const missing = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim(), missing };
}

t.test('promtool check metrics: no findings on a scrape after every kind of request', { skip }, async (t) => {
  if (promtool('').missing) {
    t.fail(
      "promtool is missing: install Debian's Prometheus (apt-get install -y prometheus), or set RNN_SERVE_SKIP_PROMTOOL=1 to skip this test",
    );
    return;
  }
  // One worker thread, so the pool's metrics see a task; a rate limit of 2 per client, so one client is shed.
  const { app } = await build(t, {
    models: { dir: SHIPPED_MODELS },
    pool: { threads: 1, minCompute: 0 },
    access: { rateLimitMax: 2 },
  });
  let client = 0;
  type Method = 'GET' | 'POST' | 'DELETE';
  const send = async (method: Method, url: string, payload?: object, remoteAddress?: string) => {
    // A new client address per request unless given: only the rate-limit check below shares one.
    const from = remoteAddress ?? `10.0.${Math.floor(client / 250)}.${(client++ % 250) + 1}`;
    const res = await app.inject({ method, url, remoteAddress: from, ...(payload === undefined ? {} : { payload }) });
    return res.statusCode;
  };
  const tensor = (name: string, datatype: string, shape: number[], data: number[]) => ({
    inputs: [{ name, shape, datatype, data }],
  });
  const requests: [Method, string, object | undefined, number][] = [
    ['POST', '/rnn/forward', HELLO, 200],
    ['POST', '/rnn/forward', HELLO_BATCH, 200],
    ['POST', '/rnn/forward', { ...HELLO, cell: 'lstm' }, 200],
    ['POST', '/rnn/forward', { inputs: [] }, 400],
    ['POST', '/rnn/weights', { inputDim: 4, hiddenSize: 2, seed: 42 }, 200],
    ['GET', '/models', undefined, 200],
    ['GET', '/models/hello', undefined, 200],
    ['POST', '/models/hello/forward', { text: ['hello'] }, 200],
    ['POST', '/models/hello/versions/1/forward', { text: ['hello'], returnSequences: false }, 200],
    ['POST', '/models/next-char/forward', { inputs: [[[1], [2]]], topK: 2 }, 200],
    ['POST', '/models/hello/forward', { text: ['hex'] }, 400],
    ['POST', '/models/nope/forward', { text: ['hello'] }, 404],
    ['POST', '/models/sentiment-onnx/forward', { inputs: [[[1], [2], [3]]] }, 200],
    ['POST', '/models/next-char/forward', { inputs: [[[1]]], sequenceId: 7, sequenceStart: true }, 200],
    ['GET', '/v2', undefined, 200],
    ['GET', '/v2/models/next-char', undefined, 200],
    ['GET', '/v2/models/next-char/ready', undefined, 200],
    ['POST', '/v2/models/hello/infer', tensor('input', 'FP32', [1, 2, 4], [1, 0, 0, 0, 0, 1, 0, 0]), 200],
    ['POST', '/v2/models/sentiment-onnx/infer', tensor('ids', 'INT64', [1, 3], [1, 2, 3]), 200],
    ['POST', '/v2/models/hello/infer', tensor('input', 'FP32', [1, 1, 3], [1, 0, 0]), 400],
    ['GET', '/healthz', undefined, 200],
    ['GET', '/readyz', undefined, 200],
    ['GET', '/no/such/route', undefined, 404],
    ['DELETE', '/rnn/forward', undefined, 405],
  ];
  for (const [method, url, payload, status] of requests)
    t.equal(await send(method, url, payload), status, `${method} ${url} → ${status}`);
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push(await send('POST', '/rnn/forward', HELLO, '10.99.0.1'));
  t.same(statuses, [200, 200, 429], 'the third request of one client within the window is rate-limited');

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
  t.equal(scrape.status, 200);
  t.match(scrape.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();

  // promtool says nothing about an empty text: every metric must be there, with HELP and a sample, but for two whose
  // series depend on the moment: libuv requests in flight (none while the process is idle) and garbage collections
  // (none before the first one), and one the Redis sequence store alone observes (this app keeps sequences in memory).
  const families = [...text.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((m) => m[1]);
  const momentary = new Set(['nodejs_active_requests', 'nodejs_gc_duration_seconds', 'rnn_sequence_store_seconds']);
  for (const family of families) {
    t.match(text, new RegExp(`^# HELP ${family} \\S`, 'm'), `${family} has HELP`);
    if (!momentary.has(family))
      t.match(text, new RegExp(`^${family}(_bucket|_count|_sum)?(\\{[^}]*\\})? \\S+$`, 'm'), `${family} has a sample`);
  }
  for (const family of [
    'http_requests_total',
    'http_request_duration_seconds',
    'http_requests_shed_total',
    'rnn_forward_compute_seconds',
    'rnn_model_inferences_total',
    'rnn_model_compute_seconds',
    'rnn_pool_queue_depth',
    'rnn_pool_tasks_abandoned_total',
    'rnn_memory_budget_reserved_bytes',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_active_handles',
  ])
    t.ok(families.includes(family), `${family} is exposed`);
  t.match(text, /^http_requests_shed_total\{reason="rate-limited"\} 1$/m);
  t.match(text, /^rnn_model_inferences_total\{model="sentiment-onnx",version="1",protocol="http",outcome="ok"\} 2$/m);
  for (const name of MISNAMED_DEFAULT_GAUGES) t.notMatch(text, new RegExp(`^# TYPE ${name} `, 'm'), `no ${name}`);

  // docs/metrics.md (generated from the registry) lists every metric of ours the scrape has.
  const documented = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  for (const [, name] of text.matchAll(/^# TYPE ((?:http|rnn)_\w+) /gm))
    t.match(documented, `| \`${name}\``, `docs/metrics.md lists ${name}`);

  const lint = promtool(text);
  t.equal(lint.output, '', 'promtool reports nothing');
  t.equal(lint.status, 0, 'promtool exits 0');
});

t.test('promtool does report what it should (the check above is not vacuous)', { skip }, async (t) => {
  if (promtool('').missing) return t.fail('promtool is missing');
  const bad = [
    '# HELP nodejs_active_handles_total Total number of active handles.',
    '# TYPE nodejs_active_handles_total gauge',
    'nodejs_active_handles_total 3',
    '# HELP jobs_done Jobs done.',
    '# TYPE jobs_done counter',
    'jobs_done 1',
    '# TYPE answer_milliseconds gauge',
    'answer_milliseconds 5',
    '',
  ].join('\n');
  const lint = promtool(bad);
  t.not(lint.status, 0, 'exits non-zero');
  t.match(lint.output, /nodejs_active_handles_total non-counter metrics should not have "_total" suffix/);
  t.match(lint.output, /jobs_done counter metrics should have "_total" suffix/);
  t.match(lint.output, /answer_milliseconds no help text/);
  t.match(lint.output, /answer_milliseconds use base unit "seconds" instead of "milliseconds"/);
});
