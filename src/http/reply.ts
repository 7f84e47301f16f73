import type { FastifyReply } from 'fastify';
import type { JsonBody } from '../codec/json-writer.js';

/**
 * Sends a JSON body already written: text as it is (Node writes headers and body in one write), bytes as a
 * Buffer over the same memory (no copy). The route's response schema documents its shape.
 */
export function sendJson(reply: FastifyReply, body: JsonBody): FastifyReply {
  const payload = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return reply.type('application/json; charset=utf-8').send(payload as never);
}
