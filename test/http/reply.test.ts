/**
 * Streamed answers over a real socket (src/http/reply.ts): a large answer goes out with Transfer-Encoding:
 * chunked and no Content-Length, and its bytes are those of the same answer written whole, inline or from a
 * worker; the chunks are written only as fast as the client reads them (backpressure), and a client that goes
 * away mid-answer stops the writing, with nothing logged at error level and the server answering the next
 * request. A client that reads as fast as it can still gets one chunk per turn of the event loop, so other
 * requests are answered while its answer streams. Small answers are still one body with a Content-Length.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { answerText, type StreamedJson } from '../../src/codec/json-stream.js';
import { defaultConfig } from '../../src/config/config.js';
import { jsonStream } from '../../src/http/reply.js';
import { computeForward, planForward, writeResponse } from '../helpers/forward.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { HELLO, build } from '../helpers/build.js';
import { WeightsRequest } from '../../schemas/weights.js';
import { describeModel, resolveWeightsRequest } from '../../src/inference/weights-export.js';
import { rng } from '../helpers/random.js';

/** A flat request whose answer has batch·time·hiddenSize output values (and as many state values as batch·hidden). */
function largeRequest(batch: number, time: number, hiddenSize: number, seed = 5) {
  const random = rng(seed);
  const data = Array.from({ length: batch * time }, () => Math.fround(random() * 2 - 1));
  return { inputs: { shape: [batch, time, 1], data }, hiddenSize, seed: 3, outputFormat: 'flat' as const };
}

/** The answer the same request gets written whole, in-process. */
function wholeAnswer(body: unknown): string {
  const plan = planForward(ForwardRequest.parse(body), defaultConfig.limits, new SeededWeightsCache(1));
  return answerText(writeResponse(plan, computeForward(plan), Number.POSITIVE_INFINITY));
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as net.AddressInfo).port;
}

/** POST over node:http (which decodes the chunked encoding): status, headers and the body's text. */
function post(port: number, path: string, body: unknown) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Counts what the server writes into each response (the bytes its pipe hands to res.write), per request. */
function countWrites(app: FastifyInstance): { written: number; writes: number; closed: boolean }[] {
  const seen: { written: number; writes: number; closed: boolean }[] = [];
  app.server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    const entry = { written: 0, writes: 0, closed: false };
    seen.push(entry);
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      entry.writes++;
      entry.written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.on('close', () => (entry.closed = true));
  });
  return seen;
}

