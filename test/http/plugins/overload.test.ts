import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import t from 'tap';
import { API_CSP } from '../../../src/http/plugins/security-headers.js';
import { build, HELLO } from '../../helpers/build.js';
import { send, startServer } from '../../helpers/server.js';

type App = Awaited<ReturnType<typeof build>>['app'];

/** About 0.1-0.3 s of compute: 300 steps · (1 + 256) · 256 multiply-adds. */
const SLOW = {
  inputs: [Array.from({ length: 300 }, (_, i) => [Math.cos(i)])],
  hiddenSize: 256,
  seed: 5,
  returnSequences: false,
};

const forward = (app: App, payload: unknown = HELLO) =>
  app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

t.test(
  'MAX_CONCURRENT_FORWARD: beyond the bound, 503 problem+json with Retry-After at once; normal service after',
  async (t) => {
    // The real process: a client in the server's own process would wait for the server's compute too.
    const { port } = await startServer(t, {
      MAX_CONCURRENT_FORWARD: '2',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      RETRY_AFTER_SECONDS: '3',
    });
    t.equal((await send(port, 'POST', '/rnn/forward', SLOW).answer).status, 200, 'warm');

    const answers = await Promise.all(Array.from({ length: 8 }, () => send(port, 'POST', '/rnn/forward', SLOW).answer));
    const ok = answers.filter((a) => a.status === 200);
    const shed = answers.filter((a) => a.status === 503);
    t.equal(ok.length + shed.length, 8, `only 200 and 503: ${answers.map((a) => a.status).join(' ')}`);
    t.ok(ok.length >= 2, `at least the bound was served (${ok.length})`);
    t.ok(shed.length >= 1, `some were shed (${shed.length})`);
    for (const answer of shed) {
      t.equal(answer.headers['retry-after'], '3');
      t.match(answer.headers['content-type'], /^application\/problem\+json/);
      const body = JSON.parse(answer.body);
      t.equal(body.type, 'urn:rnn-serve:problem:overloaded');
      t.equal(body.status, 503);
      t.match(body.detail, /the limit is 2 \(MAX_CONCURRENT_FORWARD\)/);
    }
    t.equal(new Set(ok.map((a) => a.body)).size, 1, 'the served ones all have the same answer');

    const after = await send(port, 'POST', '/rnn/forward', SLOW).answer;
    t.equal(after.status, 200, 'normal service once the burst is over');
    const metrics = (await send(port, 'GET', '/metrics').answer).body;
    t.match(
      metrics,
      new RegExp(`^http_requests_shed_total\\{reason="overloaded"\\} ${shed.length}$`, 'm'),
      'shed requests are counted',
    );
    t.match(metrics, /^http_requests_in_flight 1$/m, 'only the scrape is in flight: every admitted slot was released');
  },
);

t.test('MAX_CONCURRENT_FORWARD=0 turns the bound off', async (t) => {
  const { app } = await build(t, { overload: { maxConcurrentForward: 0, maxEventLoopDelayMs: 0 } });
  const answers = await Promise.all(Array.from({ length: 6 }, () => forward(app)));
  t.same(
    answers.map((a) => a.statusCode),
    [200, 200, 200, 200, 200, 200],
  );
});

t.test('under pressure (heap above MAX_HEAP_USED_BYTES): compute is shed, probes and metrics are not', async (t) => {
  const { app } = await build(t, {
    overload: { maxHeapUsedBytes: 1, maxEventLoopDelayMs: 0, sampleIntervalMs: 20, retryAfterSeconds: 2 },
  });
  await until(() => app.isUnderPressure(), 'the first sample');
  const res = await forward(app);
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '2');
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.json().type, 'urn:rnn-serve:problem:overloaded');
  t.match(res.json().detail, /the heap in use is above 1 bytes \(MAX_HEAP_USED_BYTES\); retry after 2 s/);
  t.equal(res.headers['content-security-policy'], API_CSP, 'with the security headers');
  for (const url of ['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready', '/metrics']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url} is exempt`);
  }
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^http_requests_shed_total\{reason="overloaded"\} 1$/m);
  t.match(metrics, /^http_requests_total\{method="POST",route="\/rnn\/forward",status_code="503"\} 1$/m);
});

t.test('a blocked event loop (delay above MAX_EVENT_LOOP_DELAY_MS) sheds, then service resumes', async (t) => {
  const { app } = await build(t, {
    overload: { maxEventLoopDelayMs: 20, sampleIntervalMs: 100, maxConcurrentForward: 0 },
  });
  // Start-up itself blocked the event loop: wait for a calm sample first.
  await until(() => !app.isUnderPressure(), 'a calm sample after start-up');
  t.equal((await forward(app)).statusCode, 200);
  // under-pressure takes the mean of the delays recorded since its last sample, so the short delays recorded
  // before the block can dilute one block below the bound (seen once in CI under Node 24): block again until a
  // sample sees it, at most 5 times.
  for (let attempt = 0; attempt < 5 && !app.isUnderPressure(); attempt++) {
    const busyUntil = Date.now() + 600;
    while (Date.now() < busyUntil) {
      // a request that hogs the event loop
    }
    await until(() => app.isUnderPressure(), 'the delay to be sampled', 400).catch(() => undefined);
  }
  t.ok(app.isUnderPressure(), 'the blocked event loop was sampled');
  const res = await forward(app);
  t.equal(res.statusCode, 503);
  t.match(res.json().detail, /the event loop delay is above 20 ms \(MAX_EVENT_LOOP_DELAY_MS\)/);
  t.equal(
    (await app.inject({ method: 'GET', url: '/readyz' })).statusCode,
    200,
    'still ready: a busy instance is not a broken one',
  );
  await until(() => !app.isUnderPressure(), 'the next calm sample');
  t.equal((await forward(app)).statusCode, 200, 'served again');
});

t.test('MAX_CONCURRENT_FORWARD: the slot of a client that went away is released', async (t) => {
  const { app } = await build(t, {
    overload: { maxConcurrentForward: 1, maxEventLoopDelayMs: 0, retryAfterSeconds: 4 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const inFlight = async () => /^http_requests_in_flight (\d+)$/m.exec(await app.metrics.registry.metrics())?.[1];

  // Headers and a part of the body: admitted, and holding the one slot while it waits for the rest.
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    'POST /rnn/forward HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"inputs":',
  );
  await until(async () => (await inFlight()) === '1', 'the request to be admitted');
  const refused = await send(port, 'POST', '/rnn/forward', HELLO, { 'x-request-id': 'refused-1' }).answer;
  t.equal(refused.status, 503);
  t.equal(refused.headers['retry-after'], '4');
  t.equal(JSON.parse(refused.body).type, 'urn:rnn-serve:problem:overloaded');
  t.equal(refused.headers['x-request-id'], 'refused-1');
  t.equal(refused.headers['content-security-policy'], API_CSP, 'the security headers too');

  socket.destroy();
  // The slot is released by the same 'close' that takes the request out of the in-flight gauge.
  await until(async () => (await inFlight()) === '0', 'the abandoned request to be let go');
  t.equal(
    (await send(port, 'POST', '/rnn/forward', HELLO).answer).status,
    200,
    'served: the abandoned request let its slot go',
  );
});
