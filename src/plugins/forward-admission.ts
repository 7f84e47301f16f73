/**
 * A bound on compute requests admitted at once (computing, or received and waiting their turn): beyond
 * MAX_CONCURRENT_FORWARD a request is answered 503 problem+json with `Retry-After` at once instead of queueing
 * behind the others. Compute runs on the event loop, so admitted requests yield once before computing: that
 * lets every request already received be read, and counted, before the event loop is busy again.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../problems.js';

export interface AdmissionOptions {
  /** Route templates the bound applies to, e.g. `/rnn/forward`. */
  routes: readonly string[];
  /** 0 = unbounded. */
  maxConcurrent: number;
  retryAfterSeconds: number;
}

export default fp(
  async function forwardAdmission(app: FastifyInstance, { routes, maxConcurrent, retryAfterSeconds }: AdmissionOptions) {
    if (maxConcurrent === 0) return;
    const bounded = new Set(routes);
    const admitted = new WeakSet<object>();
    let active = 0;

    app.addHook('onRequest', async (request, reply) => {
      if (!bounded.has(request.routeOptions.url ?? '')) return;
      if (active >= maxConcurrent) {
        throw new ProblemError(
          'overloaded',
          `${active} compute requests are already running or waiting; the limit is ${maxConcurrent} (MAX_CONCURRENT_FORWARD); retry after ${retryAfterSeconds} s`,
          [],
          { 'retry-after': String(retryAfterSeconds) },
        );
      }
      active += 1;
      admitted.add(request);
      reply.raw.once('close', () => {
        if (admitted.delete(request)) active -= 1;
      });
    });
    app.addHook('preHandler', async (request) => {
      if (admitted.has(request)) await yieldToEventLoop();
    });
  },
  { name: 'forward-admission', dependencies: ['problems'] },
);
