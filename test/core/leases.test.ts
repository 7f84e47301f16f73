/**
 * The core holds a request's model version until its exchange is over (src/core/core.ts `#hold`, the repository's
 * leases): a version unloaded while a request waits for or runs on it answers that request from the version it
 * started on, and is freed after it; a sequence on a version that is replaced or unloaded ends with an error that
 * names the versions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ModelForwardRequest } from '../../schemas/models.js';
import { defaultConfig } from '../../src/config/config.js';
import { InferenceCore } from '../../src/core/core.js';
import { SequenceSteps } from '../../src/core/sequence-steps.js';
import { MemorySequenceStore } from '../../src/core/sequences/memory-store.js';
import type { Sink } from '../../src/core/sink.js';
import { type JsonAnswer, answerText } from '../../src/codec/json-stream.js';
import type { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { type RegistryEvent, loadRepository } from '../../src/models/repository.js';
import { forwardEncoding, modelForwardRequest } from '../../src/protocols/forward-request.js';
import { type JobResult, runJob } from '../../src/runtime/jobs.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import type { WorkerPool } from '../../src/runtime/pool.js';
import { modelsDir } from '../helpers/models.js';

const cache = new SeededWeightsCache(8);
const env = {
  cache,
  program: () => {
    throw new Error('no graphs here');
  },
};
const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });

async function setUp(t: Parameters<typeof modelsDir>[0], pooled: boolean) {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const repository = await loadRepository(
    { dir, onError: 'fail', control: 'explicit', pollSeconds: 60 },
    defaultConfig.limits,
    cache,
  );
  t.teardown(() => repository.close());
  const events: string[] = [];
  repository.onEvent((event: RegistryEvent) => events.push(`${event.kind} ${event.version}`));
  const finishers: (() => void)[] = [];
  const pool: WorkerPool = {
    threads: pooled ? 1 : 0,
    abandonedJobs: 0,
    close: async () => {},
    run: (job) => new Promise<JobResult>((resolve) => finishers.push(() => resolve(runJob(job, env)))),
  };
  const store = new MemorySequenceStore({ maxSequences: 10, idleMs: 60_000, retryAfterSeconds: 1 });
  t.teardown(() => store.close());
  const core = new InferenceCore({
    repository,
    limits: defaultConfig.limits,
    cache,
    pool,
    poolSettings: { ...defaultConfig.pool, threads: pooled ? 1 : 0, minCompute: pooled ? 0 : Infinity },
    queue: defaultConfig.queue,
    budget: new MemoryBudget(0, 1),
    retryAfterSeconds: 1,
    sequences: new SequenceSteps(store, null, { info: () => {} }),
  });
  const write = (path: string, seed: number) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(model(seed)));
  };
  return { core, repository, events, finishers, write };
}

interface Outcome {
  status: 'waiting' | 'answered' | 'failed' | 'closed';
  body: string;
  problem: ProblemError | null;
}

/** A request for model `m` (its latest version, or `version`); the exchange closes once answered or failed. */
function send(core: InferenceCore, body: object, version?: string): Outcome {
  const parsed = ModelForwardRequest.parse({
    inputs: [
      [
        [1, 0],
        [0, 1],
      ],
    ],
    outputFormat: 'flat',
    ...body,
  });
  const outcome: Outcome = { status: 'waiting', body: '', problem: null };
  const closers: (() => void)[] = [];
  const close = () => {
    for (const release of closers.splice(0)) release();
  };
  const sink: Sink<JsonAnswer> = {
    gone: () => new AbortController().signal,
    onClose: (release) => closers.push(release),
    answer(answer) {
      Object.assign(outcome, { status: 'answered', body: answerText(answer) });
      close();
    },
    fail(error) {
      Object.assign(outcome, { status: 'failed', problem: error });
      close();
    },
  };
  core.infer(modelForwardRequest(parsed, 'm', version), forwardEncoding(parsed.outputFormat), sink);
  return outcome;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const settle = async () => {
  for (let i = 0; i < 5; i++) await turn();
};

t.test('a version unloaded while a request waits on it answers that request, then is freed', async (t) => {
  const { core, repository, events, finishers } = await setUp(t, true);
  const before = send(core, {});
  await settle();
  t.equal(finishers.length, 1, 'the pass is on the worker');
  await repository.unload('m');
  t.same(events, ['retired 1'], 'retired, not freed: a request holds it');
  t.equal(repository.entries('m')[0].state, 'UNLOADING');
  const after = send(core, {});
  await settle();
  t.equal(after.problem?.status, 404, 'a new request does not get it');
  finishers[0]();
  await settle();
  t.equal(before.status, 'answered', 'the request in flight is answered');
  t.same(events, ['retired 1', 'unloaded 1'], 'freed after its last request');

  // The answer is the one version 1 gives.
  await repository.load('m');
  const again = send(core, {});
  await settle();
  finishers[1]();
  await settle();
  t.equal(again.body, before.body);
});

t.test('a sequence on a replaced or unloaded version ends with an error naming the versions', async (t) => {
  const { core, repository, write } = await setUp(t, false);
  const first = send(core, { sequenceId: 5, sequenceStart: true });
  await settle();
  t.equal(first.status, 'answered');

  // Version 2 arrives: a request without a version goes to it, and the sequence's state is not its.
  write('m/2/model.json', 2);
  await repository.load('m');
  const next = send(core, { sequenceId: 5 });
  await settle();
  t.equal(next.problem?.status, 400);
  t.match(
    next.problem?.message,
    /^sequenceId: sequence 5 of model "m" runs on version 1 .*this request is for version 2/,
  );
  const onOne = send(core, { sequenceId: 5 }, '1');
  await settle();
  t.equal(onOne.status, 'answered', 'naming version 1, it continues');

  // Version 1 unloaded: the sequence cannot continue on it.
  await repository.unload('m');
  const gone = send(core, { sequenceId: 5 }, '1');
  await settle();
  t.equal(gone.problem?.status, 404);
  t.match(gone.problem?.message, /model 'm'/);
});
