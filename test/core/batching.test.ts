/**
 * Dynamic batching (src/inference/layer-batch.ts, the scheduler's merging): generated mixes of requests for one
 * served model, queued together behind a busy worker and run as one pass, each answered byte for byte as it is
 * alone. The mixes cover every kind of layer model the repository serves (SimpleRNN, LSTM, GRU, stacks,
 * Bidirectional, Masking, Embedding, Dense heads, many-to-one, backwards layers), ragged lengths (nested, `lengths`,
 * `mask`), initial states (h and c, given to some requests and not others), every answer form (nested and flat JSON,
 * the inference protocol's JSON and binary), `topK`, `stateLayout: pytorch`, and values JSON cannot carry (one
 * request's 422 leaves the others' answers alone).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ModelForwardRequest } from '../../schemas/models.js';
import { OipInferenceRequest } from '../../schemas/oip.js';
import { defaultConfig } from '../../src/config/config.js';
import { InferenceCore } from '../../src/core/core.js';
import type { Sink } from '../../src/core/sink.js';
import { answerText } from '../../src/codec/json-stream.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { loadRepository } from '../../src/models/repository.js';
import type { EncodedAnswer } from '../../src/protocols/encoding.js';
import { forwardEncoding, modelForwardRequest } from '../../src/protocols/forward-request.js';
import type { OipAnswer } from '../../src/protocols/oip-answer.js';
import { oipRequest } from '../../src/protocols/oip-request.js';
import { type Job, type JobResult, runJob } from '../../src/runtime/jobs.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import type { WorkerPool } from '../../src/runtime/pool.js';
import { rng } from '../helpers/random.js';

const cache = new SeededWeightsCache(8);
const env = {
  cache,
  program: () => {
    throw new Error('no graphs here');
  },
};
const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const SHIPPED = new URL('../../models/', import.meta.url).pathname;

/** name → [inputDim, ids (Embedding: the vocabulary size) or null]. */
const MODELS: Record<string, { inputDim: number; ids: number | null }> = {
  hello: { inputDim: 4, ids: null },
  'next-char': { inputDim: 1, ids: 4 },
  'bidirectional-lstm': { inputDim: 3, ids: null },
  'gru-state': { inputDim: 3, ids: null },
  masked: { inputDim: 3, ids: null },
  'lstm-state': { inputDim: 3, ids: null },
  'mixed-gated': { inputDim: 3, ids: null },
  stacked: { inputDim: 3, ids: null },
  tagger: { inputDim: 3, ids: null },
  'many-to-one': { inputDim: 1, ids: 5 },
  'lstm-stack': { inputDim: 3, ids: null },
  backwards: { inputDim: 2, ids: null },
  overflow: { inputDim: 1, ids: null },
};

function repositoryDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-batching-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = (from: string, name: string) => cpSync(from, join(dir, name, '1'), { recursive: true });
  copy(join(SHIPPED, 'hello/1'), 'hello');
  copy(join(SHIPPED, 'next-char/1'), 'next-char');
  for (const name of ['bidirectional-lstm', 'gru-state', 'masked', 'lstm-state', 'mixed-gated'])
    copy(join(FIXTURES, 'tfjs-gated', name), name);
  for (const name of ['stacked', 'tagger', 'many-to-one']) copy(join(FIXTURES, 'tfjs-family', name), name);
  const write = (name: string, model: object) => {
    mkdirSync(join(dir, name, '1'), { recursive: true });
    writeFileSync(join(dir, name, '1', 'model.json'), JSON.stringify({ format: 'rnn-serve/v1', ...model }));
  };
  write('lstm-stack', {
    inputDim: 3,
    layers: [
      { hiddenSize: 4, cell: 'lstm' },
      { hiddenSize: 4, cell: 'gru' },
    ],
    seed: 5,
  });
  write('backwards', { inputDim: 2, hiddenSize: 3, goBackwards: true, seed: 6 });
  // Linear, large weights: some inputs overflow float32, which JSON cannot carry (a 422 of that request alone).
  write('overflow', {
    inputDim: 1,
    activation: 'linear',
    weights: { kernel: [[3e30]], recurrentKernel: [[1e10]], bias: [0] },
  });
  return dir;
}

