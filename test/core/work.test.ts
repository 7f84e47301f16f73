/**
 * work.ts: a planned request as the scheduler handles it. Held to the fields of each kind of work (cost, bytes,
 * shape, model, rows, batch key only when its model merges, the batching), the job each makes (inline with its
 * model's weights, or for a worker with a seeded model's weights left out to be built there), and a merged job's
 * members with their rows, facts and answer forms.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { WeightsRequest } from '../../schemas/weights.js';
import { UNBATCHED, jsonForwardWork, layerWork, mergedJob, onnxWork, weightsWork } from '../../src/core/work.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import { planMemoryBytes } from '../../src/inference/memory-estimate.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { planOnnx } from '../../src/models/onnx/backend.js';
import { loadOnnxProgram } from '../../src/models/onnx/program.js';
import { forwardRequest } from '../../src/protocols/forward-request.js';
import {
  LIMITS,
  explicitModel,
  inferenceRequest,
  layer,
  nestedTensor,
  servedAs,
  typedTensor,
} from '../helpers/inference.js';
import { fixtureBytes } from '../helpers/onnx.js';

const cache = new SeededWeightsCache(2);
const NESTED = { kind: 'forward', format: 'nested' } as const;
const FLAT = { kind: 'forward', format: 'flat' } as const;
const BATCHING = { maxRows: 8, maxDelayMs: 0, preferredRows: [] };

t.test('a served layer plan: its fields and its job', async (t) => {
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 2);
  const plan = planLayers(
    inferenceRequest([nestedTensor('input', [[[1, 0]], [[0, 1]]], 'inputs')]),
    LIMITS,
    cache,
    servedAs(model),
    null,
  );
  const work = layerWork(plan, NESTED, BATCHING);
  t.same(
    [work.cost, work.bytes, work.shape, work.model, work.rows],
    [plan.cost, planMemoryBytes(plan), [2, 1, 2], { name: 'm', version: '1' }, 2],
  );
  t.type(work.key, 'string', 'merged with others of its key');
  t.equal(layerWork(plan, NESTED, UNBATCHED).key, null, 'a model that does not merge: no key');
  t.same(UNBATCHED, { maxRows: 1, maxDelayMs: 0, preferredRows: [] });
  t.equal(work.layers, plan);
  const job = work.job(true);
  if (job.kind !== 'layers') throw new Error('a layer job');
  t.equal(job.plan, plan, 'inline: the plan itself');
  t.same(job.members, [{ rows: null, carry: false, facts: job.members[0].facts, encoding: NESTED }]);
  const away = work.job(false);
  if (away.kind !== 'layers') throw new Error('a layer job');
  t.equal(away.plan.model.weights, model.weights, 'explicit weights go with the job');
});

t.test("a seeded model's job for a worker leaves its weights out", async (t) => {
  const body = ForwardRequest.parse({ inputs: [[[1]]], hiddenSize: 2, seed: 4 });
  const plan = planLayers(forwardRequest(body), LIMITS, cache, null, body);
  const job = layerWork(plan, NESTED, UNBATCHED).job(false);
  if (job.kind !== 'layers') throw new Error('a layer job');
  t.equal(job.plan.model.weights, null, 'built again on the worker from its own cache');
  t.equal(job.plan.model.seed, 4);
  t.equal(layerWork(plan, NESTED, UNBATCHED).model, null, 'a described model has no served name');
});

t.test('merged: one pass, each member its rows, facts and answer form', async (t) => {
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 1);
  const plans = [[[[1]]], [[[1], [2]], [[3]]]].map((inputs) =>
    planLayers(inferenceRequest([nestedTensor('input', inputs, 'inputs')]), LIMITS, cache, servedAs(model), null),
  );
  const works = plans.map((p) => layerWork(p, NESTED, BATCHING));
  const job = mergedJob(works, [NESTED, FLAT], true);
  if (job.kind !== 'layers') throw new Error('a layer job');
  t.same(job.plan.shape, [3, 2, 1]);
  t.same(
    job.members.map((m) => [m.rows, m.encoding.kind === 'forward' && m.encoding.format]),
    [
      [{ rows: 1, time: 1 }, 'nested'],
      [{ rows: 2, time: 2 }, 'flat'],
    ],
  );
  t.same(job.members[1].facts.inputShape, [2, 2, 1]);
});

t.test('an ONNX plan, a body as bytes, a weights export', async (t) => {
  const program = loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'));
  const served = { name: 'g', version: '3', program, source: { id: 9, bytes: new Uint8Array() } };
  const planned = planOnnx(
    served,
    inferenceRequest([typedTensor('x', 'FP32', [1, 2, 3], [1, 2, 3, 4, 5, 6])], {}, 'all'),
    LIMITS,
  );
  const work = onnxWork(planned, served, { kind: 'result' });
  t.same(
    [work.cost, work.bytes, work.shape, work.model, work.rows, work.key],
    [planned.plan.compute, planned.bytes, [1, 2], { name: 'g', version: '3' }, 1, null],
  );
  const inline = work.job(true);
  const away = work.job(false);
  t.ok(inline.kind === 'onnx' && inline.local?.program === program, 'inline: the program it has');
  t.ok(away.kind === 'onnx' && away.local === undefined && away.source.id === 9, 'a worker: the source to decode');

  const bytes = new Uint8Array(10);
  const json = jsonForwardWork(bytes, LIMITS, 1234, 5678);
  t.same([json.cost, json.bytes, json.shape, json.model, json.rows, json.key], [1234, 5678, null, null, 1, null]);
  t.same(json.job(false), { kind: 'forward-json', bytes, limits: LIMITS });
  const request = WeightsRequest.parse({ inputDim: 1, hiddenSize: 1 });
  t.same(weightsWork(request, LIMITS, 7, 8).job(true), { kind: 'weights', request, limits: LIMITS });
});
