/**
 * Compressed request bodies (`Content-Encoding: gzip`, `deflate`, `br`), decompressed before the body parser
 * sees them, so both parsing paths (on the event loop, or deferred to a worker as bytes) get plain JSON.
 *
 * Our own rather than @fastify/compress's request decompression, although that one is bounded too (Fastify
 * counts the bytes of the stream a preParsing hook returns against bodyLimit, and a 1 GiB gzip bomb is a 413
 * there as well): its error hooks copy their fields onto zlib's Error, so the answers would not be our
 * problems; its coding names match case-sensitively, without x-gzip; and its 413 cannot say that the
 * decompressed size is what passed the limit. Here the decompressed bytes are counted as they come out and
 * the decompressor is destroyed the moment they pass BODY_LIMIT_BYTES: a bomb costs at most the limit's worth
 * of inflating, and nothing beyond the limit is ever held. An unknown coding is a 415 naming it (with
 * `Accept-Encoding` listing ours, RFC 7694); a stream that does not decompress is a 400.
 */
import { PassThrough, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../errors/problem-error.js';

/** The codings accepted on requests, as named in `Content-Encoding` (`x-gzip` is gzip, RFC 9110 §8.4.1.3). */
const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};
export const REQUEST_ENCODINGS = 'gzip, deflate, br';

/** The stream Fastify reads the body from; it compares `receivedEncodedLength` with Content-Length. */
type Decoded = PassThrough & { receivedEncodedLength: number };

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * `raw` decompressed by `decoder`, ending in an error (a ProblemError) as soon as the output passes `limit`
 * bytes or the input turns out not to be in that coding.
 */
function bounded(
  raw: Readable,
  decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress,
  limit: number,
  name: string,
): Decoded {
  const out = new PassThrough() as Decoded;
  out.receivedEncodedLength = 0;
  let decoded = 0;
  let stopped = false;
  const stop = (error: Error): void => {
    if (stopped) return;
    stopped = true;
    raw.unpipe(decoder);
    raw.removeListener('data', countEncoded);
    decoder.destroy();
    // The rest of the compressed body is read and dropped, so the answer can go out on this connection.
    raw.resume();
    out.destroy(error);
  };
  const countEncoded = (chunk: Buffer): void => {
    out.receivedEncodedLength += chunk.length;
  };
  raw.on('data', countEncoded);
  raw.on('error', (error) => stop(error));
  decoder.on('data', (chunk: Buffer) => {
    decoded += chunk.length;
    if (decoded > limit) {
      stop(
        new ProblemError(
          'body-too-large',
          `the request body decompresses to more than the limit of ${limit} bytes (BODY_LIMIT_BYTES)`,
        ),
      );
    } else if (!out.write(chunk)) decoder.pause();
  });
  out.on('drain', () => decoder.resume());
  decoder.on('end', () => out.end());
  decoder.on('error', (error) => {
    stop(
      ProblemError.at('invalid-request', [
        { path: '$', message: `is not valid ${name} (Content-Encoding): ${error.message}` },
      ]),
    );
  });
  // Fastify listens for errors while it reads the body; this one covers a stream stopped after it gave up.
  out.on('error', () => {});
  raw.pipe(decoder);
  return out;
}

export default fp(
  async function requestDecompression(app: FastifyInstance, options: { bodyLimit: number }) {
    app.addHook('preParsing', (request, _reply, payload, done) => {
      const header = request.headers['content-encoding'];
      if (header === undefined || !hasBody(request)) {
        done(null, payload);
        return;
      }
      const name = header.trim().toLowerCase();
      if (name === 'identity' || name === '') {
        done(null, payload);
        return;
      }
      const decoder = DECODERS[name];
      if (decoder === undefined) {
        done(
          new ProblemError(
            'unsupported-media-type',
            `Content-Encoding '${header}' is not supported; send ${REQUEST_ENCODINGS} or an uncompressed body`,
            [],
            { 'accept-encoding': REQUEST_ENCODINGS },
          ),
        );
        return;
      }
      const limit = request.routeOptions.bodyLimit ?? options.bodyLimit;
      done(null, bounded(payload, decoder(), limit, name));
    });
  },
  { name: 'request-decompression' },
);
