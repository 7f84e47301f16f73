import t from 'tap';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import problems from '../../../../src/http/plugins/error-handler.js';
import readiness from '../../../../src/http/plugins/readiness.js';
import healthRoutes from '../../../../src/http/routes/ops/health-route.js';
import { build } from '../../../helpers/build.js';

const PROBES = ['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready'];

t.test('a built app has warmed up: live and ready, in both spellings', async (t) => {
  const { app } = await build(t);
  t.equal(app.readiness.state, 'ready');
  const live = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(live.statusCode, 200);
  t.same(live.json(), { status: 'live' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', sequences: { store: 'memory', ready: true } });
  t.same((await app.inject({ method: 'GET', url: '/v2/health/live' })).json(), { live: true });
  const oipReady = await app.inject({ method: 'GET', url: '/v2/health/ready' });
  t.equal(oipReady.statusCode, 200);
  t.same(oipReady.json(), { ready: true });
  t.ok(app.hasRoute({ method: 'GET', url: '/readyz' }));
});

t.test('the warm-up filled the seeded weights cache with the hello model', async (t) => {
  const { app, logs } = await build(t);
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ inputs: [[[1, 0, 0, 0]]], hiddenSize: 2, seed: 42 }),
  });
  t.equal(res.statusCode, 200);
  t.same(res.json().outputs[0][0], [0.35375288, 0.09238475], 'same numbers as the pinned hello example');
  t.notOk(
    logs.some((line) => Number(line.level) >= 50),
    'nothing logged at error level',
  );
});

t.test('draining: readiness turns to 503 problem+json with Retry-After, liveness stays 200', async (t) => {
  const { app } = await build(t, { overload: { retryAfterSeconds: 7 } });
  app.readiness.drain();
  for (const url of ['/readyz', '/v2/health/ready']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 503, url);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal(res.headers['retry-after'], '7');
    const body = res.json();
    t.equal(body.type, 'urn:rnn-serve:problem:not-ready');
    t.match(body.detail, /shutting down/);
    t.equal(body.instance, url);
  }
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 200);
  app.readiness.markReady();
  t.equal(app.readiness.state, 'draining', 'a draining server never becomes ready again');
});

t.test('starting: before the warm-up has run, readiness is 503 (the routes alone, without warm-up)', async (t) => {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(problems, { bodyLimit: 1024 });
  await app.register(readiness);
  await app.register(healthRoutes, { retryAfterSeconds: 1 });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.match(res.json().detail, /starting: the warm-up forward pass has not run yet/);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  app.readiness.markReady();
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});

t.test('probes answer only GET (and HEAD): POST is 405 with Allow', async (t) => {
  const { app } = await build(t);
  for (const url of PROBES) {
    const res = await app.inject({ method: 'POST', url });
    t.equal(res.statusCode, 405, url);
    t.match(res.headers.allow, /GET/);
  }
});
