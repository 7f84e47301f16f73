/**
 * ops-responses.ts documents on every route with response schemas the answers the operational plugins may give.
 * Held, on a bare app, to the statuses added per kind of route (an API route, a compute route, a probe, /metrics,
 * an inference-protocol route with `{"error"}` bodies), a route's own entry winning, probes needing no key
 * (`security: []`), and hidden routes or routes without response schemas left alone.
 */
import Fastify from 'fastify';
import t from 'tap';
import opsResponses from '../../../src/http/plugins/ops-responses.js';

t.test('the answers added, per kind of route', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  const seen = new Map<string, any>();
  await app.register(opsResponses, { computeRoutes: ['/rnn/forward'] });
  app.addHook('onRoute', (route) => {
    seen.set(route.url, route.schema);
  });
  const ok = async () => ({});
  const own = { description: 'our own 503', content: {} };
  app.post('/rnn/forward', { schema: { response: { 200: {}, 503: own } } }, ok);
  app.get('/models', { schema: { response: { 200: {} } } }, ok);
  app.get('/healthz', { schema: { response: { 200: {} } }, config: { probe: true } }, ok);
  app.get('/metrics', { schema: { response: { 200: {} } }, config: { metrics: true } }, ok);
  app.get('/v2', { schema: { response: { 200: {} } }, config: { oip: true } }, ok);
  app.get('/hidden', { schema: { hide: true, response: { 200: {} } } }, ok);
  app.get('/bare', ok);
  // onRoute runs as each route is declared: what it left is in `seen` (no serializer is compiled here).
  const statuses = (url: string) => Object.keys(seen.get(url)?.response ?? {}).sort();
  t.same(statuses('/rnn/forward'), ['200', '401', '403', '422', '429', '503']);
  t.equal(seen.get('/rnn/forward').response['503'], own, "a route's own entry wins");
  t.match(seen.get('/rnn/forward').response['422'].description, /^The result is not finite/);
  t.same(statuses('/models'), ['200', '401', '403', '429', '503']);
  t.match(seen.get('/models').response['503'].description, /^Overloaded: load is being shed/);
  t.same(statuses('/healthz'), ['200'], 'a probe: never refused by the operational plugins');
  t.same(seen.get('/healthz').security, [], 'and needs no key');
  t.same(statuses('/metrics'), ['200', '401', '403'], '/metrics: keyed (METRICS_AUTH), never shed');
  t.same(Object.keys(seen.get('/v2').response['401'].content), ['application/json'], 'the protocol answers {"error"}');
  t.same(Object.keys(seen.get('/models').response['401'].content), ['application/problem+json']);
  t.same(statuses('/hidden'), ['200']);
  t.equal(seen.get('/bare'), undefined);
});
