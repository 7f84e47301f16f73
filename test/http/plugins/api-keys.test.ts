/**
 * api-keys.ts: with API_KEYS, every request needs `Authorization: Bearer <key>`. Held, on a bare app, to 401 with
 * WWW-Authenticate for a missing or malformed header, 403 for a wrong key, every configured key accepted, the routes
 * that stay open (probes, the API description, the playground page, preflights, /metrics unless METRICS_AUTH), and
 * no check at all without keys.
 */
import t from 'tap';
import apiKeys from '../../../src/http/plugins/api-keys.js';
import { keyMatches } from '../../../src/runtime/api-keys.js';
import { createHash } from 'node:crypto';
import { bareApp } from '../../helpers/bare-app.js';

const KEY = 'k'.repeat(20);
const OTHER = 'o'.repeat(20);

t.test('keys compared as digests, against every key', async (t) => {
  const digests = [KEY, OTHER].map((k) => createHash('sha256').update(k).digest());
  t.ok(keyMatches(KEY, digests));
  t.ok(keyMatches(OTHER, digests));
  t.notOk(keyMatches(`${KEY}x`, digests));
  t.notOk(keyMatches('', digests));
});

t.test('refusals and the routes that stay open', async (t) => {
  const app = await bareApp(t, apiKeys, { keys: [KEY, OTHER], protectMetrics: false });
  const call = (url: string, authorization?: string, method: 'GET' | 'POST' | 'OPTIONS' = 'GET') =>
    app.inject({ method, url, headers: authorization === undefined ? {} : { authorization } });
  const missing = await call('/rnn/forward', undefined, 'POST');
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="rnn-serve"');
  t.match(missing.headers['content-type'], /^application\/problem\+json/);
  t.equal(missing.json().detail, 'this server needs an API key: send Authorization: Bearer <key>');
  const malformed = await call('/rnn/forward', `Basic ${KEY}`, 'POST');
  t.equal(malformed.statusCode, 401);
  t.equal(malformed.headers['www-authenticate'], 'Bearer realm="rnn-serve", error="invalid_request"');
  const wrong = await call('/rnn/forward', `Bearer ${'x'.repeat(20)}`, 'POST');
  t.equal(wrong.statusCode, 403);
  t.equal(wrong.json().detail, 'the API key is not valid for this server');
  t.equal((await call('/rnn/forward', `Bearer ${KEY}`, 'POST')).statusCode, 200);
  t.equal((await call('/rnn/forward', `bearer   ${OTHER} `, 'POST')).statusCode, 200, 'any configured key, any case');
  for (const open of ['/healthz', '/openapi.json', '/', '/metrics'])
    t.equal((await call(open)).statusCode, 200, `${open} without a key`);
  t.equal(
    (await call('/rnn/forward', undefined, 'OPTIONS')).statusCode,
    405,
    'a preflight is not refused for its key (405: no CORS here)',
  );
});

t.test('METRICS_AUTH; no keys, no check', async (t) => {
  const guarded = await bareApp(t, apiKeys, { keys: [KEY], protectMetrics: true });
  t.equal((await guarded.inject({ url: '/metrics' })).statusCode, 401);
  t.equal((await guarded.inject({ url: '/metrics', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 200);
  const open = await bareApp(t, apiKeys, { keys: [], protectMetrics: true });
  t.equal((await open.inject({ method: 'POST', url: '/rnn/forward' })).statusCode, 200);
});
