/**
 * A bound on compute requests admitted at once (computing, or received and waiting their turn): beyond
 * MAX_CONCURRENT_FORWARD a request is answered 503 problem+json with `Retry-After` at once instead of queueing
 * behind the others. Admission itself never waits: the compute runner (src/runtime/pool.ts) yields to the event loop
 * once
 * before an inline computation large enough to hold it, so that requests already received are read, and
 * counted here, before it runs; small requests, the common case, go straight through.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../errors/problem-error.js';

export interface AdmissionOptions {
  /** Route templates the bound applies to, e.g. `/rnn/forward`. */
  routes: readonly string[];
  /** 0 = unbounded. */
  maxConcurrent: number;
  retryAfterSeconds: number;
}

export default fp(
  async function forwardAdmission(
    app: FastifyInstance,
    { routes, maxConcurrent, retryAfterSeconds }: AdmissionOptions,
  ) {
    if (maxConcurrent === 0) return;
    const bounded = new Set(routes);
    let active = 0;
    // 'close' comes once for every response (Node guards it), also when the client went away first: one
    // shared listener releases the slot, with no per-request bookkeeping.
    const release = () => {
      active -= 1;
    };

    const admit = (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      if (active >= maxConcurrent) {
        return done(
          new ProblemError(
            'overloaded',
            `${active} compute requests are already running or waiting; the limit is ${maxConcurrent} (MAX_CONCURRENT_FORWARD); retry after ${retryAfterSeconds} s`,
            [],
            { 'retry-after': String(retryAfterSeconds) },
          ),
        );
      }
      active += 1;
      reply.raw.on('close', release);
      done();
    };
    // A hook of the bounded routes only (after the app-wide ones), so other requests pay nothing for it.
    app.addHook('onRoute', (route) => {
      if (!bounded.has(route.url)) return;
      const own = route.onRequest;
      route.onRequest = own === undefined ? [admit] : [...(Array.isArray(own) ? own : [own]), admit];
    });
  },
  { name: 'forward-admission', dependencies: ['problems'] },
);
