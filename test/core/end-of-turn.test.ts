/**
 * Answers computed at the end of the event-loop turn that received their requests (src/core/core.ts, the scheduler's
 * `place`): nothing is planned or computed before the turn's I/O is done, every answer (or problem) goes to its own
 * request, in order, and nothing a sink throws escapes. Over HTTP: concurrent requests, valid or not, on /rnn/forward
 * and a served model's route, get exactly the answers they get one at a time, and the turn sizes reach /metrics.
 */
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { defaultConfig } from '../../src/config/config.js';
import { InferenceCore } from '../../src/core/core.js';
import type { CoreObserver } from '../../src/core/observer.js';
import type { Sink } from '../../src/core/sink.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { ModelRepository } from '../../src/models/repository.js';
import { answerText, type JsonAnswer } from '../../src/codec/json-stream.js';
import { forwardEncoding, forwardRequest } from '../../src/protocols/forward-request.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import { createWorkerPool } from '../../src/runtime/pool.js';
import { HELLO, SHIPPED_MODELS, build } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';

/** A core without workers (every pass on the event loop) and an empty repository, reporting its turns. */
function core(turns: number[]): InferenceCore {
  const observer: CoreObserver = {
    pass: () => {},
    inference: () => {},
    batch: () => {},
    waited: () => {},
    refused: () => {},
    turn: (answers) => turns.push(answers),
  };
  return new InferenceCore({
    repository: ModelRepository.serving([]),
    limits: defaultConfig.limits,
    cache: new SeededWeightsCache(4),
    pool: createWorkerPool({ ...defaultConfig.pool, threads: 0 }),
    poolSettings: { ...defaultConfig.pool, threads: 0 },
    queue: defaultConfig.queue,
    budget: new MemoryBudget(0, 1),
    retryAfterSeconds: 1,
    observer,
  });
}

/** A sink that records what reaches it, in one log shared by all. */
function recorder(name: string, events: string[], throws = false): Sink<JsonAnswer> {
  return {
    gone: () => new AbortController().signal,
    onClose: () => {},
    answer(answer) {
      events.push(`${name}:answer ${answerText(answer).slice(0, 12)}`);
      if (throws) throw new Error(`${name} cannot send`);
    },
    fail(error) {
      events.push(`${name}:fail ${error instanceof ProblemError ? error.kind : String(error)}`);
    },
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const hello = (seed: number) => ForwardRequest.parse({ ...HELLO, seed });

t.test("a turn's requests are planned and run after its I/O, each answered in order to its own sink", async (t) => {
  const events: string[] = [];
  const turns: number[] = [];
  const inference = core(turns);
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    const body = hello(i);
    inference.infer(forwardRequest(body), forwardEncoding(body.outputFormat), recorder(name, events));
  }
  t.same(events, [], 'nothing answered within the turn that asked');
  await nextTurn();
  t.same(
    events.map((e) => e.slice(0, 9)),
    ['a:answer ', 'b:answer ', 'c:answer '],
  );
  t.same(turns, [3], 'one turn of three');
  const body = hello(3);
  inference.infer(forwardRequest(body), forwardEncoding('flat'), recorder('d', events));
  await nextTurn();
  t.same(turns, [3, 1], 'the next turn is a turn of its own');
  t.match(events[3], /^d:answer \{"outputs":\{/, 'a flat answer');
});

t.test('problems go to their own sink; the others are answered; a sink that throws stops nothing', async (t) => {
  const events: string[] = [];
  const inference = core([]);
  const bad = ForwardRequest.parse({
    ...HELLO,
    initialState: [
      [0, 0],
      [0, 0],
    ],
  });
  const ok = hello(1);
  inference.infer(forwardRequest(ok), forwardEncoding('nested'), recorder('broken', events, true));
  inference.infer(forwardRequest(bad), forwardEncoding('nested'), recorder('bad', events));
  inference.infer(forwardRequest(ok), forwardEncoding('nested'), recorder('fine', events));
  await nextTurn();
  // A request refused by its plan is answered as the turn's requests are planned, before their passes run.
  t.same(
    events.map((e) => e.replace(/ \{.*$/, '')),
    ['bad:fail invalid-request', 'broken:answer', 'broken:fail Error: broken cannot send', 'fine:answer'],
  );
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
