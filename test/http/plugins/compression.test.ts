/**
 * Compression both ways: compressed request bodies (gzip, deflate, br) give the answers plain ones give, on
 * the event loop and on the worker path; their decompressed size counts against BODY_LIMIT_BYTES (a gzip
 * bomb is a 413 in milliseconds, without the expansion in memory); an unknown coding is a 415 naming it, a
 * corrupt stream a 400. Answers are compressed for clients that accept it, above a threshold the hello
 * answer stays under, with `Vary: accept-encoding`.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import t from 'tap';
import { negotiateEncoding } from '../../../src/http/plugins/compression.js';
import { build, HELLO, SHIPPED_MODELS } from '../../helpers/build.js';

const ENCODE: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
};
const DECODE: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b),
  deflate: (b) => zlib.inflateSync(b),
  br: (b) => zlib.brotliDecompressSync(b),
};

const INFER = {
  inputs: [{ name: 'input', shape: [1, 2, 4], datatype: 'FP32', data: [1, 0, 0, 0, 0, 1, 0, 0] }],
};
/** An answer of ~40 KB: 4 sequences of 100 steps through 8 units. */
const LARGE = {
  inputs: Array.from({ length: 4 }, (_, b) =>
    Array.from({ length: 100 }, (_, s) => [Math.sin(b + s), Math.cos(s), 0.5, -0.25]),
  ),
  hiddenSize: 8,
  seed: 7,
};

/** `size` bytes of zeros as concatenated gzip members of 1 MiB each (valid gzip: RFC 1952 §2.2), ~1 KB per MiB. */
function gzipBomb(size: number): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(Math.min(size, 2 ** 20)), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(size / 2 ** 20) }, () => member));
}

t.test('the coding negotiated from Accept-Encoding', async (t) => {
  t.equal(negotiateEncoding(undefined), null);
  t.equal(negotiateEncoding('identity'), null);
  t.equal(negotiateEncoding('gzip, deflate, br'), 'gzip', 'ours first among equals');
  t.equal(negotiateEncoding('br;q=1, gzip;q=0.5'), 'br');
  t.equal(negotiateEncoding('gzip;q=0, deflate'), 'deflate');
  t.equal(negotiateEncoding('*'), 'gzip');
  t.equal(negotiateEncoding('x-gzip'), 'gzip');
  t.equal(negotiateEncoding('zstd, compress'), null);
});

t.test('compressed request bodies give the answers plain ones give', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const cases = [
    { url: '/rnn/forward', body: Buffer.from(JSON.stringify(HELLO)) },
    { url: '/v2/models/hello/infer', body: Buffer.from(JSON.stringify(INFER)) },
    { url: '/models/hello/forward', body: Buffer.from(JSON.stringify({ text: ['hello'] })) },
  ];
  for (const { url, body } of cases) {
    const plain = await app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    t.equal(plain.statusCode, 200, url);
    for (const [encoding, encode] of Object.entries(ENCODE)) {
      const res = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        payload: encode(body),
      });
      t.equal(res.statusCode, 200, `${url} ${encoding}`);
      t.equal(res.payload, plain.payload, `${url} ${encoding}: the same answer`);
    }
  }
});

t.test('a compressed body deferred to a worker is decompressed first', async (t) => {
  const { app } = await build(t, { pool: { threads: 1, minBodyBytes: 64 } });
  const body = Buffer.from(JSON.stringify(LARGE));
  const plain = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json' },
    payload: body,
  });
  t.equal(plain.statusCode, 200);
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    payload: zlib.gzipSync(body),
  });
  t.equal(res.statusCode, 200);
  t.equal(res.payload, plain.payload);
});

