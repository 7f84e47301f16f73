/**
 * reply-sink.ts: a Fastify reply as the core's sink. Held, on a bare app, to an answer sent by the route's writer,
 * a problem sent through the error handler (problem+json), a writer that throws answered as a 500 problem, the
 * release called once when the response closes, and, on a real socket, the gone signal aborting when the client
 * leaves before its answer.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { ProblemError } from '../../src/errors/problem-error.js';
import { ReplySink, clientGone } from '../../src/http/reply-sink.js';
import { bareApp } from '../helpers/bare-app.js';

t.test('answers, problems and the release', async (t) => {
  const released: string[] = [];
  const app = await bareApp(
    t,
    async (instance) => {
      instance.get('/answer', (_request, reply) => {
        const sink = new ReplySink(reply, (r, answer: string) => r.type('text/plain').send(answer));
        sink.onClose(() => released.push('answer'));
        t.ok(sink.arrived() <= performance.now(), 'arrived: when Fastify routed it');
        sink.answer('hello');
        return reply;
      });
      instance.get('/problem', (_request, reply) => {
        const sink = new ReplySink(reply, () => {});
        sink.onClose(() => released.push('problem'));
        sink.fail(new ProblemError('not-found', "model 'x' is not served"));
        return reply;
      });
      instance.get('/throws', (_request, reply) => {
        const sink = new ReplySink(reply, () => {
          throw new Error('cannot write');
        });
        sink.answer('x');
        return reply;
      });
    },
    {},
  );
  const answer = await app.inject({ url: '/answer' });
  t.same([answer.statusCode, answer.body], [200, 'hello']);
  const problem = await app.inject({ url: '/problem' });
  t.equal(problem.statusCode, 404);
  t.equal(problem.json().detail, "model 'x' is not served");
  const thrown = await app.inject({ url: '/throws' });
  t.equal(thrown.statusCode, 500);
  t.match(thrown.headers['content-type'], /^application\/problem\+json/);
  t.same(released.sort(), ['answer', 'problem'], 'each released once, when its response closed');
});

t.test('the gone signal: aborted when the client leaves first, not after a complete answer', async (t) => {
  let signal: AbortSignal | null = null;
  let finished: AbortSignal | null = null;
  const app = await bareApp(
    t,
    async (instance) => {
      instance.get('/slow', (_request, reply) => {
        signal = clientGone(reply);
        t.equal(clientGone(reply), signal, 'one signal per reply');
        return reply; // never answered: the client leaves
      });
      instance.get('/quick', (_request, reply) => {
        finished = clientGone(reply);
        return reply.send('done');
      });
    },
    { logger: false },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    const request = httpRequest({ port, host: '127.0.0.1', path: '/quick' }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.end();
  });
  t.equal((finished as AbortSignal | null)?.aborted, false, 'a complete answer is not a client gone');
  const request = httpRequest({ port, host: '127.0.0.1', path: '/slow' });
  request.on('error', () => {});
  request.end();
  while (signal === null) await new Promise((resolve) => setTimeout(resolve, 5));
  const aborted = new Promise((resolve) => (signal as AbortSignal).addEventListener('abort', resolve));
  request.destroy();
  await aborted;
  t.equal((signal as AbortSignal).aborted, true);
});
