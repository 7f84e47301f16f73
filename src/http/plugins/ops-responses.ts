/**
 * Documents, on every route with response schemas, the answers the operational plugins can give it, so the
 * OpenAPI document lists them whatever the configuration: 401/403 (API_KEYS; not on probes), 429
 * (RATE_LIMIT_MAX) and 503 overloaded (load shedding; neither on probes nor /metrics). A route's own
 * entry for a status wins. Open Inference Protocol routes (`config.oip`) answer them as `{"error": ...}`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { oipErrorResponse } from '../../../schemas/oip.js';
import { problemResponse } from '../../../schemas/problem.js';

export default fp(
  async function opsResponses(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
      const response = schema?.response;
      if (response === undefined || schema?.hide === true) return;
      const problem = route.config?.oip === true ? oipErrorResponse : problemResponse;
      const add = (status: string, description: string) => {
        if (!(status in response)) response[status] = problem(description);
      };
      const probe = route.config?.probe === true;
      const metrics = route.config?.metrics === true;
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
