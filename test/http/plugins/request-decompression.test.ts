/**
 * request-decompression.ts: gzip, deflate and br request bodies decompressed before parsing, bounded by the body
 * limit as they decompress. Held, on a bare app, to each coding (x-gzip and any case too) giving the parsed
 * body, identity passed through, an unknown coding 415 with Accept-Encoding, a stream that is not in its coding 400,
 * and a bomb stopped at the limit with 413 naming it.
 */
import zlib from 'node:zlib';
import Fastify from 'fastify';
import t from 'tap';
import problems from '../../../src/http/plugins/error-handler.js';
import jsonBody from '../../../src/http/plugins/json-body.js';
import requestDecompression, { REQUEST_ENCODINGS } from '../../../src/http/plugins/request-decompression.js';

const LIMIT = 4096;
const BODY = JSON.stringify({ inputs: [[[1, 0, 0, 0]]], note: 'x'.repeat(100) });

async function app(t: { teardown(fn: () => unknown): void }) {
  const server = Fastify({ bodyLimit: LIMIT });
  t.teardown(() => server.close());
  await server.register(problems, { bodyLimit: LIMIT });
  await server.register(jsonBody);
  await server.register(requestDecompression, { bodyLimit: LIMIT });
  server.post('/echo', async (request) => request.body);
  await server.ready();
  return server;
}
const post = (server: Awaited<ReturnType<typeof app>>, payload: Buffer | string, encoding?: string) =>
  server.inject({
    method: 'POST',
    url: '/echo',
    payload,
    headers: {
      'content-type': 'application/json',
      ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
    },
  });

t.test('each coding decompressed to the same body', async (t) => {
  const server = await app(t);
  const expected = JSON.parse(BODY);
  t.same((await post(server, zlib.gzipSync(BODY), 'gzip')).json(), expected);
  t.same((await post(server, zlib.gzipSync(BODY), 'X-GZIP')).json(), expected, 'x-gzip, any case');
  t.same((await post(server, zlib.deflateSync(BODY), 'deflate')).json(), expected);
  t.same((await post(server, zlib.brotliCompressSync(BODY), 'br')).json(), expected);
  t.same((await post(server, BODY, 'identity')).json(), expected);
  t.same((await post(server, BODY)).json(), expected);
  t.equal(REQUEST_ENCODINGS, 'gzip, deflate, br');
});

t.test('refusals', async (t) => {
  const server = await app(t);
  const unknown = await post(server, BODY, 'zstd');
  t.equal(unknown.statusCode, 415);
  t.equal(unknown.headers['accept-encoding'], 'gzip, deflate, br');
  t.equal(
    unknown.json().detail,
    "Content-Encoding 'zstd' is not supported; send gzip, deflate, br or an uncompressed body",
  );
  const corrupt = await post(server, BODY, 'gzip');
  t.equal(corrupt.statusCode, 400);
  t.match(corrupt.json().errors, [{ path: '$', message: /^is not valid gzip \(Content-Encoding\): / }]);
  // 1 MiB of spaces gzips to about 1 KiB: under the limit on the wire, far past it decompressed.
  const bomb = zlib.gzipSync(Buffer.alloc(1 << 20, 0x20));
  t.ok(bomb.length < LIMIT);
  const stopped = await post(server, bomb, 'gzip');
  t.equal(stopped.statusCode, 413);
  t.equal(
    stopped.json().detail,
    `the request body decompresses to more than the limit of ${LIMIT} bytes (BODY_LIMIT_BYTES)`,
  );
});
