/**
 * core.ts: the serving core every frontend hands its requests to. Held, without workers (every pass on the event
 * loop), to: a served layer model's and an ONNX graph's answers equal to their backends' own, a described model's,
 * a body as bytes and a weights export answered, the served models and their metadata listed, and refusals going
 * to the request's sink: an unknown model (404), a sequence without a sequence store, the memory budget.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { WeightsRequest } from '../../schemas/weights.js';
import { answerText, type JsonAnswer } from '../../src/codec/json-stream.js';
import { defaultConfig } from '../../src/config/config.js';
import { InferenceCore } from '../../src/core/core.js';
import type { Sink } from '../../src/core/sink.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import { runLayers } from '../../src/inference/layer-run.js';
import type { InferenceResult } from '../../src/inference/request.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { loadModelFile, servedLayers } from '../../src/models/model-file.js';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { ModelRepository } from '../../src/models/repository.js';
import { writeForwardAnswer } from '../../src/protocols/forward-answer.js';
import { forwardEncoding, forwardRequest, modelForwardRequest } from '../../src/protocols/forward-request.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import { createWorkerPool } from '../../src/runtime/pool.js';
import { LIMITS, inferenceRequest, typedTensor } from '../helpers/inference.js';
import { modelsDir } from '../helpers/models.js';
import { fixtureBytes, fixtureCases, maxDiff } from '../helpers/onnx.js';

const cache = new SeededWeightsCache(4);

async function servedRepository(t: Parameters<typeof modelsDir>[0]) {
  const dir = modelsDir(t, { 'm/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed: 5 } });
  mkdirSync(join(dir, 'g', '2'), { recursive: true });
  writeFileSync(join(dir, 'g', '2', 'model.onnx'), fixtureBytes('rnn-1-tanh-bf'));
  const files = (await RepositoryFiles.at(dir)) as RepositoryFiles;
  const layers = await loadModelFile(files, 'm/1/model.json', 'm', '1', LIMITS, cache);
  const graph = await loadModelFile(files, 'g/2/model.onnx', 'g', '2', LIMITS, cache);
  return { repository: ModelRepository.serving([layers, graph]), layers };
}

function core(repository: ModelRepository, budget = new MemoryBudget(0, 1)): InferenceCore {
  return new InferenceCore({
    repository,
    limits: LIMITS,
    cache,
    pool: createWorkerPool({ ...defaultConfig.pool, threads: 0 }),
    poolSettings: { ...defaultConfig.pool, threads: 0 },
    queue: defaultConfig.queue,
    budget,
    retryAfterSeconds: 1,
  });
}

/** A sink whose answer or problem settles the promise. */
function settled<A>(): { sink: Sink<A>; outcome: Promise<{ answer?: A; error?: unknown }> } {
  let done: (value: { answer?: A; error?: unknown }) => void = () => {};
  const outcome = new Promise<{ answer?: A; error?: unknown }>((resolve) => {
    done = resolve;
  });
  const sink: Sink<A> = {
    gone: () => new AbortController().signal,
    onClose: () => {},
    answer: (answer) => done({ answer }),
    fail: (error) => done({ error }),
  };
  return { sink, outcome };
}

t.test('a served layer model, an ONNX graph, a described model', async (t) => {
  const { repository, layers } = await servedRepository(t);
  const inference = core(repository);
  const body = {
    inputs: [
      [
        [1, 0],
        [0, 1],
      ],
    ],
  };
  const served = settled<JsonAnswer>();
  inference.infer(modelForwardRequest(body as never, 'm'), forwardEncoding(undefined), served.sink);
  const request = modelForwardRequest(body as never, 'm');
  if (layers.kind !== 'rnn') throw new Error('a layer model');
  const alone = writeForwardAnswer(runLayers(planLayers(request, LIMITS, cache, servedLayers(layers), null)), 'nested');
  t.equal(answerText((await served.outcome).answer as JsonAnswer), answerText(alone));

  const [first] = fixtureCases('rnn-1-tanh-bf');
  const graph = settled<InferenceResult>();
  const x = first.inputs.x;
  inference.infer(
    {
      ...inferenceRequest([typedTensor('x', 'FP32', x.shape, x.data)], {}, 'all'),
      model: { kind: 'served', name: 'g' },
    },
    { kind: 'result' },
    graph.sink,
  );
  const tensors = ((await graph.outcome).answer as InferenceResult).tensors;
  t.same(
    tensors.map((tensor) => tensor.name),
    ['y', 'h_n'],
  );
  t.ok(maxDiff(tensors[0].data, first.outputs.y.data) < 1e-5, "torch's y");

  const described = settled<JsonAnswer>();
  const parsed = ForwardRequest.parse({ inputs: [[[1]]], hiddenSize: 2, seed: 1 });
  inference.infer(forwardRequest(parsed), forwardEncoding(undefined), described.sink);
  t.same(JSON.parse(answerText((await described.outcome).answer as JsonAnswer)).shapes.outputs, [1, 1, 2]);
});

