import { Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest, RawRequestDefaultExpression } from 'fastify';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../../src/http/app.js';
import { AccessLog, requestId } from '../../../src/http/plugins/request-log.js';
import { ProblemError } from '../../../src/errors/problem-error.js';
import { configWith, HELLO } from '../../helpers/build.js';

/** A pino logger at `level` whose lines (parsed) land in the returned array. */
function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

/** What AccessLog reads of a request and its reply. */
function exchange(log: pino.Logger, problem: ProblemError | null = null) {
  const request = { method: 'POST', url: '/rnn/forward?x=1', ip: '10.0.0.7', problem } as unknown as FastifyRequest;
  const reply = { statusCode: problem ? problem.status : 200, elapsedTime: 1.23456789, log } as unknown as FastifyReply;
  return [request, reply] as const;
}

const withoutPinoFields = ({ time: _time, pid: _pid, hostname: _hostname, ...rest }: Record<string, unknown>) => rest;

t.test('at info: one line per request, these fields in this order', async (t) => {
  const { log, lines } = logger('info');
  new AccessLog().requestCompleted(null, ...exchange(log));
  new AccessLog().requestCompleted(null, ...exchange(log, new ProblemError('not-found', 'there is no route')));
  t.equal(lines.length, 2);
  t.same(Object.keys(withoutPinoFields(lines[0])), [
    'level',
    'method',
    'url',
    'statusCode',
    'responseTimeMs',
    'remoteAddress',
    'msg',
  ]);
  t.same(withoutPinoFields(lines[0]), {
    level: 30,
    method: 'POST',
    url: '/rnn/forward?x=1',
    statusCode: 200,
    responseTimeMs: 1.235,
    remoteAddress: '10.0.0.7',
    msg: 'request completed',
  });
  t.same(withoutPinoFields(lines[1]), {
    level: 30,
    method: 'POST',
    url: '/rnn/forward?x=1',
    statusCode: 404,
    responseTimeMs: 1.235,
    remoteAddress: '10.0.0.7',
    problem: 'not-found',
    detail: 'there is no route',
    msg: 'request completed',
  });
});

t.test('with info off: no line for answered requests, errors still at error level', async (t) => {
  const { log, lines } = logger('warn');
  new AccessLog().requestCompleted(null, ...exchange(log));
  t.equal(lines.length, 0, 'nothing built, nothing written');
  new AccessLog().requestCompleted(new Error('socket hang up'), ...exchange(log));
  t.equal(lines.length, 1);
  t.match(lines[0], {
    level: 50,
    msg: 'request errored',
    method: 'POST',
    statusCode: 200,
    remoteAddress: '10.0.0.7',
    err: { message: 'socket hang up' },
  });
});

t.test('the app at LOG_LEVEL=warn answers as usual and writes no access lines', async (t) => {
  const { log, lines } = logger('warn');
  const app = await buildApp(configWith({ pool: { threads: 0 }, models: { dir: '/nonexistent-models-dir' } }), {
    logger: log,
  });
  t.teardown(() => app.close());
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    headers: { 'content-type': 'application/json', 'x-request-id': 'quiet-1' },
    payload: JSON.stringify(HELLO),
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-request-id'], 'quiet-1');
  t.equal((await app.inject({ method: 'GET', url: '/nope' })).statusCode, 404);
  t.same(
    lines.filter((line) => line.msg === 'request completed'),
    [],
  );
});

t.test('request ids: a sane incoming id is kept; otherwise a UUIDv8, one per request, in sequence', async (t) => {
  const raw = (id?: string) =>
    ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as unknown as RawRequestDefaultExpression;
  t.equal(requestId(raw('trace-7.a:b_c')), 'trace-7.a:b_c');
  const made = [raw(), raw('has space'), raw('x'.repeat(129)), raw('ünïcode'), raw()].map(requestId);
  const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const id of made) t.match(id, UUID_V8, `${id}: version 8, RFC 9562 variant`);
  t.equal(new Set(made).size, made.length, 'all different');
  t.equal(new Set(made.map((id) => id.slice(0, 24))).size, 1, 'one random part per process');
  const sequence = made.map((id) => Number.parseInt(id.slice(24), 16));
  t.same(
    sequence,
    sequence.map((_, i) => sequence[0] + i),
    'then consecutive numbers',
  );
});
