import t from 'tap';
import { packStackedPanels, simpleRnnForward, type SimpleRnnWeights } from '../../src/engine/index.js';
import { simpleRnnForwardReference } from '../../src/engine/reference.js';
import { maxAbsDiff, tfjsSimpleRnn } from '../helpers/tfjs.js';
import { flat, nest, randomNested, rng } from '../helpers/random.js';

function randomCase(seed: number, batch: number, time: number, inputDim: number, hiddenSize: number) {
  const random = rng(seed);
  const inputs = randomNested(random, [batch, time, inputDim], 2);
  const kernel = randomNested(random, [inputDim, hiddenSize], 0.8);
  const recurrentKernel = randomNested(random, [hiddenSize, hiddenSize], 0.8);
  const bias = randomNested(random, [hiddenSize], 0.3);
  const weights: SimpleRnnWeights = {
    inputDim,
    hiddenSize,
    kernel: flat(kernel),
    recurrentKernel: flat(recurrentKernel),
    bias: flat(bias),
  };
  return { inputs, nested: { kernel, recurrentKernel, bias }, weights, shape: [batch, time, inputDim] as const };
}

const SHAPES: [batch: number, time: number, inputDim: number, hiddenSize: number][] = [
  [1, 1, 1, 1],
  [1, 5, 4, 2],
  [3, 5, 4, 2],
  [2, 7, 3, 1],
  [4, 200, 6, 8],
  [5, 13, 17, 33],
  [2, 3, 64, 96],
];

t.test('the fast path equals the naive reference bit for bit', async (t) => {
  let seed = 1;
  for (const [batch, time, inputDim, hiddenSize] of SHAPES) {
    const c = randomCase(seed++, batch, time, inputDim, hiddenSize);
    const x = flat(c.inputs);
    const fast = simpleRnnForward(x, c.shape, c.weights);
    const naive = simpleRnnForwardReference(x, c.shape, c.weights);
    t.same(Array.from(fast.outputs), Array.from(naive.outputs), `outputs ${[batch, time, inputDim, hiddenSize]}`);
    t.same(Array.from(fast.states), Array.from(naive.states), `states ${[batch, time, inputDim, hiddenSize]}`);
    const initial = flat(randomNested(rng(seed++), [batch, hiddenSize]));
    const fastInit = simpleRnnForward(x, c.shape, c.weights, { initialState: initial });
    const naiveInit = simpleRnnForwardReference(x, c.shape, c.weights, { initialState: initial });
    t.same(
      Array.from(fastInit.outputs),
      Array.from(naiveInit.outputs),
      `outputs with initial state ${[batch, time, inputDim, hiddenSize]}`,
    );
  }
});

t.test('agrees with tfjs tf.layers.simpleRNN within 1e-5', async (t) => {
  let seed = 100;
  for (const [batch, time, inputDim, hiddenSize] of SHAPES) {
    const c = randomCase(seed++, batch, time, inputDim, hiddenSize);
    const ours = simpleRnnForward(flat(c.inputs), c.shape, c.weights);
    const ref = tfjsSimpleRnn(c.inputs, c.nested);
    const dOut = maxAbsDiff(nest(ours.outputs, [batch, time, hiddenSize]), ref.outputs);
    const dState = maxAbsDiff(nest(ours.states, [batch, hiddenSize]), ref.states);
    t.ok(dOut <= 1e-5, `outputs ${[batch, time, inputDim, hiddenSize]}: max |diff| ${dOut}`);
    t.ok(dState <= 1e-5, `states ${[batch, time, inputDim, hiddenSize]}: max |diff| ${dState}`);
  }
});

t.test('an initial state agrees with tfjs', async (t) => {
  const c = randomCase(7, 3, 9, 5, 4);
  const initial = randomNested(rng(8), [3, 4]);
  const ours = simpleRnnForward(flat(c.inputs), c.shape, c.weights, { initialState: flat(initial) });
  const ref = tfjsSimpleRnn(c.inputs, c.nested, initial);
  t.ok(maxAbsDiff(nest(ours.outputs, [3, 9, 4]), ref.outputs) <= 1e-5);
  t.ok(maxAbsDiff(nest(ours.states, [3, 4]), ref.states) <= 1e-5);
});

