/**
 * The queue in front of the workers (src/core/scheduler.ts), driven through the core with a worker pool whose jobs
 * the test finishes when it chooses (each computed for real, on the test's thread): priority levels and arrival
 * order, merging of queued requests for one served model, refusal at once when a request's turn would come after its
 * deadline, a 503 for a request still waiting at its deadline (never computed), a client that leaves taking its
 * request out of the queue, POOL_MAX_QUEUE, and a pass whose clients all left being stopped.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import { type QueueSettings, defaultConfig } from '../../src/config/config.js';
import { InferenceCore } from '../../src/core/core.js';
import { passRows } from '../../src/core/scheduler.js';
import type { CoreObserver, Refusal } from '../../src/core/observer.js';
import type { Sink } from '../../src/core/sink.js';
import { answerText, type JsonAnswer } from '../../src/codec/json-stream.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { resolveModel } from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { parseModelConfig } from '../../src/models/model-config/model-config.js';
import { ModelRepository } from '../../src/models/repository.js';
import { forwardEncoding, forwardRequest, modelForwardRequest } from '../../src/protocols/forward-request.js';
import { type Job, type JobResult, runJob } from '../../src/runtime/jobs.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import type { WorkerPool } from '../../src/runtime/pool.js';

const cache = new SeededWeightsCache(8);
const env = {
  cache,
  program: () => {
    throw new Error('no graphs here');
  },
};

/** A served SimpleRNN, 4 → 8 units; with `config`, its config.pbtxt. */
function repository(config?: string): ModelRepository {
  const description = { hiddenSize: 8, seed: 3 };
  return ModelRepository.serving([
    {
      ...(config === undefined ? {} : { config: parseModelConfig(config, 'm/config.pbtxt', { name: 'm' }) }),
      kind: 'rnn',
      name: 'm',
      version: '1',
      file: 'm/1/model.json',
      description,
      model: resolveModel(description, 4, defaultConfig.limits, cache),
      vocabulary: null,
    },
  ]);
}

interface Held {
  readonly job: Job;
  readonly signal: AbortSignal | undefined;
  finish(): void;
}

/** A one-thread pool whose jobs wait until the test finishes them. */
function heldPool(): { pool: WorkerPool; held: Held[] } {
  const held: Held[] = [];
  const pool: WorkerPool = {
    threads: 1,
    abandonedJobs: 0,
    close: async () => {},
    run: (job, signal) =>
      new Promise<JobResult>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new ProblemError('client-closed', 'gone')), { once: true });
        held.push({ job, signal, finish: () => resolve(runJob(job, env)) });
      }),
  };
  return { pool, held };
}

interface Setup {
  readonly core: InferenceCore;
  readonly held: Held[];
  readonly refused: Refusal[];
}

function setUp(
  options: { queue?: Partial<QueueSettings>; maxQueue?: number; initialRate?: number; config?: string } = {},
): Setup {
  const { pool, held } = heldPool();
  const refused: Refusal[] = [];
  const observer: CoreObserver = {
    pass: () => {},
    inference: () => {},
    batch: () => {},
    waited: () => {},
    refused: (reason) => refused.push(reason),
    turn: () => {},
  };
  const core = new InferenceCore({
    repository: repository(options.config),
    limits: defaultConfig.limits,
    cache,
    pool,
    // Every pass goes to the queue.
    poolSettings: { ...defaultConfig.pool, threads: 1, minCompute: 0, maxQueue: options.maxQueue ?? 64 },
    queue: { ...defaultConfig.queue, ...options.queue },
    budget: new MemoryBudget(0, 1),
    retryAfterSeconds: 1,
    observer,
    ...(options.initialRate === undefined ? {} : { initialRate: options.initialRate }),
  });
  return { core, held, refused };
}

interface Outcome {
  status: 'waiting' | 'answered' | 'failed';
  body: string;
  problem: ProblemError | null;
  leave(): void;
}

