/**
 * layer-run.ts runs a layer plan: Embedding and Masking in front, the recurrent layers, the Dense head, then the
 * planned outputs as named tensors. Held to the naive references (engine/reference.ts): a single SimpleRNN layer's
 * output and state, a Dense head on every step, an Embedding's lookup with id 0 masked; the PyTorch layout's h_n and
 * c_n stacked [layers·directions, batch, h]; a sequence's carried rows; and the facts beside the tensors.
 */
import t from 'tap';
import { embeddingLookup } from '../../src/engine/index.js';
import { denseReference, simpleRnnForwardReference } from '../../src/engine/reference.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import {
  carriedState,
  computeForward,
  concatenated,
  layerFacts,
  modelSummaryText,
  resultTensors,
  runLayers,
} from '../../src/inference/layer-run.js';
import { modelSummary } from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import {
  LIMITS,
  explicitModel,
  inferenceRequest,
  layer,
  maxDifference,
  nestedTensor,
  servedAs,
  softmaxHead,
} from '../helpers/inference.js';

const cache = new SeededWeightsCache(2);
/** [batch, time, features] of distinct small values. */
const sequence = (batch: number, time: number, f: number) =>
  Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, s) => Array.from({ length: f }, (_, i) => ((b * 7 + s * 3 + i) % 5) / 4 - 0.5)),
  );
const planOf = (model: ReturnType<typeof explicitModel>, inputs: unknown[], options = {}) =>
  planLayers(
    inferenceRequest([nestedTensor('input', inputs, 'inputs')], options),
    LIMITS,
    cache,
    servedAs(model),
    null,
  );

t.test('a SimpleRNN layer: output and state equal to the naive reference', async (t) => {
  const model = explicitModel({ layers: [layer(3)], bidirectional: null }, 2);
  const inputs = sequence(2, 4, 2);
  const plan = planOf(model, inputs);
  const ref = simpleRnnForwardReference(Float32Array.from(inputs.flat(2)), [2, 4, 2], model.weights[0][0]);
  const result = runLayers(plan);
  t.same(
    result.tensors.map((tensor) => [tensor.name, tensor.role, tensor.shape]),
    [
      ['output', 'output', [2, 4, 3]],
      ['state', 'state', [2, 3]],
    ],
  );
  t.same([...result.tensors[0].data], [...ref.outputs]);
  t.same([...result.tensors[1].data], [...ref.states]);
  t.same(result.facts.inputShape, [2, 4, 2]);
  t.same(result.facts.model, { name: 'm', version: '1' });
  t.equal(result.facts.graph, null);
});

t.test('a Dense head acts on every step; the last step alone when returnSequences is false', async (t) => {
  const head = softmaxHead(3, 4);
  const model = explicitModel({ layers: [layer(3)], bidirectional: null }, 2, { head: [head] });
  const inputs = sequence(1, 3, 2);
  const ref = simpleRnnForwardReference(Float32Array.from(inputs.flat(2)), [1, 3, 2], model.weights[0][0]);
  const all = computeForward(planOf(model, inputs));
  t.same(all.outputShape, [1, 3, 4]);
  // The fast softmax and the naive one may differ in the last bit.
  t.ok(maxDifference(all.outputs, denseReference(ref.outputs, 3, head)) < 1e-7);
  const last = computeForward(planOf(model, inputs, { returnSequences: false }));
  t.same(last.outputShape, [1, 4]);
  t.ok(maxDifference(last.outputs, denseReference(ref.states, 1, head)) < 1e-7);
  const sums = [0, 1, 2].map((s) => all.outputs.subarray(s * 4, s * 4 + 4).reduce((a, b) => a + b, 0));
  for (const sum of sums) t.ok(Math.abs(sum - 1) < 1e-6, `softmax rows sum to 1 (${sum})`);
});

t.test('an Embedding: ids looked up, and with maskZero, id 0 masks its step', async (t) => {
  const embeddings = Float32Array.from({ length: 4 * 2 }, (_, i) => (i - 3) / 4);
  const embedding = { inputDim: 4, outputDim: 2, embeddings, maskZero: true };
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 2, { inputDim: 1, embedding });
  const result = computeForward(planOf(model, [[[2], [0], [3]]]));
  const looked = embeddingLookup(Float32Array.of(2, 0, 3), embedding);
  const ref = simpleRnnForwardReference(looked, [1, 3, 2], model.weights[0][0], { mask: Uint8Array.of(1, 0, 1) });
  t.same([...result.outputs], [...ref.outputs]);
  t.same([...result.states[0]], [...ref.states]);
  t.same([...result.outputs.subarray(2, 4)], [...result.outputs.subarray(0, 2)], 'the masked step repeats the state');
});

t.test('the PyTorch layout stacks h_n and c_n; keras lists each state', async (t) => {
  const model = explicitModel({ layers: [layer(2, { cell: 'lstm' }), layer(3)], bidirectional: null }, 2);
  const inputs = sequence(2, 2, 2);
  const keras = runLayers(planOf(model, inputs));
  t.same(
    keras.tensors.map((tensor) => [tensor.name, tensor.shape]),
    [
      ['output', [2, 2, 3]],
      ['state_0', [2, 2]],
      ['state_1', [2, 3]],
      ['cell_state_0', [2, 2]],
    ],
  );
  // Two layers of different sizes cannot stack into one h_n: planned with equal sizes instead.
  const even = explicitModel(
    { layers: [layer(2, { cell: 'lstm' }), layer(2, { cell: 'lstm' })], bidirectional: null },
    2,
  );
  const plan = planOf(even, inputs, { stateLayout: 'pytorch' });
  const network = computeForward(plan);
  const torch = resultTensors(plan, network);
  t.same(
    torch.map((tensor) => [tensor.name, tensor.role, tensor.shape]),
    [
      ['output', 'output', [2, 2, 2]],
      ['h_n', 'state', [2, 2, 2]],
      ['c_n', 'cell-state', [2, 2, 2]],
    ],
  );
  t.same([...torch[1].data], [...network.states[0], ...network.states[1]]);
  t.same([...torch[2].data], [...(network.cellStates[0] ?? []), ...(network.cellStates[1] ?? [])]);
});

t.test('carriedState: row r of each state, then of each LSTM cell state', async (t) => {
  const model = explicitModel({ layers: [layer(2, { cell: 'lstm' }), layer(3)], bidirectional: null }, 2);
  const plan = planOf(model, sequence(2, 2, 2));
  const network = computeForward(plan);
  const carried = carriedState(plan, network, 1);
  t.same(
    carried.map((c) => [...c]),
    [
      [...network.states[0].subarray(2, 4)],
      [...network.states[1].subarray(3, 6)],
      [...(network.cellStates[0] ?? new Float32Array(4)).subarray(2, 4)],
    ],
  );
  t.not(carried[0].buffer, network.states[0].buffer, 'copies, not views');
});

t.test('concatenated, the facts and the summary text', async (t) => {
  t.same([...concatenated([Float32Array.of(1, 2), Float32Array.of(), Float32Array.of(3)])], [1, 2, 3]);
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 2);
  const plan = planOf(model, sequence(1, 1, 2));
  const summary = modelSummaryText(model);
  t.ok(summary instanceof Uint8Array, 'an ASCII summary is held as bytes');
  t.same(JSON.parse(Buffer.from(summary as Uint8Array).toString()), modelSummary(model));
  t.equal(modelSummaryText(model), summary, 'made once per model');
  t.same(layerFacts(plan), {
    model: { name: 'm', version: '1' },
    inputShape: [1, 1, 2],
    vocabulary: null,
    labels: null,
    summary,
    graph: null,
  });
});
