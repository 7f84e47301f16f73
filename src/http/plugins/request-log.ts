/**
 * Request ids and the access log: every request gets an id (an incoming `x-request-id` is honoured when it
 * is a sane token, otherwise one is made: see `requestId`), echoed back in `x-request-id`; pino puts it on
 * every log line of the request as `reqId`. One `request completed` line per request replaces Fastify's two.
 */
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawRequestDefaultExpression,
} from 'fastify';
import type { Logger } from 'pino';
import fp from 'fastify-plugin';
import { requestIdFor } from '../../runtime/request-ids.js';

/** The request's id (src/runtime/request-ids.ts): its `x-request-id` when sane, else a new one. */
export function requestId(request: RawRequestDefaultExpression): string {
  return requestIdFor(request.headers['x-request-id']);
}

/** Fastify's request log lines, reduced to one line per request with what an operator looks for. */
export class AccessLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'reqId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ ...accessLine(request, reply), err: error }, 'request errored');
    // The line is built only to be written: with `info` off (LOG_LEVEL=warn…) a request costs no log work.
    else if ((reply.log as LevelAwareLogger).isLevelEnabled('info'))
      reply.log.info(accessLine(request, reply), 'request completed');
  }
}

/** pino's, which every logger of this app is (app.ts); Fastify's logger type leaves it out. */
type LevelAwareLogger = FastifyBaseLogger & Pick<Logger, 'isLevelEnabled'>;

function accessLine(request: FastifyRequest, reply: FastifyReply) {
  return {
    method: request.method,
    url: request.url,
    statusCode: reply.statusCode,
    responseTimeMs: Math.round(reply.elapsedTime * 1000) / 1000,
    remoteAddress: request.ip,
    ...(request.problem ? { problem: request.problem.kind, detail: request.problem.message } : {}),
  };
}

export default fp(
  async function requestLog(app: FastifyInstance) {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
  },
  { name: 'request-log' },
);