interface Held {
  readonly job: Job;
  finish(): void;
}

function heldPool(): { pool: WorkerPool; held: Held[] } {
  const held: Held[] = [];
  return {
    held,
    pool: {
      threads: 1,
      abandonedJobs: 0,
      close: async () => {},
      run: (job) => new Promise<JobResult>((resolve) => held.push({ job, finish: () => resolve(runJob(job, env)) })),
    },
  };
}

async function makeCore(dir: string) {
  const repository = await loadRepository({ dir, onError: 'fail' }, defaultConfig.limits, cache);
  const { pool, held } = heldPool();
  const core = new InferenceCore({
    repository,
    limits: defaultConfig.limits,
    cache,
    pool,
    poolSettings: { ...defaultConfig.pool, threads: 1, minCompute: 0 },
    queue: { ...defaultConfig.queue, maxBatchRows: 1024 },
    budget: new MemoryBudget(0, 1),
    retryAfterSeconds: 1,
  });
  return { core, held };
}

/** What reached a sink, as text: the answer (the inference protocol's binary parts after its JSON), or the problem. */
function recorder(): { sink: Sink<EncodedAnswer>; text: () => string } {
  let text = '(nothing)';
  return {
    text: () => text,
    sink: {
      gone: () => new AbortController().signal,
      onClose: () => {},
      answer(answer) {
        if (typeof answer === 'object' && answer !== null && 'binary' in answer) {
          const oip = answer as OipAnswer;
          text = `${answerText(oip.json)}|${oip.binary.map((b) => Buffer.from(b).toString('hex')).join('|')}`;
        } else text = answerText(answer as never);
      },
      fail(error) {
        text = error instanceof ProblemError ? `${error.status} ${error.message}` : `error ${String(error)}`;
      },
    },
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

/** One member of a mix: a request in one of the forms, sharing the mix's options. */
interface Member {
  readonly send: (core: InferenceCore, sink: Sink<EncodedAnswer>) => void;
  /** Its time steps: the longest of its sequences. */
  readonly time: number;
}

function member(random: Random, name: string, options: Record<string, unknown>, rows: number, steps: number): Member {
  const { inputDim, ids } = MODELS[name];
  const value = () => (ids === null ? Math.round((random() * 4 - 2) * 100) / 100 : int(random, 0, ids - 1));
  const lengths = Array.from({ length: rows }, () => int(random, 1, steps));
  const ragged = random() < 0.5;
  const nested = lengths.map((length) =>
    Array.from({ length: ragged ? length : steps }, () => Array.from({ length: inputDim }, value)),
  );
  const form = pick(random, ['nested', 'flat', 'oip-json', 'oip-binary'] as const);
  if (form === 'oip-json' || form === 'oip-binary') {
    if (
      options.returnSequences === false ||
      options.returnState === false ||
      options.stateLayout !== undefined ||
      options.topK !== undefined
    )
      return member(random, name, options, rows, steps);
    // Every output (the default): the same outputs as the forward view with its states.
    const data = nested.flatMap((sequence) => [
      ...sequence.flat(),
      ...new Array((steps - sequence.length) * inputDim).fill(0),
    ]);
    const shape = [rows, steps, inputDim];
    const binary = form === 'oip-binary';
    const bytes = Buffer.from(new Float32Array(data).buffer);
    const body = OipInferenceRequest.parse({
      inputs: [
        binary
          ? { name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: bytes.length } }
          : { name: 'input', shape, datatype: 'FP32', data },
        ...(ragged ? [{ name: 'lengths', shape: [rows], datatype: 'INT32', data: lengths }] : []),
      ],
      ...(binary ? { parameters: { binary_data_output: true } } : {}),
    });
    return {
      time: steps,
      send: (core, sink) => {
        const { request, encoding } = oipRequest(body, binary ? bytes : null, name, undefined);
        core.infer(request, encoding, sink);
      },
    };
  }
  const body: Record<string, unknown> = { ...options, outputFormat: form };
  if (form === 'flat' || random() < 0.3) {
    body.inputs = {
      shape: [rows, steps, inputDim],
      data: nested.flatMap((sequence) => [
        ...sequence.flat(),
        ...new Array((steps - sequence.length) * inputDim).fill(0),
      ]),
    };
    if (ragged) body.lengths = lengths;
  } else if (ragged && random() < 0.5) {
    body.inputs = nested.map((sequence) => [
      ...sequence,
      ...Array.from({ length: steps - sequence.length }, () => new Array(inputDim).fill(0)),
    ]);
    body.mask = lengths.map((length) => Array.from({ length: steps }, (_, i) => i < length));
  } else body.inputs = nested;
  const parsed = ModelForwardRequest.parse(body);
  const time = Array.isArray(body.inputs) ? Math.max(...nested.map((s) => s.length)) : steps;
  return {
    time: body.inputs === nested ? time : steps,
    send: (core, sink) => core.infer(modelForwardRequest(parsed, name), forwardEncoding(parsed.outputFormat), sink),
  };
}

/** Whether the model has a layer that runs backwards outside Bidirectional (its passes merge by length only). */
function backwards(core: InferenceCore, name: string): boolean {
  const { model } = core.metadata(name).view;
  return (model?.layers ?? []).some(
    (layer) => layer.goBackwards && (layer.bidirectional ?? model?.bidirectional) == null,
  );
}

/** Options one mix shares (so that its members merge). */
function options(random: Random, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (name !== 'many-to-one' && random() < 0.25) out.returnSequences = false;
  if (random() < 0.2) out.returnState = false;
  if ((name === 'next-char' || name === 'tagger') && random() < 0.5) out.topK = 2;
  if (name === 'lstm-stack' && random() < 0.5) out.stateLayout = 'pytorch';
  return out;
}

t.test('generated mixes: each answer of a merged pass is the answer alone, byte for byte', async (t) => {
  const dir = repositoryDir(t);
  const random = rng(2024);
  const merged = await makeCore(dir);
  const alone = await makeCore(dir);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let passes = 0;
  let compared = 0;
  for (let round = 0; round < 60; round++) {
    const name = pick(random, Object.keys(MODELS));
    const shared = options(random, name);
    const steps = name === 'backwards' ? int(random, 1, 6) : 0;
    const members = Array.from({ length: int(random, 2, 6) }, () =>
      member(random, name, shared, int(random, 1, 3), steps || int(random, 1, 6)),
    );
    // A busy worker: the mix waits in the queue together, then goes as one pass.
    const blocker = recorder();
    members[0].send(merged.core, blocker.sink);
    await turn();
    const answers = members.map(() => recorder());
    members.forEach((m, i) => m.send(merged.core, answers[i].sink));
    await turn();
    const before = merged.held.length;
    merged.held[before - 1].finish();
    await turn();
    t.notMatch(answers[0].text(), /^400 /, `round ${round} (${name}): a request the model takes`);
    // Then every pass the mix took (one; a backwards layer's: one per sequence length).
    let taken = 0;
    while (merged.held.length > before + taken) {
      merged.held[before + taken].finish();
      taken += 1;
      await turn();
    }
    const job = merged.held[before]?.job;
    if (backwards(merged.core, name))
      t.equal(taken, new Set(members.map((m) => m.time)).size, `round ${round} (${name}): a pass per sequence length`);
    else
      t.same(
        [taken, job?.kind === 'layers' ? job.members.length : 0],
        [1, members.length],
        `round ${round} (${name}): one pass for the mix`,
      );
    passes += 1;
    for (const [i, m] of members.entries()) {
      const one = recorder();
      m.send(alone.core, one.sink);
      await turn();
      alone.held[alone.held.length - 1].finish();
      await turn();
      t.equal(answers[i].text(), one.text(), `round ${round} (${name} ${JSON.stringify(shared)}): member ${i}`);
      compared += 1;
    }
  }
  t.comment(`${passes} merged passes, ${compared} answers compared`);
});
