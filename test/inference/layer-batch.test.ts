/**
 * layer-batch.ts merges the plans of several requests to one served model into one pass and splits the result back.
 * Held to: the batch key (null for a described model; equal for equal options, different otherwise; a backwards
 * layer keys on the length), the merged inputs, mask and initial states laid out row after row, and each split
 * answer equal, bit for bit, to the one its request gets alone.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { batchKey, mergeLayerPlans, splitLayerResult } from '../../src/inference/layer-batch.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import { layerFacts, runLayers } from '../../src/inference/layer-run.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { forwardRequest } from '../../src/protocols/forward-request.js';
import { LIMITS, explicitModel, inferenceRequest, layer, nestedTensor, servedAs } from '../helpers/inference.js';

const cache = new SeededWeightsCache(2);
const lstm = explicitModel({ layers: [layer(3, { cell: 'lstm' }), layer(2)], bidirectional: null }, 2);
const steps = (time: number, from: number) =>
  Array.from({ length: time }, (_, s) => [((from + s) % 4) / 2 - 0.75, ((from * 3 + s) % 5) / 5]);
const plan = (model: typeof lstm, inputs: unknown[], options = {}, more: ReturnType<typeof nestedTensor>[] = []) =>
  planLayers(
    inferenceRequest([nestedTensor('input', inputs, 'inputs'), ...more], options),
    LIMITS,
    cache,
    servedAs(model),
    null,
  );

t.test('the batch key: same model and options merge; a described model never does', async (t) => {
  const a = plan(lstm, [steps(2, 0)]);
  const b = plan(lstm, [steps(5, 1), steps(1, 2)]);
  t.type(batchKey(a), 'string');
  t.equal(batchKey(a), batchKey(b), 'lengths and batch sizes do not matter');
  t.not(batchKey(a), batchKey(plan(lstm, [steps(2, 0)], { returnSequences: false })));
  t.not(batchKey(a), batchKey(plan(lstm, [steps(2, 0)], { zeroOutputForMask: true })));
  t.not(batchKey(a), batchKey(plan(lstm, [steps(2, 0)], { returnState: false })));
  const other = explicitModel(lstm.spec, 2);
  t.not(batchKey(a), batchKey(plan(other, [steps(2, 0)])), 'another model object');
  const body = ForwardRequest.parse({ inputs: [steps(2, 0)], hiddenSize: 2 });
  t.equal(batchKey(planLayers(forwardRequest(body), LIMITS, cache, null, body)), null, 'a described model');
  const both = explicitModel({ layers: [layer(2)], bidirectional: { mergeMode: null } }, 2);
  t.equal(batchKey(plan(both, [steps(2, 0)])), null, 'mergeMode null puts the directions before the batch');
  const backwards = explicitModel({ layers: [layer(2, { goBackwards: true })], bidirectional: null }, 2);
  t.not(batchKey(plan(backwards, [steps(2, 0)])), batchKey(plan(backwards, [steps(3, 0)])), 'backwards: by length');
  t.equal(batchKey(plan(backwards, [steps(3, 1)])), batchKey(plan(backwards, [steps(3, 0)])));
});

t.test('merged: rows one after the other, padded to the longest, masked; costs added', async (t) => {
  const a = plan(lstm, [steps(2, 0)]);
  const b = plan(lstm, [steps(3, 1), steps(1, 2)]);
  const merged = mergeLayerPlans([a, b]);
  t.same(merged.shape, [3, 3, 2]);
  t.same([...(merged.mask ?? [])], [1, 1, 0, 1, 1, 1, 1, 0, 0]);
  t.same([...merged.inputs.subarray(0, 4)], [...a.inputs], "a's row first");
  t.same([...merged.inputs.subarray(4, 6)], [0, 0], 'then its padding');
  t.same([...merged.inputs.subarray(6)], [...b.inputs], "then b's rows (b was padded and masked already)");
  t.equal(merged.cost, a.cost + b.cost);
  t.same(merged.values, { input: a.values.input + b.values.input, output: a.values.output + b.values.output });
  t.equal(merged.initialStates, null);
  const same = mergeLayerPlans([plan(lstm, [steps(2, 0)]), plan(lstm, [steps(2, 3)])]);
  t.equal(same.mask, null, 'no mask when every step is valid');
});

t.test('initial states: zeros for the members that gave none', async (t) => {
  const h = [
    [1, 2, 3],
    [4, 5],
  ];
  const a = plan(lstm, [steps(1, 0)], {}, [nestedTensor('initial_state', [[h[0]], [h[1]]], 'initialState')]);
  const b = plan(lstm, [steps(1, 1)]);
  const merged = mergeLayerPlans([b, a]);
  t.same(
    merged.initialStates?.map((s) => [...s]),
    [
      [0, 0, 0, 1, 2, 3],
      [0, 0, 4, 5],
    ],
  );
  t.equal(merged.initialCellStates, null);
  const c = plan(lstm, [steps(1, 0)], {}, [nestedTensor('initial_cell_state', [[7, 8, 9]], 'initialCellState')]);
  const cells = mergeLayerPlans([c, b]).initialCellStates;
  t.same(
    cells?.map((s) => (s === null ? null : [...s])),
    [[7, 8, 9, 0, 0, 0], null],
    'only the LSTM layer has a cell state',
  );
});

t.test('split: each answer is the one its request gets alone, bit for bit', async (t) => {
  for (const options of [{}, { returnSequences: false }, { stateLayout: 'pytorch' as const }]) {
    const even = explicitModel(
      { layers: [layer(3, { cell: 'lstm' }), layer(3, { cell: 'gru' })], bidirectional: null },
      2,
    );
    const plans = [plan(even, [steps(2, 0)], options), plan(even, [steps(4, 1), steps(3, 2)], options)];
    const merged = mergeLayerPlans(plans);
    const split = splitLayerResult(
      runLayers(merged),
      plans.map((p) => ({ rows: p.shape[0], time: p.shape[1] })),
      plans.map(layerFacts),
    );
    plans.forEach((p, i) => {
      const alone = runLayers(p);
      t.same(
        split[i].tensors.map((tensor) => [tensor.name, tensor.shape, [...tensor.data]]),
        alone.tensors.map((tensor) => [tensor.name, tensor.shape, [...tensor.data]]),
        `${JSON.stringify(options)}: member ${i}`,
      );
      t.same(split[i].facts, alone.facts);
    });
  }
});
