/**
 * Liveness and readiness probes, with the Open Inference Protocol (KServe v2) aliases. Live is 200 while
 * the process answers; ready is 503 problem+json while starting (before the warm-up) or draining (after
 * SIGTERM), 200 otherwise.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthStatus, ServerLive, ServerReady } from '../../../../schemas/health.js';
import { problemResponse } from '../../../../schemas/problem.js';
import { ProblemError } from '../../../errors/problem-error.js';
import type { Readiness } from '../../plugins/readiness.js';
import type { SkippedModel } from '../../../models/repository.js';

const problem = problemResponse;
const notReady = problem(
  'Starting (warm-up not yet run) or draining (shutting down); `Retry-After` says when to ask again',
);
/** What any probe can answer besides its own statuses. */
export const COMMON_PROBLEMS = {
  405: problem('Known route, other method (see `Allow`)'),
  500: problem('Unexpected server error (logged; no details exposed)'),
};

export const PROBE_PATHS = {
  live: '/healthz',
  ready: '/readyz',
  oipLive: '/v2/health/live',
  oipReady: '/v2/health/ready',
} as const;

function assertReady(readiness: Readiness, retryAfterSeconds: number): void {
  if (readiness.ready) return;
  const detail =
    readiness.state === 'starting'
      ? 'the server is starting: the warm-up forward pass has not run yet'
      : 'the server is shutting down and no longer takes new work';
  throw new ProblemError('not-ready', detail, [], { 'retry-after': String(retryAfterSeconds) });
}

export interface HealthRouteOptions {
  retryAfterSeconds: number;
  /** Models that failed to load and serve nothing (MODELS_ON_ERROR=skip, or a later load), listed in the /readyz body. */
  skippedModels?: () => readonly SkippedModel[];
  /** The sequence store's kind and readiness, in the /readyz body. */
  sequenceStore?: { readonly kind: 'memory' | 'redis'; ready(): { ready: boolean; reason?: string } };
}

const healthRoutes: FastifyPluginAsyncZod<HealthRouteOptions> = async (
  app,
  { retryAfterSeconds, skippedModels = () => [], sequenceStore },
) => {
  const sequences = () => {
    if (sequenceStore === undefined) return {};
    const state = sequenceStore.ready();
    return {
      sequences: {
        store: sequenceStore.kind,
        ready: state.ready,
        ...(state.ready || state.reason === undefined ? {} : { reason: state.reason }),
      },
    };
  };
  const probe = { probe: true };
  app.get(PROBE_PATHS.live, {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the process answers',
      description:
        'For a liveness probe: 200 as long as the event loop answers, whatever the load (probes are never shed, rate ' +
        'limited or asked for a key). Restart the process when it fails.',
      response: {
        200: { description: 'Alive', content: { 'application/json': { schema: HealthStatus } } },
        ...COMMON_PROBLEMS,
      },
    },
    handler: async () => ({ status: 'live' as const }),
  });
  app.get(PROBE_PATHS.ready, {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 once warmed up, 503 while starting or shutting down',
      description:
        'For a readiness probe: 503 (with `Retry-After`) until the warm-up forward pass has run and again from ' +
        'SIGTERM on, while the server drains; 200 otherwise, listing in `skippedModels` any model version that ' +
        'failed to load and serves nothing (MODELS_ON_ERROR=skip at start-up, or a later load), and in `sequences` whether the sequence store can be used (while it ' +
        'cannot, the instance stays ready: stateless requests are served). Never shed, rate limited or asked for a key.',
      response: {
        200: { description: 'Ready for traffic', content: { 'application/json': { schema: HealthStatus } } },
        503: notReady,
        ...COMMON_PROBLEMS,
      },
    },
    handler: async () => {
      assertReady(app.readiness, retryAfterSeconds);
      const skipped = skippedModels();
      return {
        status: 'ready' as const,
        ...(skipped.length > 0 ? { skippedModels: [...skipped] } : {}),
        ...sequences(),
      };
    },
  });
  app.get(PROBE_PATHS.oipLive, {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Open Inference Protocol server liveness',
      description:
        'GET /healthz in Open Inference Protocol (KServe v2) form: `{"live": true}` while the process answers.',
      response: {
        200: { description: 'Alive', content: { 'application/json': { schema: ServerLive } } },
        ...COMMON_PROBLEMS,
      },
    },
    handler: async () => ({ live: true }),
  });
  app.get(PROBE_PATHS.oipReady, {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Open Inference Protocol server readiness',
      description:
        'GET /readyz in Open Inference Protocol (KServe v2) form: `{"ready": true}` once warmed up, 503 while ' +
        'starting or shutting down.',
      response: {
        200: { description: 'Ready for traffic', content: { 'application/json': { schema: ServerReady } } },
        503: notReady,
        ...COMMON_PROBLEMS,
      },
    },
    handler: async () => {
      assertReady(app.readiness, retryAfterSeconds);
      return { ready: true };
    },
  });
};

export default healthRoutes;
