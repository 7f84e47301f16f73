/** GET /metrics: the app's Prometheus registry in the text exposition format. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { COMMON_PROBLEMS } from './health-route.js';

const metricsRoute: FastifyPluginAsyncZod = async (app) => {
  app.get('/metrics', {
    config: { metrics: true },
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format)',
      description: 'Open unless API keys are configured and METRICS_AUTH is true.',
      response: {
        200: {
          description: 'Counters, histograms and gauges of this instance',
          content: { 'text/plain': { schema: z.string() } },
        },
        ...COMMON_PROBLEMS,
      },
    },
    handler: async (_request, reply) => {
      const text = await app.metrics.registry.metrics();
      return reply.type(app.metrics.registry.contentType).send(text);
    },
  });
};

export default metricsRoute;
