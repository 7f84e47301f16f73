/**
 * Request ids and the access log: every request gets an id (an incoming `x-request-id` is honoured when it
 * is a sane token, otherwise one is made: see `requestId`), echoed back in `x-request-id`; pino puts it on
 * every log line of the request as `reqId`. One `request completed` line per request replaces Fastify's two.
 */
import { randomUUID } from 'node:crypto';
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

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The ids made here are UUIDs of version 8 (RFC 9562's layout for custom ids): 74 random bits drawn when the
 * process starts, then a 48-bit sequence number. Unique across instances and restarts as random UUIDs are,
 * in order within a process (an operator can tell which request came first), and cheaper than a random UUID
 * per request (~1 % of a hello request's throughput on the server; docs/performance.md#where-the-time-goes).
 */
const ID_PREFIX = ((random: string) => `${random.slice(0, 14)}8${random.slice(15, 24)}`)(randomUUID());
let sequence = 0;

export function requestId(request: RawRequestDefaultExpression): string {
  const incoming = request.headers['x-request-id'];
  if (typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming)) return incoming;
  sequence = (sequence + 1) % 2 ** 48;
  return ID_PREFIX + sequence.toString(16).padStart(12, '0');
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
