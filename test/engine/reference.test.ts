/**
 * reference.ts: the naive SimpleRNN and Dense the fast paths are held to. Held here to hand-worked values:
 * h_t = act(clip(b + x·W + h·U)) over two units, masks (carry or zeros), going backwards, an initial state, and a
 * Dense layer's products, activations and softmax rows.
 */
import t from 'tap';
import { denseReference, simpleRnnForwardReference } from '../../src/engine/reference.js';
import { near } from '../helpers/cells.js';

const f32 = (values: ArrayLike<number>) => Float32Array.from(values);
// Two features, two units: W = [[1, 0], [0, 2]], U = [[0.5, 0], [0, 0.5]], b = [0, 0.1].
const weights = {
  inputDim: 2,
  hiddenSize: 2,
  kernel: f32([1, 0, 0, 2]),
  recurrentKernel: f32([0.5, 0, 0, 0.5]),
  bias: f32([0, 0.1]),
};
const inputs = f32([1, 0, 0, 1, -1, -1]); // one sequence, three steps
const step = (x: number[], h: number[]) => [Math.tanh(x[0] + 0.5 * h[0]), Math.tanh(2 * x[1] + 0.5 * h[1] + 0.1)];

t.test('SimpleRNN by hand', async (t) => {
  const h1 = step([1, 0], [0, 0]);
  const h2 = step([0, 1], h1);
  const h3 = step([-1, -1], h2);
  const run = simpleRnnForwardReference(inputs, [1, 3, 2], weights);
  t.ok(near(run.outputs, [...h1, ...h2, ...h3]), `${[...run.outputs]}`);
  t.ok(near(run.states, h3));
  const relu = simpleRnnForwardReference(inputs, [1, 3, 2], weights, { activation: 'relu' });
  t.ok(near(relu.outputs.subarray(0, 2), [1, 0.1]));
  const clipped = simpleRnnForwardReference(inputs, [1, 3, 2], weights, { activation: 'linear', clip: 0.5 });
  t.ok(near(clipped.outputs.subarray(0, 2), [0.5, 0.1]), 'the pre-activation clamped to ±0.5');
});

t.test('masks, going backwards, an initial state', async (t) => {
  const h1 = step([1, 0], [0, 0]);
  const h3 = step([-1, -1], h1);
  const masked = simpleRnnForwardReference(inputs, [1, 3, 2], weights, { mask: Uint8Array.of(1, 0, 1) });
  t.ok(near(masked.outputs, [...h1, ...h1, ...h3]), 'the masked step repeats the state and is skipped');
  const zeroed = simpleRnnForwardReference(inputs, [1, 3, 2], weights, {
    mask: Uint8Array.of(1, 0, 1),
    zeroOutputForMask: true,
  });
  t.same([...zeroed.outputs.subarray(2, 4)], [0, 0]);
  const g1 = step([-1, -1], [0, 0]);
  const g2 = step([0, 1], g1);
  const backwards = simpleRnnForwardReference(inputs, [1, 3, 2], weights, { goBackwards: true });
  t.ok(near(backwards.outputs.subarray(0, 4), [...g1, ...g2]), 'the last step first, in processing order');
  const initial = simpleRnnForwardReference(f32([1, 0]), [1, 1, 2], weights, { initialState: f32([2, -2]) });
  t.ok(near(initial.outputs, step([1, 0], [2, -2])));
  t.throws(() => simpleRnnForwardReference(f32([1]), [1, 1, 2], weights));
});

t.test('Dense: products, activations, softmax rows', async (t) => {
  const layer = {
    inputDim: 2,
    units: 3,
    kernel: f32([1, 0, -1, 0, 1, 1]),
    bias: f32([0, 0, 0.5]),
    activation: 'linear' as const,
  };
  t.same([...denseReference(f32([2, 3, -1, 1]), 2, layer)], [2, 3, 1.5, -1, 1, 2.5]);
  t.same([...denseReference(f32([2, 3]), 1, { ...layer, activation: 'relu' })], [2, 3, 1.5]);
  const soft = denseReference(f32([0, Math.log(2)]), 1, {
    inputDim: 2,
    units: 2,
    kernel: f32([1, 0, 0, 1]),
    bias: null,
    activation: 'softmax',
  });
  t.ok(near(soft, [1 / 3, 2 / 3]));
  const activation = denseReference(f32([-1, 2]), 1, {
    inputDim: 2,
    units: 2,
    kernel: null,
    bias: null,
    activation: 'relu',
  });
  t.same([...activation], [0, 2], 'an Activation layer: no kernel, no bias');
});
