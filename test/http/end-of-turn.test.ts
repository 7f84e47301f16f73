/**
 * Forward answers computed at the end of the event-loop turn (src/http/end-of-turn.ts): nothing is
 * computed before the turn's I/O is done, all of a turn's passes run before any answer is sent, every
 * answer (or problem) goes to its own request, in order, and nothing a pass throws escapes. Over HTTP:
 * concurrent requests, valid or not, on /rnn/forward and a served model's route, get exactly the answers
 * they get one at a time, and the turn sizes reach /metrics.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import t from 'tap';
import { EndOfTurnAnswers } from '../../src/http/end-of-turn.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { HELLO, SHIPPED_MODELS, build } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';

/** A reply that records what was done to it, in one log shared by all (sends and computations interleave there). */
function fakeReply(name: string, events: string[], sent: unknown[], failSend = false): FastifyReply {
  const reply = {
    type(value: string) {
      events.push(`${name}:type ${value}`);
      return reply;
    },
    send(payload: unknown) {
      events.push(`${name}:send`);
      sent.push(payload);
      if (failSend) throw new Error(`${name} cannot send`);
      return reply;
    },
  };
  return reply as unknown as FastifyReply;
}

function quietLog(errors: unknown[]): FastifyBaseLogger {
  return { error: (object: unknown) => errors.push(object) } as unknown as FastifyBaseLogger;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

t.test("a turn's passes run after its I/O callbacks, all before the first send, answers in order", async (t) => {
  const events: string[] = [];
  const sent: unknown[] = [];
  const turns: number[] = [];
  const answers = new EndOfTurnAnswers({ onTurn: (n) => turns.push(n), log: quietLog([]) });
  for (const name of ['a', 'b', 'c']) {
    answers.answer(fakeReply(name, events, sent), () => {
      events.push(`${name}:compute`);
      return `{"${name}":1}`;
    });
  }
  t.same(events, [], 'nothing computed within the turn that asked');
  await nextTurn();
  t.same(events, [
    'a:compute',
    'b:compute',
    'c:compute',
    'a:type application/json; charset=utf-8',
    'a:send',
    'b:type application/json; charset=utf-8',
    'b:send',
    'c:type application/json; charset=utf-8',
    'c:send',
  ]);
  t.same(sent, ['{"a":1}', '{"b":1}', '{"c":1}'], 'each answer to its own reply');
  t.same(turns, [3], 'one turn of three');

  // The next turn is a turn of its own.
  answers.answer(fakeReply('d', events, sent), () => new Uint8Array([123, 125]));
  await nextTurn();
  t.same(turns, [3, 1]);
  t.ok(Buffer.isBuffer(sent[3]) && (sent[3] as Buffer).toString() === '{}', 'bytes are sent as a Buffer over them');
});

t.test('throws and rejections go to their own reply as errors; the others are answered', async (t) => {
  const events: string[] = [];
  const sent: unknown[] = [];
  const answers = new EndOfTurnAnswers({ log: quietLog([]) });
  const problem = ProblemError.at('invalid-request', [{ path: 'inputs', message: 'is wrong' }]);
  answers.answer(fakeReply('ok', events, sent), () => '{"ok":true}');
  answers.answer(fakeReply('throws', events, sent), () => {
    throw problem;
  });
  answers.answer(fakeReply('string', events, sent), () => {
    throw 'not an Error'; // eslint-disable-line no-throw-literal
  });
  answers.answer(fakeReply('rejects', events, sent), () => Promise.reject(new RangeError('later')));
  answers.answer(fakeReply('resolves', events, sent), () => Promise.resolve('{"later":true}'));
  await nextTurn();
  await nextTurn();
  t.equal(sent[0], '{"ok":true}');
  t.equal(sent[1], problem, 'the ProblemError itself (Fastify makes the problem+json of it)');
  t.ok(
    sent[2] instanceof Error && (sent[2] as Error).message === 'not an Error',
    'a non-Error throw becomes an Error (never a 200 body)',
  );
  t.same(
    sent.slice(3).map((x) => (x instanceof Error ? `${x.name}: ${x.message}` : x)),
    ['RangeError: later', '{"later":true}'],
  );
  t.notOk(events.includes('throws:type application/json; charset=utf-8'), 'no JSON content type set for an error');
});

t.test("a send that throws is logged, and the turn's other answers still go out", async (t) => {
  const events: string[] = [];
  const sent: unknown[] = [];
  const errors: unknown[] = [];
  const turns: number[] = [];
  const answers = new EndOfTurnAnswers({ onTurn: (n) => turns.push(n), log: quietLog(errors) });
  answers.answer(fakeReply('broken', events, sent, true), () => '{}');
  answers.answer(fakeReply('fine', events, sent), () => '{"fine":1}');
  await nextTurn();
  t.same(sent, ['{}', '{"fine":1}']);
  t.equal(errors.length, 1, 'logged once');
  t.match(errors[0], { err: { message: 'broken cannot send' } });
  t.same(turns, [2]);
});

/**
 * Requests of every outcome the end of the turn produces: answers, planning problems (400), overflow (422), a served
 * model.
 */
function mixedRequests(): { url: string; payload: unknown }[] {
  const requests: { url: string; payload: unknown }[] = [];
  for (let seed = 0; seed < 12; seed++)
    requests.push({ url: '/rnn/forward', payload: { ...HELLO, seed, hiddenSize: 1 + (seed % 4) } });
  requests.push({
    url: '/rnn/forward',
    payload: {
      ...HELLO,
      initialState: [
        [0, 0],
        [0, 0],
      ],
    },
  });
  requests.push({
    url: '/rnn/forward',
    payload: {
      inputs: [[[0], [0.5], [1], [1]]],
      weights: { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] },
      activation: 'linear',
    },
  });
  requests.push({ url: '/models/hello/forward', payload: { text: ['hello', 'ole'] } });
  requests.push({ url: '/models/hello/versions/1/forward', payload: { inputs: [[[1, 0, 0, 0]]] } });
  requests.push({ url: '/models/hello/forward', payload: { inputs: [[[1, 0]]] } });
  requests.push({ url: '/rnn/forward', payload: { ...HELLO, outputFormat: 'flat', returnSequences: false } });
  return requests;
}

