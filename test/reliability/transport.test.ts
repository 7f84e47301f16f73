/**
 * Transport faults over a real socket (raw `net`, loopback only): oversized, truncated and slow bodies,
 * invalid UTF-8, wrong media types, clients that go away mid-request or mid-compute. The server must answer
 * 4xx (or close the connection), log nothing at error level, leak no in-flight request or admission slot,
 * and keep answering.
 */
import net from 'node:net';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { build, HELLO } from '../helpers/build.js';

const BODY_LIMIT = 65_536;
const REQUEST_TIMEOUT_MS = 1_000;

interface Exchange {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection. */
  closed: boolean;
}

interface ExchangeOptions {
  /** Destroy the socket this long after the last chunk is written (a client that goes away). */
  destroyAfterMs?: number;
  /** Delay between chunks (a slow client). */
  chunkDelayMs?: number;
  /** Give up waiting after this long; always bounded. */
  waitMs?: number;
}

/** Writes the chunks to a new connection and reads one response (complete by Content-Length) or the close. */
function exchange(port: number, chunks: (string | Buffer)[], options: ExchangeOptions = {}): Promise<Exchange> {
  const { destroyAfterMs, chunkDelayMs = 0, waitMs = 10_000 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      socket.destroy();
      const text = received.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? '' : text.slice(0, split);
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
      const headers = Object.fromEntries(
        lines
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({
        status: status ? Number(status[1]) : null,
        headers,
        body: split < 0 ? '' : text.slice(split + 4),
        closed,
      });
    };
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const split = received.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.subarray(0, split).toString('latin1'));
      if (length && received.length - split - 4 >= Number(length[1])) finish(false);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    timers.push(setTimeout(() => finish(false), waitMs));
    let at = 0;
    chunks.forEach((chunk, i) => {
      at += i === 0 ? 0 : chunkDelayMs;
      timers.push(setTimeout(() => !socket.destroyed && socket.write(chunk), at));
    });
    if (destroyAfterMs !== undefined) timers.push(setTimeout(() => finish(true), at + destroyAfterMs));
  });
}

const head = (length: number | null, type: string | null = 'application/json', extra = '') =>
  `POST /rnn/forward HTTP/1.1\r\nhost: 127.0.0.1\r\n${type === null ? '' : `content-type: ${type}\r\n`}` +
  `${length === null ? '' : `content-length: ${length}\r\n`}${extra}\r\n`;

function jsonRequest(body: unknown): string {
  const text = JSON.stringify(body);
  return head(Buffer.byteLength(text), 'application/json', 'connection: close\r\n') + text;
}

async function inFlight(app: FastifyInstance): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric('http_requests_in_flight')!.get();
  return metric.values[0]?.value ?? 0;
}

/** The bytes of the memory budget held by requests in flight. */
async function reserved(app: FastifyInstance): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric('rnn_memory_budget_reserved_bytes')!.get();
  return metric.values[0]?.value ?? 0;
}

/** Waits (bounded) until no request is in flight; returns the last value seen. */
async function settled(app: FastifyInstance): Promise<number> {
  let value = await inFlight(app);
  for (let i = 0; i < 50 && value !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    value = await inFlight(app);
  }
  return value;
}

