/**
 * Graceful shutdown of the real process: SIGTERM → /readyz 503 at once, requests keep being served for
 * SHUTDOWN_DELAY_MS, then in-flight requests finish and the process exits 0; a request that cannot finish
 * within SHUTDOWN_GRACE_MS makes it exit 1, logged.
 */
import { connect } from 'node:net';
import t from 'tap';
import { send, startServer } from '../helpers/server.js';

/** About 0.3-0.5 s of compute on one core: 600 steps · (1 + 384) · 384 multiply-adds. */
const SLOW = {
  inputs: [Array.from({ length: 600 }, (_, i) => [Math.sin(i)])],
  hiddenSize: 384,
  seed: 3,
  returnSequences: false,
};

/** Long enough that the burst and the late request finish inside it even on a busy 2-core machine. */
const DELAY_MS = 8000;

const OPS_OFF = { MAX_EVENT_LOOP_DELAY_MS: '0' };

t.test(
  'SIGTERM: queued requests all complete, readiness is 503 during the delay, new work still served, exit 0',
  async (t) => {
    const server = await startServer(t, {
      ...OPS_OFF,
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      SHUTDOWN_GRACE_MS: '20000',
    });
    const first = await send(server.port, 'POST', '/rnn/forward', SLOW).answer;
    t.equal(first.status, 200, `warm: the slow model is cached: ${first.body.slice(0, 300)}`);
    const expected = first.body;

    const burst = Array.from({ length: 4 }, () => send(server.port, 'POST', '/rnn/forward', SLOW));
    await Promise.all(burst.map((r) => r.sent));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');

    // The signal arrives asynchronously: ask until readiness turns (well within the delay).
    let probe = await send(server.port, 'GET', '/readyz').answer;
    for (const deadline = Date.now() + 3000; probe.status !== 503 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      probe = await send(server.port, 'GET', '/readyz').answer;
    }
    t.equal(probe.status, 503, 'not ready once the signal arrived');
    t.match(probe.headers['content-type'], /^application\/problem\+json/);
    t.equal(JSON.parse(probe.body).type, 'urn:rnn-serve:problem:not-ready');
    t.equal(probe.headers.connection, 'close', 'draining answers close their connection');
    const live = await send(server.port, 'GET', '/healthz').answer;
    t.equal(live.status, 200, 'still live while draining');

    const late = await send(server.port, 'POST', '/rnn/forward', SLOW).answer;
    t.ok(Date.now() - signalledAt < DELAY_MS, 'the late request was answered within the delay');
    t.equal(late.status, 200, 'work arriving during the delay is still served');
    t.equal(late.body, expected);

    const answers = await Promise.all(burst.map((r) => r.answer));
    t.same(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
      `every request sent before the signal completed: ${answers[0].body.slice(0, 200)}`,
    );
    for (const answer of answers) t.equal(answer.body, expected);

    const exit = await server.exited;
    t.same(exit, { code: 0, signal: null }, 'exit 0');
    const elapsed = Date.now() - signalledAt;
    t.ok(elapsed >= DELAY_MS, `stayed up for the delay (${elapsed} ms)`);
    t.ok(elapsed < DELAY_MS + 15000, `and then stopped promptly (${elapsed} ms)`);
    const messages = server.logs.map((line) => line.msg);
    t.ok(messages.includes('shutting down: not ready, still serving until the delay ends'));
    t.ok(messages.includes('closed'));
    t.equal(server.stderr(), '');

    // After exit nothing listens any more.
    await t.rejects(send(server.port, 'GET', '/healthz').answer, { code: 'ECONNREFUSED' });
  },
);

t.test('a request that cannot finish within SHUTDOWN_GRACE_MS: exit 1, logged', async (t) => {
  const server = await startServer(t, { ...OPS_OFF, SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '500' });
  // A request whose body never fully arrives stays in flight.
  const socket = connect(server.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'POST /rnn/forward HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"inputs":',
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const signalledAt = Date.now();
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  t.same(exit, { code: 1, signal: null });
  const elapsed = Date.now() - signalledAt;
  t.ok(elapsed >= 500 && elapsed < 5000, `forced after the grace period (${elapsed} ms)`);
  const forced = server.logs.find(
    (line) => line.msg === 'in-flight requests did not finish within SHUTDOWN_GRACE_MS; exiting',
  );
  t.ok(forced, 'the forced exit is logged');
  t.equal(forced?.level, 50, 'at error level');
});