t.test('every stored value is a float32 and the final state is the last output', async (t) => {
  const c = randomCase(9, 2, 6, 3, 5);
  const { outputs, states } = simpleRnnForward(flat(c.inputs), c.shape, c.weights);
  t.ok(outputs instanceof Float32Array && states instanceof Float32Array);
  t.same(Array.from(states.subarray(0, 5)), Array.from(outputs.subarray(5 * 5, 6 * 5)));
  t.same(Array.from(states.subarray(5, 10)), Array.from(outputs.subarray(11 * 5, 12 * 5)));
});

t.test('rejects arrays that do not match their shapes', async (t) => {
  const c = randomCase(3, 1, 2, 3, 2);
  t.throws(() => simpleRnnForward(new Float32Array(5), c.shape, c.weights), /inputs has 5 elements; expected 6/);
  t.throws(
    () => simpleRnnForward(flat(c.inputs), [1, 2, 4], c.weights),
    /inputs have 4 features; the kernel expects 3/,
  );
  t.throws(
    () => simpleRnnForward(flat(c.inputs), c.shape, { ...c.weights, bias: new Float32Array(3) }),
    /bias has 3 elements; expected 2/,
  );
  t.throws(
    () => simpleRnnForward(flat(c.inputs), c.shape, c.weights, { initialState: new Float32Array(1) }),
    /initialState has 1 elements/,
  );
});

t.test('packStackedPanels: [W; U] in the layout the kernel reads, cached per weights', async (t) => {
  // inputDim 2, hiddenSize 6: depth 8; one panel of 4 columns, then 2 columns left over.
  const kernel = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
  const recurrentKernel = Float32Array.from({ length: 36 }, (_, i) => -i - 0.25);
  const stacked = (k: number, j: number) => (k < 2 ? kernel[k * 6 + j] : recurrentKernel[(k - 2) * 6 + j]);
  const packed = packStackedPanels(kernel, recurrentKernel, 2, 6);
  const expected = [];
  for (let k = 0; k < 8; k++) for (let j = 0; j < 4; j++) expected.push(stacked(k, j));
  for (let j = 4; j < 6; j++) for (let k = 0; k < 8; k++) expected.push(stacked(k, j));
  t.same(Array.from(packed), expected);
  t.equal(packStackedPanels(kernel, recurrentKernel, 2, 6), packed, 'the second call returns the cached panels');
  const otherRecurrent = recurrentKernel.slice();
  otherRecurrent[0] = 7;
  const other = packStackedPanels(kernel, otherRecurrent, 2, 6);
  t.not(other, packed, 'the same kernel with another recurrent kernel is packed again');
  t.equal(other[8], 7, 'from the new recurrent kernel');
  const reshaped = packStackedPanels(kernel, recurrentKernel.subarray(0, 9), 4, 3);
  t.same(
    Array.from(reshaped.subarray(0, 4)),
    [kernel[0], kernel[3], kernel[6], kernel[9]],
    'and read as another shape, again',
  );
});

t.test(
  "calls of different shapes in any order, reusing weights and the kernels' heap, stay equal to the reference",
  async (t) => {
    // The kernels' heap (weights, accumulators, packed rows) is reused from call to call without being zeroed,
    // and the packed weights are cached: a large masked call, then small ones, then large again must not see each
    // other's leftovers.
    const big = randomCase(101, 7, 30, 9, 10);
    const small = randomCase(102, 2, 3, 9, 10);
    const bigX = flat(big.inputs);
    const smallX = flat(small.inputs);
    const random = rng(103);
    const bigMask = Uint8Array.from({ length: 7 * 30 }, () => (random() < 0.3 ? 0 : 1));
    let mismatches = 0;
    for (let i = 0; i < 6; i++) {
      const [x, c, mask] = i % 3 === 2 ? [smallX, small, null] : [bigX, big, i % 2 === 0 ? bigMask : null];
      // The small case uses the big case's weights too: one set of cached panels, two row counts.
      for (const weights of [c.weights, big.weights]) {
        const fast = simpleRnnForward(x, c.shape, weights, { mask, goBackwards: i === 4 });
        const naive = simpleRnnForwardReference(x, c.shape, weights, { mask, goBackwards: i === 4 });
        if (!fast.outputs.every((v, k) => Object.is(v, naive.outputs[k]))) mismatches++;
        if (!fast.states.every((v, k) => Object.is(v, naive.states[k]))) mismatches++;
      }
    }
    t.equal(mismatches, 0);
  },
);