t.test('transport faults over a real socket', async (t) => {
  const { app, logs } = await build(t, {
    limits: { bodyLimitBytes: BODY_LIMIT },
    http: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
    overload: { maxEventLoopDelayMs: 0 },
  });
  // Node checks request timeouts every 30 s by default; check often so the slow-client cases end quickly.
  (app.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 100;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as net.AddressInfo;
  const hello = await exchange(port, [jsonRequest(HELLO)]);
  t.equal(hello.status, 200, 'a normal request over the socket');

  await t.test('Content-Length far above the limit: 413 stating the limit, without reading the body', async (t) => {
    // 100 MB announced, 1 kB sent and nothing more: an answer other than 408 means the server did not wait.
    const res = await exchange(port, [head(100_000_000), 'x'.repeat(1024)]);
    t.equal(res.status, 413);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(JSON.parse(res.body).detail, `larger than the limit of ${BODY_LIMIT} bytes (BODY_LIMIT_BYTES)`);
    const chunked = await exchange(port, [
      head(null, 'application/json', 'transfer-encoding: chunked\r\n'),
      `20000\r\n${'x'.repeat(0x20000)}\r\n`,
    ]);
    t.equal(chunked.status, 413, 'a chunked body that grows past the limit: 413 too');
  });

  await t.test('truncated body: the client waits → 408 or a closed connection, never 5xx', async (t) => {
    const res = await exchange(port, [head(1000), '{"inputs":[[[1'], { waitMs: 10_000 });
    t.ok(
      res.status === 408 || (res.status === null && res.closed),
      `408 or closed: ${res.status} closed=${res.closed}`,
    );
    if (res.status === 408) {
      t.match(
        res.headers['content-type'],
        /^application\/problem\+json/,
        'the 408 is problem+json like every other error',
      );
      t.match(JSON.parse(res.body), { status: 408, title: 'Request timeout', detail: /REQUEST_TIMEOUT_MS/ });
    }
  });

  await t.test('malformed HTTP → 400 problem+json, connection closed', async (t) => {
    const res = await exchange(port, ['NOT HTTP AT ALL\r\n\r\n']);
    t.equal(res.status, 400);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(JSON.parse(res.body), { status: 400, detail: 'the request is not valid HTTP' });
  });

  await t.test('truncated body: the client closes', async (t) => {
    const res = await exchange(port, [head(1000), '{"inputs":[[[1'], { destroyAfterMs: 50 });
    t.equal(res.status, null, 'no answer to a request the client abandoned');
  });

  await t.test('slow body, a byte at a time past the request timeout → 408 or closed', async (t) => {
    const trickle = Array.from({ length: 40 }, () => ' ');
    const res = await exchange(port, [head(1000), ...trickle], { chunkDelayMs: 150, waitMs: 15_000 });
    t.ok(
      res.status === 408 || (res.status === null && res.closed),
      `408 or closed: ${res.status} closed=${res.closed}`,
    );
  });

  await t.test('invalid UTF-8 → 400; wrong or missing content type → 415', async (t) => {
    const bad = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
    const utf8 = await exchange(port, [head(bad.length, 'application/json', 'connection: close\r\n'), bad]);
    t.equal(utf8.status, 400);
    t.match(JSON.parse(utf8.body).detail, /not valid UTF-8/);
    const text = JSON.stringify(HELLO);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
      const res = await exchange(port, [head(text.length, type, 'connection: close\r\n') + text]);
      t.equal(res.status, 415, `content-type ${type}`);
      t.match(res.headers['content-type'], /^application\/problem\+json/);
    }
  });

  await t.test('clients that disconnect mid-body and mid-compute', async (t) => {
    // Half of a large (valid-looking) body, then gone; several times, to make a leak visible.
    const half = `{"inputs":[[${'[0.5],'.repeat(5000)}`;
    for (let i = 0; i < 5; i++) await exchange(port, [head(60_000), half], { destroyAfterMs: 50 });
    // The whole body of a request that takes a while to compute, then gone before the answer.
    const slow = { inputs: { shape: [4, 500, 8], data: new Array(4 * 500 * 8).fill(0.1) }, hiddenSize: 64, seed: 1 };
    for (let i = 0; i < 2; i++) await exchange(port, [jsonRequest(slow)], { destroyAfterMs: 5 });
    t.equal(await settled(app), 0, 'http_requests_in_flight is back to 0');
    // Nothing the gone clients held is left behind: no reservation of the memory budget, no queued work.
    t.equal(await reserved(app), 0, 'rnn_memory_budget_reserved_bytes is back to 0');
    const pair = await Promise.all([exchange(port, [jsonRequest(HELLO)]), exchange(port, [jsonRequest(HELLO)])]);
    t.same(
      pair.map((r) => r.status),
      [200, 200],
      'served as before',
    );
  });

  await t.test('afterwards: nothing logged at error level, the same hello answer, nothing in flight', async (t) => {
    const again = await exchange(port, [jsonRequest(HELLO)]);
    t.equal(again.status, 200);
    t.equal(again.body, hello.body, 'the same bytes as before the faults');
    t.same(
      logs.filter((l) => Number(l.level) >= 50),
      [],
      'no error logs',
    );
    t.equal(await settled(app), 0);
  });
});

