import t from 'tap';
import { API_CSP } from '../../../src/http/plugins/security-headers.js';
import { build, HELLO } from '../../helpers/build.js';

type App = Awaited<ReturnType<typeof build>>['app'];

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
    overload: { maxEventLoopDelayMs: 20, sampleIntervalMs: 100 },
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
