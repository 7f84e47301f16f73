/**
 * Compressed answers for clients that send `Accept-Encoding`: gzip, deflate or br, in the client's order of
 * preference, ours (gzip, deflate, br) among equals. Answers under COMPRESS_THRESHOLD_BYTES go out plain:
 * below a kilobyte the saving is a packet at most and costs more CPU than it saves (the hello answer is ~200
 * bytes). A compressed answer carries `Vary: accept-encoding`, and so does a large one sent plain.
 *
 * Every route but the forward passes gets @fastify/compress's onSend hook. The forward passes (`hotRoutes`)
 * do not: an onSend hook on a route costs every small request ~5% of its throughput, and their answers are
 * all written by `sendJson`, which compresses them itself (`sendCompressed`) when the answer is large and
 * the client asked. Their problem answers, a few hundred bytes, go out plain. Request bodies are
 * `request-decompression.ts`'s.
 */
import fastifyCompress from '@fastify/compress';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export const COMPRESS_THRESHOLD_BYTES = 1024;
/** Larger answers are compressed on libuv's thread pool, not on the event loop. */
const SYNC_MAX_BYTES = 64 * 1024;

const ENCODINGS = ['gzip', 'deflate', 'br'] as const;
type Encoding = (typeof ENCODINGS)[number];
/** br at quality 4, as @fastify/compress does (its default of 11 is many times slower for a few % less). */
const BROTLI = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } };

/**
 * The coding to answer in for an `Accept-Encoding` header, or null for none: the highest q among ours, ties
 * in our order; `*` and `x-gzip` stand for gzip (RFC 9110 §12.5.3, §8.4.1.3).
 */
export function negotiateEncoding(header: string | undefined): Encoding | null {
  if (header === undefined) return null;
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const part of header.toLowerCase().split(',')) {
    const [token, ...params] = part.split(';').map((s) => s.trim());
    let q = 1;
    for (const param of params) if (param.startsWith('q=')) q = Number(param.slice(2));
    const name = token === '*' || token === 'x-gzip' ? 'gzip' : token;
    const rank = ENCODINGS.indexOf(name as Encoding);
    if (rank < 0 || !(q > 0)) continue;
    if (q > bestQ || (q === bestQ && best !== null && rank < ENCODINGS.indexOf(best))) {
      best = ENCODINGS[rank];
      bestQ = q;
    }
  }
  return best;
}

/** Adds `accept-encoding` to the answer's Vary header (keeping what CORS put there). */
export function varyOnEncoding(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) reply.header('vary', 'accept-encoding');
  else if (!String(vary).toLowerCase().includes('accept-encoding')) reply.header('vary', `${vary}, accept-encoding`);
}

function compressSync(encoding: Encoding, payload: Buffer | string): Buffer {
  if (encoding === 'gzip') return zlib.gzipSync(payload);
  if (encoding === 'deflate') return zlib.deflateSync(payload);
  return zlib.brotliCompressSync(payload, BROTLI);
}

function compressAsync(encoding: Encoding, payload: Buffer, done: (error: Error | null, result: Buffer) => void): void {
  if (encoding === 'gzip') zlib.gzip(payload, done);
  else if (encoding === 'deflate') zlib.deflate(payload, done);
  else zlib.brotliCompress(payload, BROTLI, done);
}

/**
 * Sends `payload` (already typed) as @fastify/compress would on the other routes: plain below the threshold,
 * else with `Vary`, and compressed if the client accepts one of our codings.
 */
export function sendCompressed(reply: FastifyReply, payload: Buffer | string): FastifyReply {
  if (payload.length < COMPRESS_THRESHOLD_BYTES) return reply.send(payload);
  // Large answers vary with Accept-Encoding even when they go out plain, so a cache keeps the copies apart.
  varyOnEncoding(reply);
  const encoding = negotiateEncoding(reply.request.headers['accept-encoding']);
  if (encoding === null) return reply.send(payload);
  reply.header('content-encoding', encoding);
  if (payload.length <= SYNC_MAX_BYTES) return reply.send(compressSync(encoding, payload));
  compressAsync(encoding, typeof payload === 'string' ? Buffer.from(payload) : payload, (error, compressed) => {
    if (error !== null) {
      reply.removeHeader('content-encoding');
      reply.send(error);
    } else reply.send(compressed);
  });
  return reply;
}

const COMPRESSIBLE = /^text\/|[+/]json|javascript|svg\+xml/;

/**
 * A large answer that goes out plain (no Accept-Encoding) says it varies with Accept-Encoding all the same, as
 * the compressed copy the plugin makes for other clients does, so a cache keeps the two apart. Streams
 * (Swagger UI's files) have no size here; the plugin marks them when it compresses them.
 */
function varyIfLarge(
  _request: unknown,
  reply: FastifyReply,
  payload: unknown,
  done: (error: null, payload: unknown) => void,
): void {
  if (
    (typeof payload === 'string' || Buffer.isBuffer(payload)) &&
    payload.length >= COMPRESS_THRESHOLD_BYTES &&
    COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? ''))
  )
    varyOnEncoding(reply);
  done(null, payload);
}

export default fp(
  async function compression(app: FastifyInstance, options: { hotRoutes: readonly string[] }) {
    const hot = new Set(options.hotRoutes);
    // Before the plugin's own onRoute hook, which then leaves the hot routes alone, and puts its onSend hook
    // after ours on the others.
    app.addHook('onRoute', (route) => {
      if (hot.has(route.url)) route.compress = false;
      else route.onSend = [...[route.onSend ?? []].flat(), varyIfLarge];
    });
    await app.register(fastifyCompress, {
      globalCompression: true,
      // Request bodies are decompressed by our own bounded decoder.
      globalDecompression: false,
      encodings: [...ENCODINGS],
      threshold: COMPRESS_THRESHOLD_BYTES,
    });
  },
  { name: 'compression' },
);