t.test('the decompressed size counts against BODY_LIMIT_BYTES', async (t) => {
  t.test('10 KB of gzip expanding to 10 MB, over a 1 MiB limit', async (t) => {
    const { app } = await build(t, { limits: { bodyLimitBytes: 2 ** 20 } });
    const bomb = gzipBomb(10 * 2 ** 20);
    t.ok(bomb.length < 12_000, `${bomb.length} bytes of gzip`);
    const started = performance.now();
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: bomb,
    });
    const ms = performance.now() - started;
    t.equal(res.statusCode, 413);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), {
      type: 'urn:rnn-serve:problem:body-too-large',
      detail: `the request body decompresses to more than the limit of ${2 ** 20} bytes (BODY_LIMIT_BYTES)`,
    });
    t.ok(ms < 1000, `answered in ${ms.toFixed(1)} ms`);
  });

  t.test('1 MB of gzip expanding to 1 GiB, over the default 16 MiB, through a socket', async (t) => {
    const { app } = await build(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const bomb = gzipBomb(2 ** 30);
    global.gc?.();
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          port,
          method: 'POST',
          path: '/rnn/forward',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(bomb);
    });
    const ms = performance.now() - started;
    const grown = process.memoryUsage().rss - rss;
    t.equal(res.status, 413);
    t.match(JSON.parse(res.body), { type: 'urn:rnn-serve:problem:body-too-large' });
    t.ok(ms < 1000, `answered in ${ms.toFixed(1)} ms`);
    // The limit's worth of body may be held while it is read (16 MiB); the 1 GiB never is.
    t.ok(grown < 64 * 2 ** 20, `RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });

  t.test('on the Open Inference Protocol routes, in its error format', async (t) => {
    const { app } = await build(t, { models: { dir: SHIPPED_MODELS }, limits: { bodyLimitBytes: 2 ** 20 } });
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipBomb(4 * 2 ** 20),
    });
    t.equal(res.statusCode, 413);
    t.match(res.json(), { error: /decompresses to more than the limit of 1048576 bytes/ });
  });
});

t.test('unknown codings are 415 naming them; corrupt streams are 400', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const body = JSON.stringify(HELLO);
  for (const encoding of ['compress', 'garbage', 'gzip, gzip']) {
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      payload: body,
    });
    t.equal(res.statusCode, 415, encoding);
    t.equal(res.json().type, 'urn:rnn-serve:problem:unsupported-media-type');
    t.ok(res.json().detail.includes(`'${encoding}'`), res.json().detail);
    t.equal(res.headers['accept-encoding'], 'gzip, deflate, br');
  }
  const oip = await app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    headers: { 'content-type': 'application/json', 'content-encoding': 'compress' },
    payload: JSON.stringify(INFER),
  });
  t.equal(oip.statusCode, 415);
  t.match(oip.json(), { error: /Content-Encoding 'compress' is not supported/ });

  const gzipped = zlib.gzipSync(Buffer.from(body));
  const corrupt = [
    ['not gzip at all', 'gzip', Buffer.from(body)],
    ['truncated', 'gzip', gzipped.subarray(0, gzipped.length - 12)],
    ['gzip sent as deflate', 'deflate', gzipped],
  ] as const;
  for (const [what, encoding, payload] of corrupt) {
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      payload,
    });
    t.equal(res.statusCode, 400, what);
    t.equal(res.json().type, 'urn:rnn-serve:problem:invalid-request', what);
    t.match(res.json().detail, new RegExp(`^body: is not valid ${encoding} \\(Content-Encoding\\)`), what);
  }
});

t.test('answers are compressed for clients that accept it, above the threshold', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });

  const plain = await post('/rnn/forward', LARGE);
  t.equal(plain.statusCode, 200);
  t.ok(plain.rawPayload.length > 10_000, `${plain.rawPayload.length} bytes`);
  t.equal(plain.headers['content-encoding'], undefined);
  t.equal(plain.headers.vary, 'accept-encoding', 'a large plain answer varies with Accept-Encoding too');
  for (const encoding of Object.keys(DECODE)) {
    const res = await post('/rnn/forward', LARGE, { 'accept-encoding': encoding });
    t.equal(res.headers['content-encoding'], encoding);
    t.equal(res.headers.vary, 'accept-encoding');
    t.match(res.headers['content-type'], /^application\/json/);
    t.ok(res.rawPayload.length < plain.rawPayload.length / 2, `${encoding}: ${res.rawPayload.length} bytes`);
    t.same(DECODE[encoding](res.rawPayload), plain.rawPayload, `${encoding}: exactly the plain bytes`);
  }
  // Larger than what is compressed on the event loop: on the thread pool, same bytes.
  const huge = { ...LARGE, inputs: Array.from({ length: 8 }, () => LARGE.inputs[0]), hiddenSize: 32 };
  const hugePlain = await post('/rnn/forward', huge);
  t.ok(hugePlain.rawPayload.length > 64 * 1024, `${hugePlain.rawPayload.length} bytes`);
  const hugeGzip = await post('/rnn/forward', huge, { 'accept-encoding': 'gzip' });
  t.same(zlib.gunzipSync(hugeGzip.rawPayload), hugePlain.rawPayload);

  const hello = await post('/rnn/forward', HELLO, { 'accept-encoding': 'gzip, deflate, br' });
  const helloPlain = await post('/rnn/forward', HELLO);
  t.equal(hello.headers['content-encoding'], undefined, 'the hello answer stays plain');
  t.equal(hello.headers.vary, undefined);
  t.equal(hello.payload, helloPlain.payload);

  // Routes compressed by @fastify/compress's hook: the Open Inference Protocol, the document.
  const input = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const infer = { inputs: [{ name: 'input', shape: [1, 100, 4], datatype: 'FP32', data: input }] };
  const oipPlain = await post('/v2/models/hello/infer', infer);
  const oipGzip = await post('/v2/models/hello/infer', infer, { 'accept-encoding': 'gzip' });
  t.equal(oipGzip.headers['content-encoding'], 'gzip');
  t.match(oipGzip.headers.vary, /accept-encoding/);
  t.same(zlib.gunzipSync(oipGzip.rawPayload), oipPlain.rawPayload);
  const doc = await app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': 'br' } });
  t.equal(doc.headers['content-encoding'], 'br');
  t.equal(doc.headers.vary, 'accept-encoding');
  const docPlain = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(docPlain.headers['content-encoding'], undefined);
  t.equal(docPlain.headers.vary, 'accept-encoding', 'a large plain answer varies with Accept-Encoding too');
  const probe = await app.inject({ method: 'GET', url: '/healthz', headers: { 'accept-encoding': 'gzip' } });
  t.equal(probe.headers['content-encoding'], undefined, 'a small answer is plain');
  t.equal(probe.headers.vary, undefined);
  t.ok(JSON.parse(zlib.brotliDecompressSync(doc.rawPayload).toString()).openapi);

  // Problem answers stay correct in both formats.
  const problem = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'accept-encoding': 'gzip' } });
  t.equal(problem.statusCode, 404);
  t.equal(problem.json().type, 'urn:rnn-serve:problem:not-found');
  const oipError = await post('/v2/models/nobody/infer', infer, { 'accept-encoding': 'gzip' });
  t.equal(oipError.statusCode, 404);
  const oipErrorBody =
    oipError.headers['content-encoding'] === 'gzip'
      ? zlib.gunzipSync(oipError.rawPayload).toString()
      : oipError.payload;
  t.match(JSON.parse(oipErrorBody), { error: /nobody/ });
});
