/**
 * Admission through HTTP, as clients see it: a burst of small requests over real connections is answered whole
 * (requests are admitted by what they cost and how long they would wait, not by how many there are), and the
 * schedule a request asks for is read from its own terms (our `priority` and `timeoutMs`, the inference protocol's
 * `priority` and `timeout` parameters in microseconds, as Triton's clients send them), every bad value a 400 naming it.
 */
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import t from 'tap';
import { HELLO, SHIPPED_MODELS, build } from '../helpers/build.js';

/** POST over a new connection (no keep-alive), answered status and body. */
function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

t.test('400 simultaneous hello requests over their own connections: every one 200, the same answer', async (t) => {
  const { app } = await build(t, { overload: { maxEventLoopDelayMs: 0 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const body = JSON.stringify(HELLO);
  const answers = await Promise.all(Array.from({ length: 400 }, () => post(port, '/rnn/forward', body)));
  const statuses = new Map<number, number>();
  for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
  t.same([...statuses], [[200, 400]], 'all 200');
  t.equal(new Set(answers.map((a) => a.body)).size, 1, 'one answer for one request');
});

t.test('the schedule a request asks for: every bad value is a 400 naming it', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const forward = (payload: object) => app.inject({ method: 'POST', url: '/rnn/forward', payload });
  const infer = (parameters: object) =>
    app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      payload: { parameters, inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }] },
    });

  for (const [payload, path] of [
    [{ ...HELLO, priority: -1 }, 'priority'],
    [{ ...HELLO, priority: 1.5 }, 'priority'],
    [{ ...HELLO, timeoutMs: 0 }, 'timeoutMs'],
    [{ ...HELLO, timeoutMs: 'soon' }, 'timeoutMs'],
  ] as const) {
    const res = await forward(payload);
    t.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(-30)}: 400`);
    t.equal(res.json().errors[0].path, path);
  }
  const beyond = await forward({ ...HELLO, priority: 9 });
  t.equal(beyond.statusCode, 400);
  t.same(beyond.json().errors[0], {
    path: 'priority',
    message: 'is 9; the priority levels are 1 (first) to 3 (QUEUE_PRIORITY_LEVELS), 0 for the default (2)',
  });
  for (const ok of [{ priority: 0 }, { priority: 1, timeoutMs: 5000 }, { priority: 3 }])
    t.equal((await forward({ ...HELLO, ...ok })).statusCode, 200, `${JSON.stringify(ok)}: 200`);

  // The inference protocol: Triton's clients send priority as an integer and timeout in microseconds.
  for (const [parameters, error] of [
    [{ priority: 'high' }, 'parameters.priority: is "high"; expected a priority level, an integer of at least 0'],
    [{ priority: -2 }, 'parameters.priority: is -2; expected a priority level, an integer of at least 0'],
    [
      { priority: 7 },
      'parameters.priority: is 7; the priority levels are 1 (first) to 3 (QUEUE_PRIORITY_LEVELS), 0 for the default (2)',
    ],
    [{ timeout: 1.5 }, 'parameters.timeout: is 1.5; expected a timeout in microseconds, an integer'],
    [{ timeout: -1 }, 'parameters.timeout: is -1; expected a timeout in microseconds, an integer'],
  ] as const) {
    const res = await infer(parameters);
    t.equal(res.statusCode, 400, JSON.stringify(parameters));
    t.same(res.json(), { error }, JSON.stringify(parameters));
  }
  for (const parameters of [{ priority: 1, timeout: 5_000_000 }, { timeout: 0 }, { priority: 0 }])
    t.equal((await infer(parameters)).statusCode, 200, `${JSON.stringify(parameters)}: 200`);
});

t.test('the queue deadline counts from when the request reached the server, not when its body was read', async (t) => {
  // Every pass goes to the worker's queue, where the deadline is checked.
  const { app } = await build(t, {
    models: { dir: SHIPPED_MODELS },
    pool: { threads: 1, minCompute: 0 },
    overload: { maxEventLoopDelayMs: 0 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const send = (timeoutMicros: number, pauseMs: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({
        parameters: { timeout: timeoutMicros },
        inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }],
      });
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v2/models/hello/infer',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      request.on('error', reject);
      // The headers go at once; the body after a pause (a slow upload).
      request.flushHeaders();
      setTimeout(() => request.end(body), pauseMs);
    });
  const slow = await send(100_000, 300);
  t.equal(slow.status, 503, 'a body that took longer than the deadline: refused, nothing computed');
  t.match(
    JSON.parse(slow.body).error,
    /^it reached the compute queue \d+ ms after it arrived \(the time its body took to arrive and be read\), past its deadline of 100 ms \(parameters.timeout\); nothing was computed/,
  );
  const quick = await send(10_000_000, 300);
  t.equal(quick.status, 200, 'the same upload within a longer deadline is answered');
});
