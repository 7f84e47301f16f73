/**
 * rate-limit.ts: at most RATE_LIMIT_MAX requests per client per window. Held, on a bare app, to the 429
 * problem+json with Retry-After after the limit, probes and /metrics never counted or refused, and nothing
 * limited with RATE_LIMIT_MAX 0.
 */
import t from 'tap';
import rateLimit from '../../../src/http/plugins/rate-limit.js';
import { bareApp } from '../../helpers/bare-app.js';

t.test('the limit per client, probes and /metrics apart', async (t) => {
  const app = await bareApp(t, rateLimit, { max: 2, windowMs: 60_000 });
  const forward = () => app.inject({ method: 'POST', url: '/rnn/forward' });
  t.equal((await forward()).statusCode, 200);
  t.equal((await forward()).statusCode, 200);
  const limited = await forward();
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['content-type'], /^application\/problem\+json/);
  t.equal(limited.headers['retry-after'], '60');
  t.equal(
    limited.json().detail,
    'more than 2 requests in 60000 ms from this client (RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MS); retry after 60 s',
  );
  for (let i = 0; i < 3; i++) {
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'a probe is never limited');
    t.equal((await app.inject({ url: '/metrics' })).statusCode, 200, 'nor /metrics');
  }
  const other = await app.inject({ method: 'POST', url: '/rnn/forward', remoteAddress: '10.0.0.9' });
  t.equal(other.statusCode, 200, 'another client has its own count');
});

t.test('0: off', async (t) => {
  const app = await bareApp(t, rateLimit, { max: 0, windowMs: 1000 });
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'POST', url: '/rnn/forward' })).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: '/rnn/forward' })).headers['x-ratelimit-limit'], undefined);
});
