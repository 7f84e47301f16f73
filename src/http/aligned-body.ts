/**
 * A request body read into memory as Fastify's `parseAs: 'buffer'` reads it (BODY_LIMIT_BYTES enforced while it
 * arrives, its Content-Length checked at the end, Fastify's own errors for both), but into a buffer of its own in
 * which the byte at `alignAt` sits on a 4-byte boundary: the binary tensors after an inference request's JSON header
 * (Inference-Header-Content-Length bytes) are then float32 in place, read without a copy (codec/binary-tensors.ts).
 * One copy of the body in all, as Fastify's concatenation makes.
 */
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import fastify from 'fastify';

const { FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH } = fastify.errorCodes;

export function readAlignedBody(
  request: FastifyRequest,
  payload: Readable,
  alignAt: number,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const limit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const contentLength = Number(request.headers['content-length']);
  if (contentLength > limit) {
    done(new FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const stop = () => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };
  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    // What arrived counts, decompressed or not (a zip bomb stops at the limit too).
    const encoded = (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength ?? 0;
    if (received > limit || encoded > limit) {
      stop();
      done(new FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    chunks.push(bytes);
  }
  function onEnd(error?: Error & { statusCode?: number }): void {
    stop();
    if (error != null) {
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      done(error);
      return;
    }
    const encoded = (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength;
    if (!Number.isNaN(contentLength) && (encoded || received) !== contentLength) {
      done(new FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    // A buffer of its own (never a slice of Node's shared pool), so its offset 0 is 8-aligned.
    const pad = (4 - (alignAt % 4)) % 4;
    const whole = Buffer.allocUnsafeSlow(pad + received);
    let at = pad;
    for (const chunk of chunks) {
      whole.set(chunk, at);
      at += chunk.length;
    }
    done(null, whole.subarray(pad));
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
