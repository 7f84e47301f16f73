import type { FastifyReply } from 'fastify';

/**
 * Small answers go out as a string: Node then writes the headers and the body in one write, where a Buffer
 * costs a second one (writev), which the hello benchmark showed as the largest cost of a small request.
 * Large answers stay bytes (no copy into a string).
 */
const AS_STRING_BELOW = 64 * 1024;

/** Sends JSON already written as UTF-8 bytes. The route's response schema documents its shape. */
export function sendJsonBytes(reply: FastifyReply, body: Uint8Array): FastifyReply {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const payload = body.byteLength < AS_STRING_BELOW ? bytes.toString('utf8') : bytes;
  return reply.type('application/json; charset=utf-8').send(payload as never);
}
