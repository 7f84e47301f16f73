/**
 * Stacks wrapped layer by layer (NetworkSpec.layerBidirectional): giving every layer the network's wrapping
 * changes nothing, bit for bit; and a mixed stack is exactly its layers run one at a time, each layer's merged
 * sequence feeding the next, the states in order layer by layer, forward before backward.
 */
import t from 'tap';
import {
  type Bidirectional,
  type LayerSpec,
  MERGE_MODES,
  type NetworkSpec,
  type NetworkWeights,
  computeCost,
  outputFeatures,
  runNetwork,
  seededWeights,
  stateLayers,
} from '../../src/engine/index.js';
import { randomNested, flat, rng } from '../helpers/random.js';

const [BATCH, TIME, FEATURES] = [3, 6, 4];
const layer = (hiddenSize: number): LayerSpec => ({
  hiddenSize,
  activation: 'tanh',
  useBias: true,
  goBackwards: false,
  clip: null,
});

/** Weights for `spec` from seeds (any fixed weights do): one cell per layer and direction. */
function weightsFor(spec: NetworkSpec, wrappings: (Bidirectional | null)[]): NetworkWeights {
  let inputDim = FEATURES;
  return spec.layers.map((l, k) => {
    const cells = Array.from({ length: wrappings[k] === null ? 1 : 2 }, (_, d) =>
      seededWeights(10 * k + d + 1, inputDim, l.hiddenSize),
    );
    inputDim = outputFeatures(spec, k);
    return cells;
  });
}

const random = rng(5);
const inputs = flat(randomNested(random, [BATCH, TIME, FEATURES], 1));
const mask = Uint8Array.from({ length: BATCH * TIME }, (_, i) => (i % TIME < TIME - (i % 3) ? 1 : 0));

t.test('every layer wrapped as the network says: the same answers, bit for bit', async (t) => {
  for (const mergeMode of [...MERGE_MODES, null]) {
    for (const returnSequences of [true, false]) {
      const layers = mergeMode === null ? [layer(3)] : [layer(3), layer(2), layer(4)];
      const uniform: NetworkSpec = { layers, bidirectional: { mergeMode } };
      const perLayer: NetworkSpec = {
        ...uniform,
        bidirectional: null,
        layerBidirectional: layers.map(() => ({ mergeMode })),
      };
      const weights = weightsFor(
        uniform,
        layers.map(() => ({ mergeMode })),
      );
      const initialStates = stateLayers(uniform).map((k) => flat(randomNested(random, [BATCH, layers[k].hiddenSize])));
      const options = { mask, returnSequences, initialStates };
      const a = runNetwork(inputs, [BATCH, TIME, FEATURES], uniform, weights, options);
      const b = runNetwork(inputs, [BATCH, TIME, FEATURES], perLayer, weights, options);
      const what = `${mergeMode} returnSequences ${returnSequences}`;
      t.same(b.outputShape, a.outputShape, `${what}: shape`);
      t.same(Array.from(b.outputs), Array.from(a.outputs), `${what}: outputs`);
      t.same(
        b.states.map((s) => Array.from(s)),
        a.states.map((s) => Array.from(s)),
        `${what}: states`,
      );
      t.equal(computeCost(perLayer, [BATCH, TIME, FEATURES]), computeCost(uniform, [BATCH, TIME, FEATURES]));
    }
  }
});

t.test('a mixed stack is its layers run one at a time', async (t) => {
  const wrappings: (Bidirectional | null)[] = [
    null,
    { mergeMode: 'concat' },
    { mergeMode: 'sum' },
    null,
    { mergeMode: 'mul' },
  ];
  const layers = [layer(3), layer(2), layer(4), layer(3), layer(2)];
  const spec: NetworkSpec = { layers, bidirectional: null, layerBidirectional: wrappings };
  const weights = weightsFor(spec, wrappings);
  t.same(stateLayers(spec), [0, 1, 1, 2, 2, 3, 4, 4], 'the layer of each state');
  const initialStates = stateLayers(spec).map((k) => flat(randomNested(random, [BATCH, layers[k].hiddenSize])));
  for (const returnSequences of [true, false]) {
    const whole = runNetwork(inputs, [BATCH, TIME, FEATURES], spec, weights, { mask, returnSequences, initialStates });
    let x = inputs;
    let features = FEATURES;
    let first = 0;
    const states: Float32Array[] = [];
    let last = whole;
    layers.forEach((l, k) => {
      const one: NetworkSpec = { layers: [l], bidirectional: wrappings[k] };
      const count = wrappings[k] === null ? 1 : 2;
      last = runNetwork(x, [BATCH, TIME, features], one, [weights[k]], {
        mask,
        returnSequences: k < layers.length - 1 || returnSequences,
        initialStates: initialStates.slice(first, first + count),
      });
      first += count;
      states.push(...last.states);
      x = last.outputs;
      features = outputFeatures(spec, k);
    });
    t.same(whole.outputShape, last.outputShape, `returnSequences ${returnSequences}: shape`);
    t.same(Array.from(whole.outputs), Array.from(last.outputs), `returnSequences ${returnSequences}: outputs`);
    t.same(
      whole.states.map((s) => Array.from(s)),
      states.map((s) => Array.from(s)),
      'states in order',
    );
  }
  const cost = computeCost(spec, [BATCH, TIME, FEATURES]);
  // Σ directions · batch · time · (in + h) · h, the inputs 4, 3, 4 (concat of 2), 4, 3.
  const expected = [1 * (4 + 3) * 3, 2 * (3 + 2) * 2, 2 * (4 + 4) * 4, 1 * (4 + 3) * 3, 2 * (3 + 2) * 2];
  t.equal(cost, BATCH * TIME * expected.reduce((a, b) => a + b, 0), 'the cost counts each layer its directions');
});

t.test('mergeMode null before the last layer is refused', async (t) => {
  const spec: NetworkSpec = {
    layers: [layer(2), layer(2)],
    bidirectional: null,
    layerBidirectional: [{ mergeMode: null }, null],
  };
  t.throws(() => runNetwork(inputs, [BATCH, TIME, FEATURES], spec, weightsFor(spec, [{ mergeMode: null }, null])), {
    message: 'mergeMode null is only possible on the last layer',
  });
});
