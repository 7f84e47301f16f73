/**
 * route-kinds.ts tells the plugins what kind of route a request is for. Held, on a bare Fastify app with routes of
 * each kind, to what each function says of a request to each route.
 */
import Fastify from 'fastify';
import t from 'tap';
import { isApiDescription, isMetrics, isPlaygroundPage, isProbe } from '../../src/http/route-kinds.js';

t.test('probes, /metrics, the API description, the playground', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  const kinds = (request: Parameters<typeof isProbe>[0]) => ({
    probe: isProbe(request),
    metrics: isMetrics(request),
    description: isApiDescription(request),
    page: isPlaygroundPage(request),
  });
  const route = (url: string, config = {}) => app.get(url, { config }, async (request) => kinds(request));
  route('/healthz', { probe: true });
  route('/metrics', { metrics: true });
  route('/openapi.json');
  route('/docs');
  route('/docs/*');
  route('/');
  route('/playground/*');
  route('/models/:name');
  const asked = async (url: string) => (await app.inject({ url })).json();
  const none = { probe: false, metrics: false, description: false, page: false };
  t.same(await asked('/healthz'), { ...none, probe: true });
  t.same(await asked('/metrics'), { ...none, metrics: true });
  t.same(await asked('/openapi.json'), { ...none, description: true });
  t.same(await asked('/docs'), { ...none, description: true });
  t.same(await asked('/docs/static/index.css'), { ...none, description: true });
  t.same(await asked('/'), { ...none, page: true });
  t.same(await asked('/playground/draw.js'), { ...none, page: true });
  t.same(await asked('/models/docs'), none, 'by the route, not by the words of its URL');
});
