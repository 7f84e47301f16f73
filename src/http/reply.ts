import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { type JsonAnswer, JsonChunks, STREAM_CHUNK_BYTES, type StreamedJson } from '../codec/json-stream.js';
import { sendCompressed } from './plugins/compression.js';

/**
 * Sends a JSON answer: text as it is (Node writes headers and body in one write), bytes as a Buffer over the
 * same memory (no copy), an answer to stream (codec/json-stream.ts) in chunks, as the socket takes them. The
 * route's response schema documents its shape. A whole answer that is large is compressed here for clients that
 * accept that (the forward routes have no compressing onSend hook, see `plugins/compression.ts`); a streamed one
 * is sent as it is written, uncompressed.
 */
export function sendJson(reply: FastifyReply, body: JsonAnswer): FastifyReply {
  if (typeof body !== 'string' && !(body instanceof Uint8Array))
    return reply.type('application/json; charset=utf-8').send(jsonStream(body) as never);
  const payload = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return sendCompressed(reply.type('application/json; charset=utf-8'), payload);
}

/**
 * A streamed answer as a Readable that writes each chunk when it is read: Fastify pipes it into the response,
 * and the pipe reads only while the socket takes what it is given (backpressure), so an answer holds about a
 * chunk here and one in the socket's buffer, besides its tensors. Its length is not known before it is written,
 * so it goes out with Transfer-Encoding: chunked (Node's default for a body of unknown length), without
 * Content-Length. When the client goes away Fastify destroys the stream: no chunk is written after that.
 *
 * Each chunk after the first is written in a turn of the event loop of its own (setImmediate), never in the turn
 * that asked for it. Backpressure alone does not bound the work of one turn: a client on a fast link (loopback, or a kernel
 * socket buffer of several MB) takes every chunk as it comes, and the pipe's read loop, fed synchronously, wrote
 * a whole 47 MB answer in one turn (1–2.6 s of float formatting under the hostile mix, with every other request
 * waiting). Now a turn writes at most one chunk per answer (~0.75 ms for 64 KiB), and requests that arrived
 * meanwhile are read in between.
 */
export function jsonStream(answer: StreamedJson, chunkBytes = STREAM_CHUNK_BYTES): Readable & { chunks: JsonChunks } {
  const chunks = new JsonChunks(answer, chunkBytes);
  let first = true;
  const stream: Readable = new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (!first) {
        setImmediate(writeChunk);
        return;
      }
      // The first chunk at once (this first read comes in a nextTick of the send, before any I/O is read):
      // Fastify writes the headers with it. A response closed before its headers went out is a stream error
      // that Fastify hands to the error handler (a logged 500); once they are out, a client that goes away is
      // only "stream closed prematurely", at info.
      first = false;
      writeChunk();
    },
  });
  function writeChunk(): void {
    // Destroyed meanwhile (the client went away): nothing more is written.
    if (stream.destroyed) return;
    let chunk: Buffer | null;
    try {
      chunk = chunks.next();
    } catch (error) {
      // A bug in the writer: the response ends cut short (its headers are out), and Fastify logs the error.
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    stream.push(chunk);
  }
  return Object.assign(stream, { chunks });
}