t.test('a body as bytes and a weights export', async (t) => {
  const inference = core(ModelRepository.serving([]));
  const json = settled<JsonAnswer>();
  inference.inferJson(new TextEncoder().encode(JSON.stringify({ inputs: [[[1], [2]]], hiddenSize: 1 })), json.sink);
  t.same(JSON.parse(answerText((await json.outcome).answer as JsonAnswer)).shapes.inputs, [1, 2, 1]);
  const weights = settled<JsonAnswer>();
  inference.exportWeights(WeightsRequest.parse({ inputDim: 2, hiddenSize: 1, seed: 3 }), weights.sink);
  t.same(JSON.parse(answerText((await weights.outcome).answer as JsonAnswer)).keras[0].kernel.length, 2);
  t.throws(
    () => inference.exportWeights(WeightsRequest.parse({ inputDim: 2, seed: 3 }), settled<JsonAnswer>().sink),
    { message: 'hiddenSize: is required unless weights are given' },
    'a weights request is checked at once',
  );
});

t.test('the served models and their metadata', async (t) => {
  const inference = core((await servedRepository(t)).repository);
  t.same(inference.models(), [
    { name: 'g', versions: ['2'], states: [{ version: '2', state: 'READY', reason: '' }] },
    { name: 'm', versions: ['1'], states: [{ version: '1', state: 'READY', reason: '' }] },
  ]);
  const metadata = inference.metadata('m');
  t.same([metadata.name, metadata.platform, metadata.versions], ['m', 'rnn-serve_json', ['1']]);
  t.equal(inference.metadata('g', '2').platform, 'rnn-serve_onnx');
  let unknown: unknown = null;
  try {
    inference.metadata('nope');
  } catch (error) {
    unknown = error;
  }
  t.ok(unknown instanceof ProblemError && unknown.kind === 'not-found', 'an unknown model: 404');
  t.equal(inference.pending, 0);
});

t.test("refusals go to the request's sink", async (t) => {
  const inference = core((await servedRepository(t)).repository, new MemoryBudget(300 * 1024, 1));
  const unknown = settled<JsonAnswer>();
  inference.infer(
    modelForwardRequest({ inputs: [[[1, 0]]] } as never, 'nope'),
    forwardEncoding(undefined),
    unknown.sink,
  );
  const missing = (await unknown.outcome).error as ProblemError;
  t.equal(missing.kind, 'not-found');
  t.equal(missing.status, 404);

  const sequence = settled<JsonAnswer>();
  inference.infer(
    modelForwardRequest({ inputs: [[[1, 0]]], sequenceId: 3, sequenceStart: true } as never, 'm'),
    forwardEncoding(undefined),
    sequence.sink,
  );
  t.same(((await sequence.outcome).error as ProblemError).errors, [
    { path: 'sequenceId', message: 'names a sequence, but this server keeps no sequence state' },
  ]);

  // Seeded weights of 200 units take (1 + 200)·200 float32 and 3·200·200 float64 to build: past 300 KiB.
  const big = settled<JsonAnswer>();
  const parsed = ForwardRequest.parse({ inputs: [[[1]]], hiddenSize: 200, seed: 9 });
  inference.infer(forwardRequest(parsed), forwardEncoding(undefined), big.sink);
  const refused = (await big.outcome).error as ProblemError;
  t.equal(refused.kind, 'limit-exceeded');
  t.match(
    refused.errors[0].message,
    /^the request's estimated memory is \d+; the limit is 307200 \(MEMORY_BUDGET_BYTES\)$/,
  );
});
