import t from 'tap';
import { keyMatches } from '../../../src/runtime/api-keys.js';
import {
  API_CSP,
  API_SECURITY_HEADERS,
  DOCS_CSP,
  DOCUMENT_SECURITY_HEADERS,
} from '../../../src/http/plugins/security-headers.js';
import { createHash } from 'node:crypto';
import { build, HELLO } from '../../helpers/build.js';

type App = Awaited<ReturnType<typeof build>>['app'];

const KEY_A = 'test-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'test-key-bbbbbbbbbbbbbbbb';

const forward = (app: App, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(HELLO),
  });

t.test('without API_KEYS nothing needs a key', async (t) => {
  const { app } = await build(t);
  t.equal((await forward(app)).statusCode, 200);
  t.equal((await forward(app, { authorization: 'Bearer whatever-it-is-123' })).statusCode, 200);
});

t.test('with API_KEYS: missing 401 + WWW-Authenticate, wrong 403, right 200; all problem+json', async (t) => {
  const { app } = await build(t, { access: { apiKeys: [KEY_A, KEY_B] } });
  const missing = await forward(app);
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="rnn-serve"');
  t.match(missing.headers['content-type'], /^application\/problem\+json/);
  t.equal(missing.json().type, 'urn:rnn-serve:problem:unauthorized');
  t.match(missing.json().detail, /Authorization: Bearer <key>/);

  const malformed = await forward(app, { authorization: `Basic ${KEY_A}` });
  t.equal(malformed.statusCode, 401);
  t.match(malformed.headers['www-authenticate'], /^Bearer .*error="invalid_request"/);

  const wrong = await forward(app, { authorization: `Bearer ${KEY_A}x` });
  t.equal(wrong.statusCode, 403);
  t.match(wrong.headers['content-type'], /^application\/problem\+json/);
  t.equal(wrong.json().type, 'urn:rnn-serve:problem:forbidden');
  t.notMatch(wrong.body, new RegExp(KEY_A), 'the key is not echoed');

  t.equal((await forward(app, { authorization: `Bearer ${KEY_A}` })).statusCode, 200);
  const second = await forward(app, { authorization: `bearer  ${KEY_B}` });
  t.equal(second.statusCode, 200, 'any configured key, scheme case-insensitive');
  t.same(second.json().states, [[-0.8389222, 0.8316943]]);

  t.equal(
    (await app.inject({ method: 'GET', url: '/no/such/route' })).statusCode,
    401,
    'unknown routes do not reveal themselves',
  );
});

t.test('with API_KEYS: probes, docs and (by default) /metrics stay open', async (t) => {
  const { app } = await build(t, { access: { apiKeys: [KEY_A] } });
  for (const url of [
    '/healthz',
    '/readyz',
    '/v2/health/live',
    '/v2/health/ready',
    '/metrics',
    '/openapi.json',
    '/docs/',
    '/docs/static/swagger-initializer.js',
    '/',
    '/playground/playground.js',
  ]) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  }
});

t.test('METRICS_AUTH protects /metrics too', async (t) => {
  const { app } = await build(t, { access: { apiKeys: [KEY_A], metricsAuth: true } });
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  t.equal(
    (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${KEY_B}` } })).statusCode,
    403,
  );
  const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${KEY_A}` } });
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /^# HELP http_requests_total/m);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'probes stay open');
});

t.test('keyMatches compares digests against every key', async (t) => {
  const digests = [KEY_A, KEY_B].map((k) => createHash('sha256').update(k).digest());
  t.equal(keyMatches(KEY_A, digests), true);
  t.equal(keyMatches(KEY_B, digests), true);
  t.equal(keyMatches(KEY_A.slice(0, -1), digests), false);
  t.equal(keyMatches('', digests), false);
  t.equal(keyMatches(KEY_A, []), false);
});

