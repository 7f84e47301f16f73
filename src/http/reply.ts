import type { FastifyReply } from 'fastify';
import type { JsonBody } from '../codec/json-writer.js';
import { sendCompressed } from './plugins/compression.js';

/**
 * Sends a JSON body already written: text as it is (Node writes headers and body in one write), bytes as a
 * Buffer over the same memory (no copy). The route's response schema documents its shape. A large answer is
 * compressed here for clients that accept that (the forward routes have no compressing onSend hook, see
 * `plugins/compression.ts`; on a route that has one, an answer already compressed is left as it is).
 */
export function sendJson(reply: FastifyReply, body: JsonBody): FastifyReply {
  const payload = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return sendCompressed(reply.type('application/json; charset=utf-8'), payload);
}
