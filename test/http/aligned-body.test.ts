/**
 * readAlignedBody: the body whole, its byte `alignAt` on a 4-byte boundary in memory, and Fastify's own errors for a
 * body over the limit (announced or streamed) and for a Content-Length that does not match, over a real socket.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import Fastify from 'fastify';
import t from 'tap';
import { readAlignedBody } from '../../src/http/aligned-body.js';

async function server(t: { teardown(fn: () => unknown): void }, bodyLimit: number) {
  const app = Fastify({ bodyLimit });
  app.addContentTypeParser('application/octet-stream', (request, payload, done) => {
    const alignAt = Number(request.headers['x-align-at'] ?? 0);
    readAlignedBody(request, payload as Readable, alignAt, done);
  });
  app.post('/', async (request) => {
    const body = request.body as Buffer;
    return {
      length: body.length,
      alignedAt: (body.byteOffset + Number(request.headers['x-align-at'])) % 4,
      hex: body.toString('hex'),
    };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  return (app.server.address() as AddressInfo).port;
}

/** Sends `chunks` (chunked transfer unless `contentLength` is given) and resolves with status and body. */
function send(
  port: number,
  chunks: Buffer[],
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/octet-stream', ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

t.test('the body arrives whole, with byte alignAt 4-aligned, for every alignAt mod 4', async (t) => {
  const port = await server(t, 1 << 20);
  const bytes = Buffer.from(Array.from({ length: 1001 }, (_, i) => (i * 37) & 0xff));
  for (const alignAt of [0, 1, 2, 3, 150, 151]) {
    const res = await send(port, [bytes.subarray(0, 333), bytes.subarray(333)], { 'x-align-at': String(alignAt) });
    t.equal(res.status, 200, res.body);
    const answer = JSON.parse(res.body);
    t.equal(answer.length, bytes.length);
    t.equal(answer.alignedAt, 0, `alignAt ${alignAt}: on a 4-byte boundary`);
    t.equal(answer.hex, bytes.toString('hex'), 'byte for byte');
  }
});

t.test('over the limit: 413 when announced by Content-Length and when streamed without one', async (t) => {
  const port = await server(t, 1000);
  const big = Buffer.alloc(1500, 7);
  const announced = await send(port, [big], { 'content-length': String(big.length) });
  t.equal(announced.status, 413);
  t.match(JSON.parse(announced.body), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  const streamed = await send(port, [big.subarray(0, 600), big.subarray(600)], {});
  t.equal(streamed.status, 413, 'chunked: stopped once more than the limit arrived');
  const atLimit = await send(port, [Buffer.alloc(1000, 1)], {});
  t.equal(atLimit.status, 200, 'exactly the limit is accepted');
});

t.test('a Content-Length that does not match what arrived is a 400', async (t) => {
  const app = Fastify();
  app.addContentTypeParser('application/octet-stream', (request, payload, done) =>
    readAlignedBody(request, payload as Readable, 0, done),
  );
  app.post('/', async (request) => ({ length: (request.body as Buffer).length }));
  t.teardown(() => app.close());
  const res = await app.inject({
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/octet-stream', 'content-length': '10' },
    payload: Buffer.from('abcd'),
  });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' });
  const right = await app.inject({
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/octet-stream', 'content-length': '4' },
    payload: Buffer.from('abcd'),
  });
  t.same(right.json(), { length: 4 });
});