t.test('regression: REQUEST_TIMEOUT_MS is enforced (Node ignores it while headersTimeout is larger)', async (t) => {
  const { app } = await build(t, { http: { requestTimeoutMs: REQUEST_TIMEOUT_MS } });
  t.ok(
    app.server.headersTimeout <= app.server.requestTimeout,
    `headersTimeout ${app.server.headersTimeout} <= requestTimeout ${app.server.requestTimeout}`,
  );
});

const CONNECTION_TIMEOUT_MS = 500;
// [8, 5000, 1] → 64 units, flat: 2.56 M output numbers, ~29 MB of JSON, far more than the loopback socket buffers
// take from a client that reads nothing (166 M multiply-adds: a fraction of a second to compute).
const LARGE = {
  inputs: { shape: [8, 5000, 1], data: Array.from({ length: 40_000 }, (_, i) => Math.sin(i)) },
  hiddenSize: 64,
  seed: 1,
  returnState: false,
  outputFormat: 'flat',
};

t.test(
  'CONNECTION_TIMEOUT_MS cuts off a client that never reads its answer, and frees its admission slot',
  async (t) => {
    /**
     * Sends `LARGE` and reads nothing, not even the status line: the socket is paused before it connects, so the
     * answer piles up in the kernel's buffers and then in the server's. A client that reads nothing does not see
     * the server close either, so that is watched on the server's side of the connection.
     */
    const stalledClient = (app: FastifyInstance, port: number) => {
      const accepted = new Promise<net.Socket>((resolve) => app.server.once('connection', resolve));
      const socket = net.connect(port, '127.0.0.1');
      socket.pause();
      socket.on('error', () => {});
      t.teardown(() => socket.destroy());
      const sentAt = performance.now();
      socket.write(jsonRequest(LARGE));
      const server = accepted.then((peer) => {
        // What the server had handed to the kernel when the timeout came: the answer is streamed as the socket
        // takes it, so a client that reads nothing stops it after a few chunks.
        let writtenAtTimeout = 0;
        peer.once('timeout', () => (writtenAtTimeout = peer.bytesWritten));
        return {
          peer,
          closed: new Promise<void>((resolve) => peer.once('close', () => resolve())).then(() => ({
            afterMs: performance.now() - sentAt,
            writtenAtTimeout,
          })),
        };
      });
      return { socket, server };
    };

    await t.test('control: with no timeout the stalled client keeps what its answer holds until it goes', async (t) => {
      const { app } = await build(t, {
        http: { connectionTimeoutMs: 0 },
        overload: { maxEventLoopDelayMs: 0 },
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as net.AddressInfo;
      const client = stalledClient(app, port);
      const { peer, closed } = await client.server;
      await new Promise((r) => setTimeout(r, 3 * CONNECTION_TIMEOUT_MS));
      t.equal(peer.destroyed, false, 'the server still holds the connection');
      t.ok((await reserved(app)) > 0, "and the answer's share of the memory budget");
      client.socket.destroy();
      await closed;
      t.equal(await settled(app), 0);
      t.equal(await reserved(app), 0, 'freed once the client goes');
      t.equal((await exchange(port, [jsonRequest(HELLO)])).status, 200);
    });

    await t.test(
      'with CONNECTION_TIMEOUT_MS the server closes the connection; the next request is served',
      async (t) => {
        const { app, logs } = await build(t, {
          http: { connectionTimeoutMs: CONNECTION_TIMEOUT_MS, keepAliveTimeoutMs: 5_000 },
          overload: { maxEventLoopDelayMs: 0 },
        });
        await app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = app.server.address() as net.AddressInfo;

        const client = stalledClient(app, port);
        const { closed } = await client.server;
        const result = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 8_000))]);
        t.ok(result !== null, 'the server closed the connection');
        if (result === null) return;
        t.comment(
          `closed ${result.afterMs.toFixed(0)} ms after the request, ${result.writtenAtTimeout} bytes of the ~29 MB answer written`,
        );
        t.ok(
          result.afterMs >= CONNECTION_TIMEOUT_MS && result.afterMs < 6_000,
          `after the timeout, in bounded time: ${result.afterMs.toFixed(0)} ms`,
        );
        t.ok(result.writtenAtTimeout < 20_000_000, 'cut off before most of the (large) answer was written');
        t.equal(client.socket.bytesRead, 0, 'the client read nothing');
        t.equal(await settled(app), 0, 'nothing in flight');
        const next = await exchange(port, [jsonRequest(HELLO)]);
        t.equal(next.status, 200, 'served');
        t.equal(await reserved(app), 0, "the stalled answer's share of the memory budget was given back");

        // Between requests the keep-alive timeout applies, not this one: an idle connection outlives it.
        const keptAlive = net.connect(port, '127.0.0.1');
        t.teardown(() => keptAlive.destroy());
        let answers = '';
        keptAlive.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1')));
        const get = 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';
        keptAlive.write(get);
        await new Promise((r) => setTimeout(r, 3 * CONNECTION_TIMEOUT_MS));
        t.equal(keptAlive.destroyed, false, 'an idle keep-alive connection is still open after 3× the timeout');
        keptAlive.write(get);
        await new Promise((r) => setTimeout(r, 200));
        t.equal(answers.match(/HTTP\/1\.1 200/g)?.length, 2, 'and answers its second request');
        t.same(
          logs.filter((l) => Number(l.level) >= 50),
          [],
          'no error logs',
        );
      },
    );
  },
);

