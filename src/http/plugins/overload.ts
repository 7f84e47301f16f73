/**
 * Load shedding by process health (@fastify/under-pressure): while the event loop delay, event loop
 * utilisation, heap or RSS is above its threshold, requests get 503 problem+json with `Retry-After` at once,
 * so latency stays bounded and clients (or the load balancer) go elsewhere. Probes and /metrics are exempt:
 * a busy instance is alive and should be seen. A 0 threshold is off.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Overload } from '../../config/config.js';
import { ProblemError } from '../../errors/problem-error.js';
import { isMetrics, isProbe } from '../route-kinds.js';

const REASONS: Record<string, (limits: Overload) => string> = {
  eventLoopDelay: (o) => `the event loop delay is above ${o.maxEventLoopDelayMs} ms (MAX_EVENT_LOOP_DELAY_MS)`,
  eventLoopUtilization: (o) =>
    `the event loop utilisation is above ${o.maxEventLoopUtilization} (MAX_EVENT_LOOP_UTILIZATION)`,
  heapUsedBytes: (o) => `the heap in use is above ${o.maxHeapUsedBytes} bytes (MAX_HEAP_USED_BYTES)`,
  rssBytes: (o) => `the resident memory is above ${o.maxRssBytes} bytes (MAX_RSS_BYTES)`,
};

export default fp(
  async function overload(app: FastifyInstance, options: Overload) {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxEventLoopUtilization: options.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      maxHeapUsedBytes: options.maxHeapUsedBytes,
      maxRssBytes: options.maxRssBytes,
      sampleInterval: options.sampleIntervalMs,
      retryAfter: options.retryAfterSeconds,
      pressureHandler: (request, _reply, type) => {
        if (isProbe(request) || isMetrics(request)) return undefined;
        const reason = REASONS[type]?.(options) ?? 'the server is under pressure';
        return Promise.reject(
          new ProblemError(
            'overloaded',
            `the server is overloaded: ${reason}; retry after ${options.retryAfterSeconds} s`,
            [],
            {
              'retry-after': String(options.retryAfterSeconds),
            },
          ),
        );
      },
    });
  },
  { name: 'overload' },
);
