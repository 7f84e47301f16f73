/**
 * Documents, on every route with response schemas, the answers the operational plugins can give it, so the
 * OpenAPI document lists them whatever the configuration: 401/403 (API_KEYS; not on probes), 429
 * (RATE_LIMIT_MAX) and 503 overloaded (load shedding; neither on probes nor /metrics); on the routes that
 * run forward passes (`computeRoutes`), 422 for a result JSON cannot carry and 503 for the memory budget or a
 * failed worker too. A route's own entry for a status wins. Open Inference Protocol routes (`config.oip`)
 * answer them as `{"error": ...}`. Probes declare that they need no API key (`security: []`), whatever the
 * document's default.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { oipErrorResponse } from '../../../schemas/oip.js';
import { problemResponse } from '../../../schemas/problem.js';

export default fp(
  async function opsResponses(app: FastifyInstance, options: { computeRoutes: readonly string[] }) {
    const compute = new Set(options.computeRoutes);
    app.addHook('onRoute', (route) => {
      const schema = route.schema as
        | { hide?: boolean; response?: Record<string, unknown>; security?: unknown[] }
        | undefined;
      const response = schema?.response;
      if (schema === undefined || response === undefined || schema.hide === true) return;
      const problem = route.config?.oip === true ? oipErrorResponse : problemResponse;
      const add = (status: string, description: string) => {
        if (!(status in response)) response[status] = problem(description);
      };
      const probe = route.config?.probe === true;
      const metrics = route.config?.metrics === true;
      if (probe) schema.security = [];
      if (compute.has(route.url)) {
        add(
          '422',
          'The result is not finite (NaN or ±Infinity: float32 overflow), which JSON cannot carry; `errors` names the first such value',
        );
        add(
          '503',
          'Overloaded (MAX_CONCURRENT_FORWARD, POOL_MAX_QUEUE, MEMORY_BUDGET_BYTES, event loop, memory) or the worker computing the pass failed; see `Retry-After`',
        );
      }
      if (!probe) {
        add(
          '401',
          'API keys are configured (API_KEYS) and no `Authorization: Bearer <key>` was sent; see `WWW-Authenticate`',
        );
        add('403', 'The API key sent is not one of API_KEYS');
      }
      if (!probe && !metrics) {
        add('429', 'More than RATE_LIMIT_MAX requests in RATE_LIMIT_WINDOW_MS from this client; see `Retry-After`');
        add('503', 'Overloaded: load is being shed (MAX_CONCURRENT_FORWARD, event loop, memory); see `Retry-After`');
      }
    });
  },
  { name: 'ops-responses' },
);
