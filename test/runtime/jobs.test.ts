/**
 * jobs.ts runs the work of one pass as plain data, as a worker does. Held to: a merged layer job split into each
 * request's answer equal to the one it gets alone, a seeded model's weights built from the cache where they are
 * left out, a sequence chunk's carried state, a request whose answer JSON cannot carry failing alone, an ONNX job
 * run to torch's outputs, a body as bytes and a weights export answered, and problems as data both ways.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { WeightsRequest } from '../../schemas/weights.js';
import { type JsonAnswer, answerText } from '../../src/codec/json-stream.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { mergeLayerPlans } from '../../src/inference/layer-batch.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import { layerFacts } from '../../src/inference/layer-run.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { planOnnx } from '../../src/models/onnx/backend.js';
import { loadOnnxProgram } from '../../src/models/onnx/program.js';
import { writeForwardAnswer } from '../../src/protocols/forward-answer.js';
import { forwardRequest } from '../../src/protocols/forward-request.js';
import { runLayers } from '../../src/inference/layer-run.js';
import { type Job, type JobEnvironment, type Outcome, problemData, problemOf, runJob } from '../../src/runtime/jobs.js';
import { LIMITS, explicitModel, inferenceRequest, layer, nestedTensor, servedAs } from '../helpers/inference.js';
import { fixtureBytes, fixtureCases, maxDiff } from '../helpers/onnx.js';

const cache = new SeededWeightsCache(4);
const env: JobEnvironment = {
  cache,
  program: () => {
    throw new Error('no program expected');
  },
};
const NESTED = { kind: 'forward', format: 'nested' } as const;
const steps = (time: number, scale: number) => Array.from({ length: time }, (_, s) => [s * scale, 1 - s * scale]);
/** The answer's text of an outcome (failing when it is a problem). */
const text = (outcome: Outcome) => {
  if (!('answer' in outcome)) throw new Error(`a problem: ${outcome.problem.detail}`);
  return answerText(outcome.answer as JsonAnswer);
};

t.test('a merged layer job: each request answered as alone', async (t) => {
  const model = explicitModel({ layers: [layer(3, { cell: 'lstm' })], bidirectional: null }, 2);
  const plans = [[steps(2, 0.5)], [steps(3, -0.25), steps(1, 2)]].map((inputs) =>
    planLayers(inferenceRequest([nestedTensor('input', inputs, 'inputs')]), LIMITS, cache, servedAs(model), null),
  );
  const job: Job = {
    kind: 'layers',
    plan: mergeLayerPlans(plans),
    members: plans.map((p) => ({
      rows: { rows: p.shape[0], time: p.shape[1] },
      carry: false,
      facts: layerFacts(p),
      encoding: NESTED,
    })),
  };
  const result = runJob(job, env);
  t.equal(result.outcomes.length, 2);
  plans.forEach((p, i) =>
    t.equal(text(result.outcomes[i]), answerText(writeForwardAnswer(runLayers(p), 'nested')), `request ${i}`),
  );
  t.ok(result.computeSeconds >= 0);
});

t.test('a seeded model without its weights: built from the cache; a chunk carries its state', async (t) => {
  const body = ForwardRequest.parse({ inputs: [steps(2, 0.5)], hiddenSize: 2, seed: 11 });
  const plan = planLayers(forwardRequest(body), LIMITS, cache, null, body);
  const task = { ...plan, model: { ...plan.model, weights: null } };
  const fresh = new SeededWeightsCache(2);
  const result = runJob(
    { kind: 'layers', plan: task, members: [{ rows: null, carry: true, facts: layerFacts(plan), encoding: NESTED }] },
    { ...env, cache: fresh },
  );
  t.equal(fresh.size, 1, 'the weights built once, in the cache');
  const [outcome] = result.outcomes;
  const expected = JSON.parse(answerText(writeForwardAnswer(runLayers(plan), 'nested')));
  t.same(JSON.parse(text(outcome)), expected);
  const carried = 'answer' in outcome ? (outcome.carried ?? []) : [];
  t.same([...carried[0]], expected.states[0].map(Math.fround), "the chunk's final state");
});

