/**
 * A bare Fastify app for the unit tests of one plugin of src/http/plugins: the problems plugin (problem+json
 * answers, which the others depend on), the plugin under test, and routes of each kind (an API route, a probe,
 * /metrics, the API description), each answering `{ ok: true }`. Closed when the test ends.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginOptions } from 'fastify';
import problems from '../../src/http/plugins/error-handler.js';

export async function bareApp<O extends FastifyPluginOptions>(
  t: { teardown(fn: () => unknown): void },
  plugin: FastifyPluginAsync<O> | null,
  options: O,
  fastifyOptions: Record<string, unknown> = {},
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions);
  t.teardown(() => app.close());
  await app.register(problems, { bodyLimit: 1024 * 1024 });
  if (plugin !== null) await app.register(plugin, options);
  const ok = async () => ({ ok: true });
  app.post('/rnn/forward', ok);
  app.get('/healthz', { config: { probe: true } }, ok);
  app.get('/metrics', { config: { metrics: true } }, ok);
  app.get('/openapi.json', ok);
  app.get('/', ok);
  await app.ready();
  return app;
}