t.test(
  'rate limiting: off by default; with RATE_LIMIT_MAX, 429 problem+json with Retry-After; probes exempt',
  async (t) => {
    const off = (await build(t)).app;
    const offAnswers = await Promise.all(Array.from({ length: 5 }, () => forward(off)));
    t.same(
      offAnswers.map((a) => a.statusCode),
      [200, 200, 200, 200, 200],
    );
    t.equal(offAnswers[0].headers['x-ratelimit-limit'], undefined);

    const { app } = await build(t, { access: { rateLimitMax: 2, rateLimitWindowMs: 30_000 } });
    t.equal((await forward(app)).statusCode, 200);
    const second = await forward(app);
    t.equal(second.statusCode, 200);
    t.equal(second.headers['x-ratelimit-remaining'], '0');
    const third = await forward(app);
    t.equal(third.statusCode, 429);
    t.match(third.headers['content-type'], /^application\/problem\+json/);
    const retryAfter = Number(third.headers['retry-after']);
    t.ok(retryAfter >= 29 && retryAfter <= 30, `Retry-After ${third.headers['retry-after']}`);
    t.equal(third.json().type, 'urn:rnn-serve:problem:rate-limited');
    t.equal(third.headers['content-security-policy'], API_CSP, 'with the security headers');
    t.match(third.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    t.match(
      third.json().detail,
      /more than 2 requests in 30000 ms from this client \(RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MS\)/,
    );
    for (const url of ['/healthz', '/readyz', '/healthz', '/metrics'])
      t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url} exempt`);
    t.match(
      (await app.inject({ method: 'GET', url: '/metrics' })).body,
      /^http_requests_shed_total\{reason="rate-limited"\} 1$/m,
    );
    const other = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      remoteAddress: '127.0.0.9',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(HELLO),
    });
    t.equal(other.statusCode, 200, 'counted per client address');
  },
);

t.test('security headers: a CSP that allows nothing on the API, the one Swagger UI needs on /docs', async (t) => {
  const { app } = await build(t);
  const api = await forward(app);
  t.equal(api.headers['content-security-policy'], API_CSP);
  t.equal(api.headers['x-content-type-options'], 'nosniff');
  t.equal(api.headers['x-frame-options'], 'SAMEORIGIN');
  t.match(api.headers['strict-transport-security'], /max-age=\d+/);
  const problem = await app.inject({ method: 'GET', url: '/nope' });
  t.equal(problem.headers['content-security-policy'], API_CSP, 'errors too');
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger-ui-bundle\.js/);
  t.equal(docs.headers['content-security-policy'], DOCS_CSP);
  t.notMatch(docs.headers['content-security-policy'], /upgrade-insecure-requests/);
  const script = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
  t.equal(script.statusCode, 200);
  t.equal(script.headers['content-security-policy'], DOCS_CSP);
  const spec = await app.inject({ method: 'GET', url: '/docs/json' });
  t.equal(spec.statusCode, 200, 'the spec the UI loads');
  t.equal(spec.json().info.title, 'rnn-serve');
});

t.test('HTML documents get every helmet default; JSON answers only the ones that apply to an API', async (t) => {
  const { app } = await build(t);
  const pick = (headers: Record<string, unknown>, names: string[]) =>
    Object.fromEntries(names.map((name) => [name, headers[name]]));
  const apiNames = Object.keys(API_SECURITY_HEADERS);
  const documentOnly = Object.keys(DOCUMENT_SECURITY_HEADERS).filter((name) => !apiNames.includes(name));
  t.ok(documentOnly.length >= 5, `document-only headers: ${documentOnly}`);
  for (const url of ['/docs/', '/']) {
    const page = await app.inject({ method: 'GET', url });
    t.match(page.headers['content-type'], /^text\/html/, `${url} is a document`);
    t.same(
      pick(page.headers, Object.keys(DOCUMENT_SECURITY_HEADERS)),
      DOCUMENT_SECURITY_HEADERS,
      `${url}: all of them`,
    );
  }
  for (const answer of [
    await forward(app),
    await app.inject({ method: 'GET', url: '/nope' }),
    await app.inject({ method: 'GET', url: '/healthz' }),
  ]) {
    t.same(pick(answer.headers, apiNames), API_SECURITY_HEADERS, `${answer.headers['content-type']}: the API set`);
    t.same(
      pick(answer.headers, documentOnly),
      Object.fromEntries(documentOnly.map((name) => [name, undefined])),
      'and none of the document ones',
    );
  }
});

t.test('security headers and x-request-id on every kind of answer: errors, probes, metrics, HEAD', async (t) => {
  const { app } = await build(t);
  const answers: [string, Awaited<ReturnType<typeof app.inject>>, number][] = [
    ['unknown route', await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'id-1' } }), 404],
    [
      'other method',
      await app.inject({ method: 'GET', url: '/rnn/forward', headers: { 'x-request-id': 'id-2' } }),
      405,
    ],
    [
      'bad JSON',
      await app.inject({
        method: 'POST',
        url: '/rnn/forward',
        headers: { 'content-type': 'application/json', 'x-request-id': 'id-3' },
        payload: '{',
      }),
      400,
    ],
    [
      'media type',
      await app.inject({
        method: 'POST',
        url: '/rnn/forward',
        headers: { 'content-type': 'text/plain', 'x-request-id': 'id-4' },
        payload: 'x',
      }),
      415,
    ],
    [
      'schema',
      await app.inject({
        method: 'POST',
        url: '/rnn/forward',
        headers: { 'content-type': 'application/json', 'x-request-id': 'id-5' },
        payload: '{}',
      }),
      400,
    ],
    ['probe', await app.inject({ method: 'GET', url: '/readyz', headers: { 'x-request-id': 'id-6' } }), 200],
    ['HEAD', await app.inject({ method: 'HEAD', url: '/healthz', headers: { 'x-request-id': 'id-7' } }), 200],
    ['metrics', await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-request-id': 'id-8' } }), 200],
  ];
  for (const [i, [what, res, status]] of answers.entries()) {
    t.equal(res.statusCode, status, what);
    t.equal(res.headers['content-security-policy'], API_CSP, `${what}: CSP`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', `${what}: CORP`);
    t.equal(res.headers['x-request-id'], `id-${i + 1}`, `${what}: request id`);
  }
});

t.test('CORS: no headers unless CORS_ORIGINS; then only for the listed origins, preflights answered', async (t) => {
  const off = (await build(t)).app;
  const plain = await forward(off, { origin: 'https://app.example' });
  t.equal(plain.headers['access-control-allow-origin'], undefined);

  const { app } = await build(t, { access: { corsOrigins: ['https://app.example'], apiKeys: [KEY_A] } });
  const allowed = await forward(app, { origin: 'https://app.example', authorization: `Bearer ${KEY_A}` });
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
  t.match(allowed.headers['access-control-expose-headers'], /x-request-id/);
  const foreign = await forward(app, { origin: 'https://evil.example', authorization: `Bearer ${KEY_A}` });
  t.equal(foreign.headers['access-control-allow-origin'], undefined);
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/rnn/forward',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
  t.equal(preflight.statusCode, 204, 'a preflight needs no key');
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  t.match(preflight.headers['access-control-allow-headers'], /authorization/);
  t.equal(preflight.headers['content-security-policy'], API_CSP, 'with the security headers');
});

t.test(
  'TRUST_PROXY: the rate limit and the access log see the client behind a trusted proxy, and only then',
  async (t) => {
    const limit = { rateLimitMax: 2, rateLimitWindowMs: 30_000 };
    /** Three requests from each of two clients behind the proxy at `peer`: the statuses, client by client. */
    const throughProxy = async (app: App, peer = '127.0.0.1') => {
      const statuses: Record<string, number[]> = {};
      for (const client of ['203.0.113.1', '203.0.113.2']) {
        statuses[client] = [];
        for (let i = 0; i < 3; i++) {
          const res = await app.inject({
            method: 'POST',
            url: '/rnn/forward',
            remoteAddress: peer,
            headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
            payload: JSON.stringify(HELLO),
          });
          statuses[client].push(res.statusCode);
        }
      }
      return statuses;
    };
    const clientsLogged = (logs: Record<string, unknown>[]) =>
      [...new Set(logs.filter((l) => l.msg === 'request completed').map((l) => l.remoteAddress))].sort();

    const off = await build(t, { access: limit });
    t.same(
      await throughProxy(off.app),
      { '203.0.113.1': [200, 200, 429], '203.0.113.2': [429, 429, 429] },
      'off (the default): X-Forwarded-For is ignored, every client of the proxy shares its bucket',
    );
    t.same(clientsLogged(off.logs), ['127.0.0.1'], 'and the log names the peer');

    for (const trustProxy of [true, ['127.0.0.1'], ['loopback'], ['10.0.0.0/8', '127.0.0.0/8']] as const) {
      const on = await build(t, { access: { ...limit, trustProxy } });
      t.same(
        await throughProxy(on.app),
        { '203.0.113.1': [200, 200, 429], '203.0.113.2': [200, 200, 429] },
        `TRUST_PROXY=${trustProxy}: a bucket per client`,
      );
      t.same(
        clientsLogged(on.logs),
        ['203.0.113.1', '203.0.113.2'],
        `TRUST_PROXY=${trustProxy}: the log names the client`,
      );
    }

    const other = await build(t, { access: { ...limit, trustProxy: ['10.0.0.0/8'] } });
    t.same(
      await throughProxy(other.app, '192.0.2.9'),
      { '203.0.113.1': [200, 200, 429], '203.0.113.2': [429, 429, 429] },
      'a peer that is not a listed proxy cannot choose its bucket by sending X-Forwarded-For',
    );
    t.same(clientsLogged(other.logs), ['192.0.2.9']);

    // The proxy appends the address it saw to whatever the client sent: with a list, the header is read from the
    // right up to the first address that is not a listed proxy, so a client's own entries change nothing.
    const listed = await build(t, { access: { ...limit, trustProxy: ['127.0.0.1'] } });
    const statuses = [];
    for (const spoofed of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      const res = await listed.app.inject({
        method: 'POST',
        url: '/rnn/forward',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `${spoofed}, 203.0.113.1` },
        payload: JSON.stringify(HELLO),
      });
      statuses.push(res.statusCode);
    }
    t.same(statuses, [200, 200, 429], 'entries a client writes ahead of the proxy give it no new bucket');
    t.same(clientsLogged(listed.logs), ['203.0.113.1']);
  },
);