t.test('CONNECTION_TIMEOUT_MS does not cut off a slow reader that keeps reading', async (t) => {
  const { app } = await build(t, { http: { connectionTimeoutMs: CONNECTION_TIMEOUT_MS } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as net.AddressInfo;
  // 2 MB every 200 ms (~10 MB/s): the ~29 MB answer takes ~3 s to read, six times the timeout, but something
  // moves on the socket far more often than every 500 ms.
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  let received = 0;
  let budget = 0;
  let head = '';
  let tail = '';
  socket.on('data', (chunk: Buffer) => {
    if (received === 0) head = chunk.subarray(0, 1024).toString('latin1');
    tail = (tail + chunk.subarray(-16).toString('latin1')).slice(-16);
    received += chunk.length;
    budget -= chunk.length;
    if (budget <= 0) socket.pause();
  });
  socket.pause();
  const started = performance.now();
  const reader = setInterval(() => {
    budget = 2_000_000;
    socket.resume();
  }, 200);
  t.teardown(() => clearInterval(reader));
  socket.write(jsonRequest(LARGE));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await Promise.race([closed, new Promise((r) => setTimeout(r, 9_000))]);
  clearInterval(reader);
  const ms = performance.now() - started;
  t.comment(`${received} bytes in ${ms.toFixed(0)} ms`);
  t.match(head, /^HTTP\/1\.1 200 /);
  // A large answer is streamed (chunked): whole when the last chunk, `0\r\n\r\n`, has arrived.
  t.match(head, /\r\ntransfer-encoding: chunked\r\n/i);
  t.ok(received > 20_000_000, `a ${(received / 1e6).toFixed(1)} MB answer`);
  t.ok(tail.endsWith('\r\n0\r\n\r\n'), 'arrived whole');
  t.ok(ms > 4 * CONNECTION_TIMEOUT_MS, `over much longer than the timeout (${ms.toFixed(0)} ms)`);
});
