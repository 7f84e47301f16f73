/**
 * CORS (@fastify/cors), off unless CORS_ORIGINS lists the origins allowed to call the API from a browser:
 * without it no CORS headers are sent and browsers keep cross-origin pages out.
 */
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async function cors(app: FastifyInstance, { origins }: { origins: readonly string[] }) {
    if (origins.length === 0) return;
    await app.register(fastifyCors, {
      origin: [...origins],
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'traceparent', 'tracestate'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate', 'traceresponse'],
      maxAge: 600,
    });
  },
  { name: 'cors' },
);
