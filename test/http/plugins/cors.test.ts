/**
 * cors.ts: CORS headers only for the origins CORS_ORIGINS lists. Held, on a bare app, to a listed origin's answer
 * and preflight (methods, headers, exposed headers, max age), an unlisted origin getting no allow header, and no
 * CORS headers at all without origins.
 */
import t from 'tap';
import cors from '../../../src/http/plugins/cors.js';
import { bareApp } from '../../helpers/bare-app.js';

const ORIGIN = 'https://app.example';

t.test('a listed origin, a preflight, an unlisted origin', async (t) => {
  const app = await bareApp(t, cors, { origins: [ORIGIN] });
  const simple = await app.inject({ method: 'POST', url: '/rnn/forward', headers: { origin: ORIGIN } });
  t.equal(simple.headers['access-control-allow-origin'], ORIGIN);
  t.equal(
    simple.headers['access-control-expose-headers'],
    'x-request-id, retry-after, www-authenticate, traceresponse',
  );
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/rnn/forward',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD, POST');
  t.equal(
    preflight.headers['access-control-allow-headers'],
    'authorization, content-type, x-request-id, traceparent, tracestate',
  );
  t.equal(preflight.headers['access-control-max-age'], '600');
  const other = await app.inject({ method: 'POST', url: '/rnn/forward', headers: { origin: 'https://evil.example' } });
  t.equal(other.headers['access-control-allow-origin'], undefined);
});

t.test('no origins: no CORS headers', async (t) => {
  const app = await bareApp(t, cors, { origins: [] });
  const answer = await app.inject({ method: 'POST', url: '/rnn/forward', headers: { origin: ORIGIN } });
  t.same(
    Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')),
    [],
  );
});
