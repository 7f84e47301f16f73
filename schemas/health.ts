import { z } from 'zod';

/** GET /healthz and GET /readyz. */
export const HealthStatus = z
  .object({
    status: z.enum(['live', 'ready']).describe('`live` from /healthz, `ready` from /readyz'),
    skippedModels: z
      .array(
        z.object({
          name: z.string(),
          version: z.string(),
          file: z.string().describe('The file or directory at fault'),
          error: z.string().describe('One line: the file and the problem'),
        }),
      )
      .optional()
      .describe('/readyz only, when MODELS_ON_ERROR=skip left models out: each one and why'),
    sequences: z
      .object({
        store: z.enum(['memory', 'redis']).describe('Where sequence state lives: this process, or Redis (REDIS_URL)'),
        ready: z.boolean(),
        reason: z
          .string()
          .optional()
          .describe('Why the store cannot be used now (`redis: connect ECONNREFUSED ...`): sequence requests get 503'),
      })
      .optional()
      .describe(
        '/readyz only: the sequence store. The instance stays ready while it is down: stateless requests are served; ' +
          'sequence requests get 503 until it is back',
      ),
  })
  .meta({ id: 'HealthStatus', examples: [{ status: 'ready' }] });

/** Open Inference Protocol (KServe v2) server liveness, GET /v2/health/live. */
export const ServerLive = z
  .object({ live: z.boolean().describe('Always true when the server answers') })
  .meta({ id: 'ServerLive', examples: [{ live: true }] });

/** Open Inference Protocol (KServe v2) server readiness, GET /v2/health/ready. */
export const ServerReady = z
  .object({ ready: z.boolean().describe('True once the warm-up forward pass has run, until shutdown begins') })
  .meta({ id: 'ServerReady', examples: [{ ready: true }] });
