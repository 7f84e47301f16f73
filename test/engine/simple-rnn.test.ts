import t from 'tap';
import { simpleRnnForward, simpleRnnForwardReference, type SimpleRnnWeights } from '../../src/engine/index.js';
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
    t.same(Array.from(fastInit.outputs), Array.from(naiveInit.outputs), `outputs with initial state ${[batch, time, inputDim, hiddenSize]}`);
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
  t.throws(() => simpleRnnForward(flat(c.inputs), [1, 2, 4], c.weights), /inputs have 4 features; the kernel expects 3/);
  t.throws(
    () => simpleRnnForward(flat(c.inputs), c.shape, { ...c.weights, bias: new Float32Array(3) }),
    /bias has 3 elements; expected 2/,
  );
  t.throws(() => simpleRnnForward(flat(c.inputs), c.shape, c.weights, { initialState: new Float32Array(1) }), /initialState has 1 elements/);
});