/** Sends a request on a raw socket; resolves once `bytes` of the answer (headers included) have arrived. */
function rawRequest(port: number, body: unknown, bytes: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const payload = JSON.stringify(body);
  socket.write(
    `POST /rnn/forward HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
  let received = Buffer.alloc(0);
  const head = new Promise<Buffer>((resolve) => {
    const onData = (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (received.length >= bytes) {
        socket.pause();
        socket.off('data', onData);
        resolve(received);
      }
    };
    socket.on('data', onData);
  });
  return { socket, head };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a large answer arrives chunked, without Content-Length, equal to the answer written whole', async (t) => {
  const { app } = await build(t);
  const port = await listen(app);
  // 8·256·64 = 131072 output values (+ 512 state values): ~2 MB expected, above STREAM_MIN_BYTES.
  const body = largeRequest(8, 256, 64);
  const answer = await post(port, '/rnn/forward', body);
  t.equal(answer.status, 200);
  t.equal(answer.headers['transfer-encoding'], 'chunked');
  t.equal(answer.headers['content-length'], undefined, 'no Content-Length');
  t.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
  t.ok(answer.text === wholeAnswer(body), 'the same bytes as the answer written whole');
  t.equal(JSON.parse(answer.text).shapes.outputs.join(), '8,256,64');

  const small = await post(port, '/rnn/forward', HELLO);
  t.equal(small.status, 200);
  t.equal(small.headers['transfer-encoding'], undefined, 'a small answer is one body');
  t.equal(small.headers['content-length'], String(Buffer.byteLength(small.text)));
});

t.test('a large answer computed on a worker streams the same bytes', async (t) => {
  const { app } = await build(t, { pool: { threads: 1, minCompute: 0, minBodyBytes: 0 } });
  const port = await listen(app);
  const body = largeRequest(4, 300, 64, 9);
  const answer = await post(port, '/rnn/forward', body);
  t.equal(answer.status, 200);
  t.equal(answer.headers['transfer-encoding'], 'chunked');
  t.ok(answer.text === wholeAnswer(body), 'the same bytes as the answer written whole');
  // A body parsed on the worker too (POOL_MIN_BODY_BYTES): its answer also comes back as tensors to stream.
  const { app: deferring } = await build(t, { pool: { threads: 1, minCompute: 0, minBodyBytes: 1024 } });
  const deferred = await post(await listen(deferring), '/rnn/forward', body);
  t.equal(deferred.headers['transfer-encoding'], 'chunked');
  t.ok(deferred.text === answer.text, 'the same bytes');
});

t.test(
  'a large /rnn/weights answer streams the bytes of JSON.stringify(describeModel), inline and on a worker',
  async (t) => {
    const body = { inputDim: 256, hiddenSize: 128, seed: 7 };
    const model = resolveWeightsRequest(WeightsRequest.parse(body), defaultConfig.limits, new SeededWeightsCache(1));
    const expected = JSON.stringify(describeModel(model));
    for (const threads of [0, 1]) {
      const { app } = await build(t, { pool: { threads, minCompute: 0 } });
      const answer = await post(await listen(app), '/rnn/weights', body);
      t.equal(answer.status, 200);
      t.equal(answer.headers['transfer-encoding'], 'chunked', `chunked (${threads} workers)`);
      t.equal(answer.headers['content-length'], undefined);
      t.ok(answer.text === expected, `the same bytes (${threads} workers)`);
    }
  },
);

t.test('a client that stops reading holds the writing back (backpressure)', async (t) => {
  const { app, logs } = await build(t);
  const writes = countWrites(app);
  const port = await listen(app);
  // 64·1023·64 + 64·64 = 2^22 values, MAX_OUTPUT_VALUES: ~46 MB of JSON.
  const { socket, head } = rawRequest(port, largeRequest(64, 1023, 64), 8 * 1024);
  await head;
  // The kernel's socket buffers fill first (a chunk per turn of the event loop, slower on a loaded machine):
  // wait until the writing has stopped for 200 ms, then it must stay stopped.
  let first = writes[0].written;
  for (let waited = 0; waited < 10_000; waited += 200) {
    await sleep(200);
    if (writes[0].written === first) break;
    first = writes[0].written;
  }
  await sleep(300);
  const second = writes[0].written;
  t.equal(second, first, 'nothing more is written while the client does not read');
  // What the loopback socket's kernel buffers took, plus a chunk or two: far below the answer.
  t.ok(first < 16 * 1024 * 1024, `written while paused: ${(first / 2 ** 20).toFixed(1)} MB of ~46 MB`);
  socket.destroy();
  await sleep(100);
  t.notOk(
    logs.some((entry) => Number(entry.level) >= 50),
    'nothing logged at error level',
  );
});

t.test('a client that goes away mid-answer: writing stops, nothing fails, the next request works', async (t) => {
  const { app, logs } = await build(t);
  const writes = countWrites(app);
  const port = await listen(app);
  const { socket, head } = rawRequest(port, largeRequest(64, 1023, 64), 4 * 1024);
  const received = await head;
  t.match(received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  t.match(received.toString('latin1'), /\r\ntransfer-encoding: chunked\r\n/i);
  socket.destroy();
  await sleep(200);
  t.ok(writes[0].closed, 'the response is closed');
  const after = writes[0].writes;
  await sleep(300);
  t.equal(writes[0].writes, after, 'no chunk is written after the client left');
  t.ok(writes[0].written < 16 * 1024 * 1024, 'only a part of the answer was ever written');
  const next = await post(port, '/rnn/forward', HELLO);
  t.equal(next.status, 200);
  t.equal(next.text, wholeAnswer(HELLO));
  t.notOk(
    logs.some((entry) => Number(entry.level) >= 50),
    'nothing logged at error level',
  );
});

t.test('jsonStream: a chunk is written only when the reader asks for one', async (t) => {
  const data = new Float32Array(200_000).map((_, i) => Math.sin(i));
  const answer: StreamedJson = { streamed: ['{"x":', { data, shape: [data.length], format: 'flat' }, '}'] };
  const stream = jsonStream(answer, 4096);
  let taken = 0;
  let release: (() => void) | null = null;
  // A reader that takes one chunk, then waits until the test lets it continue.
  const slow = new Writable({
    highWaterMark: 4096,
    write(chunk: Buffer, _encoding, done) {
      taken += chunk.length;
      release = done;
    },
  });
  stream.pipe(slow);
  await sleep(50);
  t.ok(stream.chunks.produced <= 3, `chunks produced while the reader waits: ${stream.chunks.produced}`);
  const produced = stream.chunks.produced;
  await sleep(50);
  t.equal(stream.chunks.produced, produced, 'none more while it still waits');
  t.equal(taken, 4096);
  // Now read everything: the bytes are the answer's.
  const all: Buffer[] = [];
  slow.destroy();
  const rest = jsonStream(answer, 4096);
  for await (const chunk of rest) all.push(chunk as Buffer);
  t.equal(Buffer.concat(all).toString('utf8'), answerText(answer));
  t.equal(JSON.parse(answerText(answer)).x.data.length, data.length);
  (release as (() => void) | null)?.();
});

/** Resolves in the next turn of the event loop (its check phase). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('jsonStream: a reader that takes everything at once still gets one chunk per turn', async (t) => {
  const data = new Float32Array(100_000).map((_, i) => Math.cos(i));
  const answer: StreamedJson = { streamed: ['{"x":', { data, shape: [data.length], format: 'flat' }, '}'] };
  const stream = jsonStream(answer, 4096);
  const received: Buffer[] = [];
  // Takes every chunk the moment it is written (as a socket with room in its kernel buffer does).
  const eager = new Writable({
    highWaterMark: 1 << 30,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      done();
    },
  });
  let finished = false;
  eager.on('finish', () => (finished = true));
  stream.pipe(eager);
  t.equal(stream.chunks.produced, 0, 'nothing is written in the turn that starts the pipe');
  // The first chunk before any I/O is read (Fastify sends the headers with it: a client that leaves after that is
  // a premature close, not an error): the pipe starts in a nextTick.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  t.equal(stream.chunks.produced, 1, 'the first chunk within the ticks that follow');
  let turns = 0;
  let most = 0;
  let before = 0;
  while (!finished && turns < 10_000) {
    await nextTurn();
    turns++;
    most = Math.max(most, stream.chunks.produced - before);
    before = stream.chunks.produced;
  }
  t.ok(finished, `the answer ended after ${turns} turns`);
  t.ok(stream.chunks.produced > 100, `${stream.chunks.produced} chunks`);
  t.ok(most <= 2, `at most ${most} chunks in one turn`);
  t.equal(Buffer.concat(received).toString('utf8'), answerText(answer), 'the bytes of the answer');
});

/**
 * A client on another thread (so it reads while the server's event loop is busy, as a client in another process
 * does) that sends `payload` and reads the whole answer: posts 'first' at its first bytes, then its byte count and
 * the time (performance.timeOrigin + now) at the end.
 */
const FAST_READER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const socket = net.connect(workerData.port, '127.0.0.1');
let bytes = 0;
socket.on('data', (data) => {
  if (bytes === 0) parentPort.postMessage('first');
  bytes += data.length;
  if (data.subarray(-5).toString('latin1') === '0\\r\\n\\r\\n') {
    parentPort.postMessage({ bytes, at: performance.timeOrigin + performance.now() });
    socket.destroy();
  }
});
socket.write('POST /rnn/forward HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\nContent-Length: '
  + Buffer.byteLength(workerData.payload) + '\\r\\n\\r\\n' + workerData.payload);
`;

t.test('a fast reader of a large answer: one chunk per turn, and small requests are answered meanwhile', async (t) => {
  const { app } = await build(t);
  const writes = countWrites(app);
  const port = await listen(app);
  // 64·1023·64 + 64·64 = 2^22 values, MAX_OUTPUT_VALUES: ~46 MB of JSON.
  const reader = new Worker(FAST_READER, {
    eval: true,
    workerData: { port, payload: JSON.stringify(largeRequest(64, 1023, 64)) },
  });
  t.teardown(() => reader.terminate());
  const ended = new Promise<{ bytes: number; at: number }>((resolve) =>
    reader.on('message', (message) => message !== 'first' && resolve(message)),
  );
  await new Promise((resolve) => reader.once('message', resolve));
  // While it streams: the most writes into the large answer in one turn, and a hello request.
  let most = 0;
  let done = false;
  const turns = (async () => {
    let before = writes[0].writes;
    while (!done) {
      await nextTurn();
      most = Math.max(most, writes[0].writes - before);
      before = writes[0].writes;
    }
  })();
  const hello = await post(port, '/rnn/forward', HELLO);
  const helloAt = performance.timeOrigin + performance.now();
  const end = await ended;
  done = true;
  await turns;
  t.equal(hello.status, 200);
  t.equal(hello.text, wholeAnswer(HELLO));
  t.ok(end.bytes > 40 * 2 ** 20, `the large answer arrived whole: ${(end.bytes / 2 ** 20).toFixed(1)} MB`);
  t.ok(helloAt < end.at, `hello answered ${(end.at - helloAt).toFixed(0)} ms before the large answer ended`);
  t.ok(most <= 2, `at most ${most} writes into the large answer in one turn`);
});
