import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import t from 'tap';
import { build, HELLO, HELLO_BATCH } from '../../helpers/build.js';
import { sample } from '../../helpers/metrics.js';

type App = Awaited<ReturnType<typeof build>>['app'];

const forward = (app: App, payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });

t.test('GET /metrics: Prometheus text with request, latency, engine and process metrics', async (t) => {
  const { app } = await build(t);
  t.equal((await forward(app, HELLO)).statusCode, 200);
  t.equal((await forward(app, HELLO_BATCH)).statusCode, 200);
  t.equal((await forward(app, { inputs: [] })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: '/no/such/thing/123' })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  t.equal(sample(text, 'http_requests_total', 'method="POST",route="/rnn/forward",status_code="200"'), 2);
  t.equal(sample(text, 'http_requests_total', 'method="POST",route="/rnn/forward",status_code="400"'), 1);
  t.equal(
    sample(text, 'http_requests_total', 'method="GET",route="unmatched",status_code="404"'),
    1,
    'unknown routes share one label',
  );
  t.notMatch(text, /no\/such\/thing/, 'raw URLs never become labels');
  t.equal(
    sample(text, 'http_request_duration_seconds_count', 'method="POST",route="/rnn/forward",status_code="200"'),
    2,
  );
  t.equal(
    sample(text, 'http_request_duration_seconds_bucket', 'le="+Inf",method="GET",route="/healthz",status_code="200"'),
    1,
  );
  // Two forward passes ran (the 400 never reached the engine): batch sizes 1 and 3, 5 time steps each.
  t.equal(sample(text, 'rnn_forward_compute_seconds_count'), 2);
  t.ok((sample(text, 'rnn_forward_compute_seconds_sum') ?? -1) > 0);
  t.equal(sample(text, 'rnn_forward_batch_size_sum'), 4);
  t.equal(sample(text, 'rnn_forward_batch_size_bucket', 'le="2"'), 1);
  t.equal(sample(text, 'rnn_forward_batch_size_bucket', 'le="4"'), 2);
  t.equal(sample(text, 'rnn_forward_time_steps_sum'), 10);
  t.equal(sample(text, 'rnn_forward_time_steps_bucket', 'le="4"'), 0);
  t.equal(sample(text, 'rnn_forward_time_steps_bucket', 'le="8"'), 2);
  t.equal(sample(text, 'http_requests_in_flight'), 1, 'the scrape itself is in flight');
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) {
    t.ok((sample(text, name) ?? -1) >= 0, `${name} is exposed`);
  }
});

t.test('each app has its own registry: two apps count separately', async (t) => {
  const a = (await build(t)).app;
  const b = (await build(t)).app;
  t.not(a.metrics.registry, b.metrics.registry);
  await forward(a, HELLO);
  await forward(a, HELLO);
  await forward(b, HELLO);
  const countOf = async (app: App) =>
    sample(
      (await app.inject({ method: 'GET', url: '/metrics' })).body,
      'http_requests_total',
      'method="POST",route="/rnn/forward",status_code="200"',
    );
  t.equal(await countOf(a), 2);
  t.equal(await countOf(b), 1);
});

t.test('in flight goes back to 0 once answers are sent', async (t) => {
  const { app } = await build(t);
  await Promise.all([forward(app, HELLO), forward(app, HELLO_BATCH), app.inject({ method: 'GET', url: '/readyz' })]);
  const text = await app.metrics.registry.metrics();
  t.equal(sample(text, 'http_requests_in_flight'), 0);
});

t.test('a pass is timed and counted by its shape', async (t) => {
  const { app } = await build(t);
  const body = { inputs: { shape: [2, 3, 4], data: new Array(24).fill(0.5) }, hiddenSize: 2, seed: 1 };
  t.equal((await forward(app, body)).statusCode, 200);
  const text = await app.metrics.registry.metrics();
  t.ok((sample(text, 'rnn_forward_compute_seconds_count') ?? 0) >= 1, 'the pass counted');
  t.equal(sample(text, 'rnn_forward_batch_size_sum'), 2);
  t.equal(sample(text, 'rnn_forward_time_steps_sum'), 3);
});

t.test('in flight stays exact when a client goes away before its answer', async (t) => {
  const { app } = await build(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const inFlight = async () => sample(await app.metrics.registry.metrics(), 'http_requests_in_flight');

  // Headers and a part of the body: the request is received (its hooks ran) and waits for the rest.
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    'POST /rnn/forward HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"inputs":',
  );
  await until(async () => (await inFlight()) === 1, 'the request to be received');
  t.equal(await inFlight(), 1);

  socket.destroy();
  await until(async () => (await inFlight()) === 0, 'the abandoned request to be let go');
  t.equal(await inFlight(), 0, 'never answered, still no longer in flight');
  t.equal((await forward(app, HELLO)).statusCode, 200);
  t.equal(await inFlight(), 0, 'and answered requests still count down');
});

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