/** An answer's body as compared: a problem's `requestId` (its request's own) left out. */
function comparable(body: string): unknown {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (typeof parsed.requestId === 'string') parsed.requestId = '(its own)';
  return parsed;
}

t.test('requests answered together get what each gets alone', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const requests = mixedRequests();
  const inject = (r: { url: string; payload: unknown }) =>
    app.inject({ method: 'POST', url: r.url, payload: r.payload as object });
  const turns = async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    return {
      count: sample(text, 'rnn_forward_answers_per_turn_count') ?? Number.NaN,
      sum: sample(text, 'rnn_forward_answers_per_turn_sum') ?? Number.NaN,
    };
  };
  const start = await turns();
  const alone = [];
  for (const r of requests) alone.push(await inject(r));
  const statuses = alone.map((res) => res.statusCode);
  t.same([...new Set(statuses)].sort(), [200, 400, 422], 'answers, planning problems and an overflow among them');
  const afterAlone = await turns();
  // Every request that passed validation reached the end of a turn, each in a turn of its own.
  const reached = afterAlone.count - start.count;
  t.equal(afterAlone.sum - start.sum, reached, 'one at a time: turns of one');
  t.ok(reached >= requests.length - 1, `${reached} of ${requests.length} requests were computed at the end of a turn`);

  // Injected in one go, every request is parsed and validated in this turn: they are computed as one batch.
  const together = await Promise.all(requests.map(inject));
  for (const [i, res] of together.entries()) {
    t.equal(res.statusCode, alone[i].statusCode, `${requests[i].url} #${i}: status`);
    if (res.statusCode === 200) t.equal(res.body, alone[i].body, `${requests[i].url} #${i}: body, byte for byte`);
    else {
      t.same(comparable(res.body), comparable(alone[i].body), `${requests[i].url} #${i}: the same problem`);
      t.equal(res.json().requestId, res.headers['x-request-id'], `#${i}: the problem of this very request`);
    }
    t.equal(res.headers['content-type'], alone[i].headers['content-type'], `#${i}: content type`);
  }
  const afterTogether = await turns();
  t.equal(afterTogether.count - afterAlone.count, 1, 'together: one turn');
  t.equal(afterTogether.sum - afterAlone.sum, reached, `of ${reached} answers`);
});

t.test('over real connections: concurrent requests get their own answers', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const requests = mixedRequests();
  const post = async (r: { url: string; payload: unknown }) => {
    const res = await fetch(base + r.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r.payload),
    });
    const body = await res.text();
    return { status: res.status, body: res.status === 200 ? body : comparable(body) };
  };
  const alone = [];
  for (const r of requests) alone.push(await post(r));
  for (let round = 0; round < 3; round++) {
    const together = await Promise.all(requests.map(post));
    t.same(together, alone, `round ${round + 1}: the same answers as one at a time`);
  }
});