t.test('an answer JSON cannot carry fails its request alone', async (t) => {
  // Linear activation and large weights: one request's sequence overflows float32, the other's stays finite.
  const model = explicitModel({ layers: [layer(1, { activation: 'linear' })], bidirectional: null }, 1);
  const big = {
    ...model,
    weights: [[{ ...model.weights[0][0], kernel: Float32Array.of(1e30), recurrentKernel: Float32Array.of(1e10) }]],
  };
  const plans = [[[[0], [0]]], [[[1], [1]]]].map((inputs) =>
    planLayers(inferenceRequest([nestedTensor('input', inputs, 'inputs')]), LIMITS, cache, servedAs(big), null),
  );
  const result = runJob(
    {
      kind: 'layers',
      plan: mergeLayerPlans(plans),
      members: plans.map((p) => ({ rows: { rows: 1, time: 2 }, carry: false, facts: layerFacts(p), encoding: NESTED })),
    },
    env,
  );
  t.ok('answer' in result.outcomes[0], 'the finite request is answered');
  const refused = result.outcomes[1] as { problem: ReturnType<typeof problemData> };
  t.equal(refused.problem.kind, 'non-finite-result');
  t.equal(refused.problem.errors[0].path, 'outputs[0][1][0]');
});

t.test('an ONNX job, a body as bytes, a weights export', async (t) => {
  const program = loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'));
  const [first] = fixtureCases('rnn-1-tanh-bf');
  const { x } = first.inputs;
  const model = { name: 'g', version: '1', program };
  const request = inferenceRequest(
    [{ ...nestedTensor('x', []), datatype: 'FP32', shape: x.shape, values: { kind: 'flat', value: x.data } }],
    {},
    'all',
  );
  const planned = planOnnx(model, request, LIMITS);
  const onnx = runJob(
    {
      kind: 'onnx',
      source: { id: 0, bytes: new Uint8Array() },
      run: planned.runInputs(),
      encoding: { kind: 'result' },
      local: { program, plan: planned.plan },
    },
    env,
  );
  const result = (onnx.outcomes[0] as unknown as { answer: { tensors: { data: Float32Array }[] } }).answer;
  t.ok(maxDiff(result.tensors[0].data, first.outputs.y.data) < 1e-5, "torch's y");

  const bytes = new TextEncoder().encode(JSON.stringify({ inputs: [[[1], [0]]], hiddenSize: 1, seed: 3 }));
  const json = runJob({ kind: 'forward-json', bytes, limits: LIMITS }, env);
  t.same(json.shape, [1, 2, 1]);
  t.same(JSON.parse(text(json.outcomes[0])).shapes.outputs, [1, 2, 1]);

  const weights = runJob(
    { kind: 'weights', request: WeightsRequest.parse({ inputDim: 2, hiddenSize: 1, seed: 1 }), limits: LIMITS },
    env,
  );
  t.same(Object.keys(JSON.parse(text(weights.outcomes[0]))), ['model', 'keras', 'pytorch', 'onnx', 'digest']);
  const refused = runJob({ kind: 'forward-json', bytes: new TextEncoder().encode('{'), limits: LIMITS }, env);
  t.equal(
    (refused.outcomes[0] as { problem: { kind: string } }).problem.kind,
    'invalid-json',
    'a problem is the outcome',
  );
});

t.test('problems as data and back', async (t) => {
  const error = ProblemError.at('invalid-request', [{ path: 'inputs', message: 'is empty' }], 3);
  const data = problemData(error);
  t.same(data, {
    kind: 'invalid-request',
    detail: 'inputs: is empty (and 2 more, 2 of them not listed)',
    errors: [{ path: 'inputs', message: 'is empty' }],
    errorCount: 3,
  });
  const back = problemOf(structuredClone(data));
  t.ok(back instanceof ProblemError);
  t.same([back.kind, back.message, back.errorCount], [error.kind, error.message, 3]);
  const bare = problemOf(problemData(new ProblemError('overloaded', 'busy')));
  t.same([bare.kind, bare.message, bare.errors], ['overloaded', 'busy', []]);
});
