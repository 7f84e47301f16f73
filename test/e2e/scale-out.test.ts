/**
 * Scale-out: two real server processes, the same requests, byte-identical answers (bodies and status), so a
 * load balancer may send any request to any instance.
 */
import t from 'tap';
import { HELLO, HELLO_BATCH } from '../helpers/build.js';
import { send, startServer } from '../helpers/server.js';

const REQUESTS: { name: string; method: string; path: string; body?: unknown; status: number }[] = [
  { name: 'hello', method: 'POST', path: '/rnn/forward', body: HELLO, status: 200 },
  { name: 'the batch of three', method: 'POST', path: '/rnn/forward', body: HELLO_BATCH, status: 200 },
  {
    name: 'another seed, last step only',
    method: 'POST',
    path: '/rnn/forward',
    body: { ...HELLO, hiddenSize: 7, seed: 1234, returnSequences: false },
    status: 200,
  },
  {
    name: 'explicit weights',
    method: 'POST',
    path: '/rnn/forward',
    body: {
      inputs: [
        [
          [1, 2],
          [3, 4],
        ],
      ],
      weights: {
        kernel: [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
        recurrentKernel: [
          [0.5, -0.5],
          [0.25, 0.75],
        ],
        bias: [0.01, -0.01],
      },
    },
    status: 200,
  },
  {
    name: 'an error',
    method: 'POST',
    path: '/rnn/forward',
    body: { inputs: [[[1, 0], [0]]], hiddenSize: 2 },
    status: 400,
  },
  { name: 'an unknown route', method: 'GET', path: '/rnn/backward', status: 404 },
  { name: 'readiness', method: 'GET', path: '/readyz', status: 200 },
];

t.test('two instances answer the same requests byte for byte', async (t) => {
  const env = { MAX_EVENT_LOOP_DELAY_MS: '0' };
  const [a, b] = await Promise.all([startServer(t, env), startServer(t, env)]);
  t.not(a.port, b.port, 'two processes on two ports');
  t.not(a.child.pid, b.child.pid);
  for (const [i, request] of REQUESTS.entries()) {
    // The request id is echoed in problem bodies: send the same one to both.
    const headers = { 'x-request-id': `scale-out-${i}` };
    const [fromA, fromB] = await Promise.all(
      [a, b].map((server) => send(server.port, request.method, request.path, request.body, headers).answer),
    );
    t.equal(fromA.status, request.status, `${request.name}: status ${request.status}: ${fromA.body.slice(0, 200)}`);
    t.equal(fromB.status, fromA.status, `${request.name}: same status`);
    t.equal(fromB.headers['content-type'], fromA.headers['content-type'], `${request.name}: same content type`);
    t.ok(fromA.body.length > 0);
    t.equal(fromB.body, fromA.body, `${request.name}: byte-identical bodies`);
  }
  const hello = JSON.parse((await send(a.port, 'POST', '/rnn/forward', HELLO).answer).body);
  t.same(hello.states, [[-0.8389222, 0.8316943]], 'and the answer is the pinned one');
});
