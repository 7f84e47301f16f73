/**
 * Optional per-client rate limiting (@fastify/rate-limit), on only when RATE_LIMIT_MAX is set: at most
 * that many requests per client address per RATE_LIMIT_WINDOW_MS; beyond it, 429 problem+json with
 * `Retry-After`. Health probes and /metrics are not counted. The counters live in this process: with N
 * instances behind a load balancer a client gets up to N times the limit.
 *
 * The client is `request.ip` (@fastify/rate-limit's default key): the socket's peer, so behind a load balancer
 * every client shares the balancer's bucket unless TRUST_PROXY names the balancer (src/config/config.ts).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../errors/problem-error.js';
import { isMetrics, isProbe } from '../route-kinds.js';

export interface RateLimitOptions {
  /** Requests per window; 0 = off. */
  max: number;
  windowMs: number;
}

export default fp(
  async function clientRateLimit(app: FastifyInstance, { max, windowMs }: RateLimitOptions) {
    if (max === 0) return;
    await app.register(rateLimit, {
      max,
      timeWindow: windowMs,
      allowList: (request) => isProbe(request) || isMetrics(request),
      errorResponseBuilder: (_request, context) => {
        const retryAfter = String(Math.max(1, Math.ceil(context.ttl / 1000)));
        return new ProblemError(
          'rate-limited',
          `more than ${context.max} requests in ${windowMs} ms from this client (RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MS); retry after ${retryAfter} s`,
          [],
          { 'retry-after': retryAfter },
        );
      },
    });
  },
  { name: 'client-rate-limit' },
);