function sink(): Sink<JsonAnswer> & { outcome: Outcome } {
  const gone = new AbortController();
  const outcome: Outcome = { status: 'waiting', body: '', problem: null, leave: () => gone.abort() };
  return {
    outcome,
    gone: () => gone.signal,
    onClose: () => {},
    answer(answer) {
      outcome.status = 'answered';
      outcome.body = answerText(answer);
    },
    fail(error) {
      outcome.status = 'failed';
      outcome.problem = error as ProblemError;
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const inputs = (steps: number, shift = 0) => [Array.from({ length: steps }, (_, i) => [i + shift, 0, 1, 0.5])];

/** A described hello-sized model (never merged), told apart by its seed. */
function described(core: InferenceCore, seed: number, extra: object = {}): Outcome {
  const body = ForwardRequest.parse({ inputs: inputs(3), hiddenSize: 2, seed, ...extra });
  const s = sink();
  core.infer(forwardRequest(body), forwardEncoding(body.outputFormat), s);
  return s.outcome;
}

/** A request for the served model `m`. */
function served(core: InferenceCore, extra: object = {}, steps = 5): Outcome {
  const body = ModelForwardRequest.parse({ inputs: inputs(steps, steps), ...extra });
  const s = sink();
  core.infer(modelForwardRequest(body, 'm'), forwardEncoding(body.outputFormat), s);
  return s.outcome;
}

const seedOf = (job: Job) => (job.kind === 'layers' ? job.plan.model.seed : null);

t.test('levels first (1 before 2 before 3), arrivals in order within a level', async (t) => {
  const { core, held } = setUp();
  const first = described(core, 100, { priority: 3 });
  await turn();
  t.equal(held.length, 1, 'the first starts at once: the worker was free');
  const later = [
    described(core, 1, { priority: 3 }),
    described(core, 2, { priority: 1 }),
    described(core, 3),
    described(core, 4, { priority: 1 }),
  ];
  await turn();
  t.equal(core.waiting, 4, 'the others wait');
  const started: (number | null)[] = [];
  for (let i = 0; i < 5; i++) {
    held[i].finish();
    await turn();
    if (i < 4) started.push(seedOf(held[i + 1].job));
  }
  // seed 3 named no priority: the default level, 2.
  t.same(started, [2, 4, 3, 1], 'level 1 in arrival order, then the default level 2, then 3');
  t.equal(first.status, 'answered');
  t.same(
    later.map((o) => o.status),
    ['answered', 'answered', 'answered', 'answered'],
  );
});

t.test('requests for one served model that wait together go in one pass, each answered as alone', async (t) => {
  const { core, held } = setUp();
  const blocker = described(core, 9);
  await turn();
  const together = [served(core), served(core, {}, 3), served(core, { returnState: true }, 7), served(core, {}, 1)];
  const other = served(core, { returnSequences: false });
  await turn();
  held[0].finish();
  await turn();
  t.equal(held.length, 2, 'one pass started next');
  const job = held[1].job;
  t.equal(
    job.kind === 'layers' ? job.members.length : 0,
    4,
    'the four with the same options, merged (ragged: 3 lengths)',
  );
  held[1].finish();
  await turn();
  t.equal(held.length, 3, 'the request with other options has a pass of its own');
  held[2].finish();
  await turn();
  t.equal(blocker.status, 'answered');

  // Each alone, in a fresh core.
  const alone = setUp();
  const expected: string[] = [];
  for (const [extra, steps] of [
    [{}, 5],
    [{}, 3],
    [{ returnState: true }, 7],
    [{}, 1],
    [{ returnSequences: false }, 5],
  ] as const) {
    const outcome = served(alone.core, extra, steps);
    await turn();
    alone.held[alone.held.length - 1].finish();
    await turn();
    expected.push(outcome.body);
  }
  t.same(
    [...together, other].map((o) => o.body),
    expected,
    'byte for byte',
  );
});

t.test('a request whose turn would come after its deadline is refused at once', async (t) => {
  // 10^4 multiply-adds per second: the running pass of 200 · (4 + 8) · 8 ≈ 1.9·10^4 is ~1.9 s of work.
  const { core, held, refused } = setUp({ initialRate: 1e4 });
  served(core, {}, 200);
  await turn();
  t.equal(held.length, 1);
  const late = served(core, { timeoutMs: 500 });
  const patient = served(core, { timeoutMs: 60_000 });
  await turn();
  t.equal(late.status, 'failed', 'refused in the turn it arrived');
  t.equal(late.problem?.status, 503);
  t.match(late.problem?.message, /^its turn would come in about \d+ ms .*after its deadline of 500 ms \(timeoutMs\)/);
  t.ok(Number(late.problem?.headers['retry-after']) >= 1, 'with Retry-After');
  t.equal(patient.status, 'waiting', 'one with a later deadline waits');
  t.same(refused, ['deadline']);
  held[0].finish();
  await turn();
  held[1].finish();
  await turn();
  t.equal(patient.status, 'answered');
});

t.test('a request still waiting at its deadline is answered 503 then, and never computed', async (t) => {
  const { core, held, refused } = setUp({ initialRate: 1e12 });
  const running = described(core, 1);
  await turn();
  const waiting = described(core, 2, { timeoutMs: 40 });
  await turn();
  t.equal(waiting.status, 'waiting', 'admitted: its turn was expected in time');
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.equal(waiting.status, 'failed');
  t.equal(waiting.problem?.kind, 'queue-timeout');
  t.match(
    waiting.problem?.message,
    /^waited \d+ ms for its turn, past its deadline of 40 ms \(timeoutMs\); nothing was computed/,
  );
  t.equal(core.waiting, 0);
  held[0].finish();
  await turn();
  t.equal(running.status, 'answered');
  t.equal(held.length, 1, 'the expired request never reached a worker');
  t.same(refused, ['queue-timeout']);
});

t.test('QUEUE_TIMEOUT_MS is the deadline of a request that names none', async (t) => {
  const { core, held } = setUp({ initialRate: 1e12, queue: { timeoutMs: 30 } });
  described(core, 1);
  await turn();
  const waiting = described(core, 2);
  await turn();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(waiting.problem?.message, /past its deadline of 30 ms \(QUEUE_TIMEOUT_MS\)/);
  held[0].finish();
});

t.test('a client that leaves takes its request out of the queue', async (t) => {
  const { core, held } = setUp();
  described(core, 1);
  await turn();
  const leaving = described(core, 2);
  const staying = described(core, 3);
  await turn();
  t.equal(core.waiting, 2);
  leaving.leave();
  t.equal(core.waiting, 1, 'out at once');
  held[0].finish();
  await turn();
  t.same(
    held.map((h) => seedOf(h.job)),
    [1, 3],
    'the request of the client that left is never run',
  );
  held[1].finish();
  await turn();
  t.equal(staying.status, 'answered');
});

t.test('POOL_MAX_QUEUE: beyond it, 503 at once', async (t) => {
  const { core, held, refused } = setUp({ maxQueue: 2 });
  described(core, 1);
  await turn();
  const queued = [described(core, 2), described(core, 3)];
  const refusedNow = described(core, 4);
  await turn();
  t.equal(refusedNow.status, 'failed');
  t.match(refusedNow.problem?.message, /^the compute queue is full \(2 waiting, POOL_MAX_QUEUE\); retry after 1 s$/);
  t.same(refused, ['queue-full']);
  for (let i = 0; i < 3; i++) {
    held[i].finish();
    await turn();
  }
  t.same(
    queued.map((o) => o.status),
    ['answered', 'answered'],
  );
});

t.test('a pass whose clients have all left is stopped, and the next one starts', async (t) => {
  const { core, held } = setUp();
  const a = served(core);
  await turn();
  const next = described(core, 5);
  await turn();
  t.equal(held.length, 1);
  a.leave();
  await turn();
  t.equal(held[0].signal?.aborted, true, "the pass's signal aborted: its worker is stopped");
  t.equal(held.length, 2, 'the next request started without waiting for the stopped one');
  held[1].finish();
  await turn();
  t.equal(next.status, 'answered');
});

t.test('a priority beyond the levels is a 400 naming the field and the levels', async (t) => {
  const { core } = setUp();
  const outcome = described(core, 1, { priority: 4 });
  await turn();
  t.equal(outcome.problem?.status, 400);
  t.equal(
    outcome.problem?.message,
    'priority: is 4; the priority levels are 1 (first) to 3 (QUEUE_PRIORITY_LEVELS), 0 for the default (2)',
  );
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const members = (job: Job) => (job.kind === 'layers' ? job.members.length : 0);

t.test('BATCH_MAX_DELAY_MS: a lone request waits its delay for others, then goes alone', async (t) => {
  const { core, held } = setUp({ queue: { maxDelayMs: 40, maxBatchRows: 4 } });
  const started = performance.now();
  const a = served(core);
  await turn();
  t.equal(held.length, 0, 'the worker is free, but the pass waits for others to join it');
  t.equal(core.waiting, 1);
  while (held.length === 0 && performance.now() - started < 2000) await sleep(2);
  t.ok(performance.now() - started >= 39, 'it went when its delay was up');
  t.equal(members(held[0].job), 1, 'alone');
  held[0].finish();
  await turn();
  t.equal(a.status, 'answered');
});

t.test('BATCH_MAX_DELAY_MS: requests arriving within the delay go as one pass once the rows fill it', async (t) => {
  const { core, held } = setUp({ queue: { maxDelayMs: 5000, maxBatchRows: 3 } });
  const outcomes = [served(core)];
  await sleep(5);
  outcomes.push(served(core, {}, 3));
  await sleep(5);
  t.equal(held.length, 0, 'two rows of three: still waiting');
  outcomes.push(served(core, {}, 7));
  await turn();
  t.equal(held.length, 1, 'the third row fills the pass: it goes at once, long before the delay');
  t.equal(members(held[0].job), 3);
  held[0].finish();
  await turn();
  t.same(
    outcomes.map((o) => o.status),
    ['answered', 'answered', 'answered'],
  );

  // Each answer is the one it gets alone (a core without delay or merging).
  const alone = setUp({ queue: { maxBatchRows: 1 } });
  const expected: string[] = [];
  for (const steps of [5, 3, 7]) {
    const outcome = served(alone.core, {}, steps);
    await turn();
    alone.held[alone.held.length - 1].finish();
    await turn();
    expected.push(outcome.body);
  }
  t.same(
    outcomes.map((o) => o.body),
    expected,
    'byte for byte',
  );
});

t.test('BATCH_MAX_DELAY_MS: other requests go past a model whose pass waits', async (t) => {
  const { core, held } = setUp({ queue: { maxDelayMs: 5000, maxBatchRows: 8 } });
  const waiting = served(core);
  const other = described(core, 4);
  await turn();
  t.equal(held.length, 1, 'the described model (never merged) started at once');
  t.equal(seedOf(held[0].job), 4);
  held[0].finish();
  await turn();
  t.equal(other.status, 'answered');
  t.equal(waiting.status, 'waiting', 'the served pass still waits for others');
  waiting.leave();
  await turn();
  t.equal(core.waiting, 0, 'a client that leaves takes its held request out');
});

t.test('passRows: the most rows once queued, else the largest preferred size reached', async (t) => {
  const batching = { maxRows: 8, maxDelayMs: 10, preferredRows: [2, 4] };
  t.same(
    [0, 1, 2, 3, 4, 5, 7, 8, 20].map((rows) => passRows(batching, rows)),
    [null, null, 2, 2, 4, 4, 4, 8, 8],
  );
  t.same(
    [1, 7, 8].map((rows) => passRows({ maxRows: 8, maxDelayMs: 10, preferredRows: [] }, rows)),
    [null, null, 8],
  );
});

t.test(
  "config.pbtxt's dynamic_batching: max_batch_size, preferred sizes and the delay of the model's passes",
  async (t) => {
    const config = `
    max_batch_size: 6
    dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 5000000 }
  `;
    // The server would merge 64 rows without delay; the model's configuration says otherwise.
    const { core, held } = setUp({ config, queue: { maxBatchRows: 64, maxDelayMs: 0 } });
    const first = served(core);
    await turn();
    t.equal(held.length, 0, 'one row: below every preferred size, it waits (5 s of delay)');
    const more = [served(core), served(core)];
    await turn();
    t.equal(held.length, 1, 'three rows queued: a pass of the largest preferred size reached, 2, goes at once');
    t.equal(members(held[0].job), 2);
    t.equal(core.waiting, 1, 'the third waits on');
    held[0].finish();
    await turn();
    t.same([first.status, more[0].status, more[1].status], ['answered', 'answered', 'waiting']);
    const rest = [served(core), served(core), served(core), served(core), served(core)];
    await turn();
    t.equal(held.length, 2, 'six rows queued: a pass of max_batch_size');
    t.equal(members(held[1].job), 6);
    held[1].finish();
    await turn();
    t.same(
      [more[1], ...rest].map((o) => o.status),
      ['answered', 'answered', 'answered', 'answered', 'answered', 'answered'],
    );
  },
);

t.test('a config.pbtxt without dynamic_batching: passes are never merged', async (t) => {
  const { core, held } = setUp({ config: 'max_batch_size: 8', queue: { maxBatchRows: 64 } });
  const blocker = described(core, 9);
  await turn();
  const waiting = [served(core), served(core), served(core)];
  await turn();
  held[0].finish();
  await turn();
  t.equal(members(held[1].job), 1, 'alone, although three wait together');
  for (let i = 1; i <= 3; i++) {
    held[i].finish();
    await turn();
  }
  t.same(
    [blocker, ...waiting].map((o) => o.status),
    ['answered', 'answered', 'answered', 'answered'],
  );
});

t.test("the model's queue policy: its levels, default timeout, timeout override and max_queue_size", async (t) => {
  const config = `
    max_batch_size: 1
    dynamic_batching {
      priority_levels: 5
      default_priority_level: 4
      default_queue_policy { default_timeout_microseconds: 200000 max_queue_size: 2 }
      priority_queue_policy { key: 1 value: { default_timeout_microseconds: 300000 allow_timeout_override: true } }
    }
  `;
  const { core, held, refused } = setUp({ config, initialRate: 1e12 });
  const blocker = described(core, 9);
  await turn();
  t.equal(held.length, 1);

  const beyond = served(core, { priority: 6 });
  await turn();
  t.equal(
    beyond.problem?.message,
    'priority: is 6; the priority levels are 1 (first) to 5 (dynamic_batching.priority_levels in m/config.pbtxt), 0 for the default (4)',
  );

  // Level 4 (the model's default): two may wait, the third is refused.
  const atDefault = [served(core), served(core, { priority: 4 }), served(core)];
  // Level 5, beyond the server's 3 levels, queues behind level 4.
  const atFive = served(core, { priority: 5 });
  // Level 1 lets a request shorten its timeout.
  const urgent = served(core, { priority: 1, timeoutMs: 100 });
  // Level 4 does not: the request's 100 000 ms is not used.
  const ignored = served(core, { priority: 4, timeoutMs: 100000 });
  await turn();
  t.equal(atDefault[2].problem?.status, 503);
  t.match(
    atDefault[2].problem?.message,
    /^its model's queue is full \(2 waiting at priority 4, dynamic_batching\.default_queue_policy\.max_queue_size in m\/config\.pbtxt\)/,
  );
  t.equal(ignored.problem?.status, 503, 'the third at level 4 too');
  t.same(refused, ['queue-full', 'queue-full']);
  t.equal(core.waiting, 4);

  await sleep(150);
  t.equal(urgent.problem?.kind, 'queue-timeout', "level 1: the request's own 100 ms");
  t.match(urgent.problem?.message, /past its deadline of 100 ms \(timeoutMs\)/);
  t.same(
    [atDefault[0].status, atDefault[1].status, atFive.status],
    ['waiting', 'waiting', 'waiting'],
    "level 4's 200 ms are not up",
  );
  await sleep(150);
  t.equal(atDefault[0].problem?.kind, 'queue-timeout');
  t.match(
    atDefault[0].problem?.message,
    /past its deadline of 200 ms \(dynamic_batching\.default_queue_policy\.default_timeout_microseconds in m\/config\.pbtxt\)/,
  );
  t.equal(atFive.problem?.kind, 'queue-timeout', 'level 5 has the default policy too');
  held[0].finish();
  await turn();
  t.equal(blocker.status, 'answered');
});

t.test("a request may shorten its model's timeout where allowed, never lengthen it", async (t) => {
  const config = `
    max_batch_size: 1
    dynamic_batching { default_queue_policy { default_timeout_microseconds: 100000 allow_timeout_override: true } }
  `;
  const { core, held } = setUp({ config, initialRate: 1e12 });
  described(core, 9);
  await turn();
  const longer = served(core, { timeoutMs: 60000 });
  await turn();
  await sleep(200);
  t.equal(longer.problem?.kind, 'queue-timeout');
  t.match(
    longer.problem?.message,
    /deadline of 100 ms \(dynamic_batching\.default_queue_policy\.default_timeout_microseconds in m\/config\.pbtxt\)/,
  );
  held[0].finish();
});

t.test("without allow_timeout_override a request's timeout is not used, and its answer says so", async (t) => {
  const config = `
    max_batch_size: 1
    dynamic_batching { default_queue_policy { default_timeout_microseconds: 100000 } }
  `;
  const { core, held } = setUp({ config, initialRate: 1e12 });
  described(core, 9);
  await turn();
  const outcome = served(core, { timeoutMs: 60000 });
  await turn();
  await sleep(200);
  t.equal(outcome.problem?.kind, 'queue-timeout');
  t.match(
    outcome.problem?.message,
    'past its deadline of 100 ms (dynamic_batching.default_queue_policy.default_timeout_microseconds in ' +
      'm/config.pbtxt; timeoutMs is not used: dynamic_batching.default_queue_policy.allow_timeout_override is false)',
  );
  held[0].finish();
});
