/**
 * Dense, softmax and Embedding: the optimised kernels equal their naive references, and both equal tfjs.
 */
import t from 'tap';
import { type DenseWeights, denseForward, embeddingLookup, softmaxRows } from '../../src/engine/dense.js';
import { denseReference } from '../../src/engine/reference.js';
import { randomNested, rng } from '../helpers/random.js';
import { maxAbsDiff, tf } from '../helpers/tfjs.js';

const flat = (v: unknown) => new Float32Array((v as number[]).flat(Infinity) as number[]);

t.test('denseForward equals denseReference and tfjs dense, for every activation kind', async (t) => {
  const random = rng(11);
  for (const activation of ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const) {
    for (const useBias of [true, false]) {
      const [rows, inputDim, units] = [7, 5, 3];
      const x = randomNested(random, [rows, inputDim], 2) as number[][];
      const kernel = randomNested(random, [inputDim, units], 1) as number[][];
      const bias = randomNested(random, [units], 1) as number[];
      const layer: DenseWeights = {
        inputDim,
        units,
        kernel: flat(kernel),
        bias: useBias ? flat(bias) : null,
        activation,
      };
      const fast = denseForward(flat(x), rows, layer);
      const naive = denseReference(flat(x), rows, layer);
      t.ok(maxAbsDiff(Array.from(fast), Array.from(naive)) < 1e-6, `${activation} bias=${useBias}: fast = reference`);
      const expected = tf.tidy(() => {
        const dense = tf.layers.dense({ units, activation, useBias, inputShape: [inputDim] });
        dense.apply(tf.zeros([1, inputDim]));
        dense.setWeights([tf.tensor2d(kernel), ...(useBias ? [tf.tensor1d(bias)] : [])]);
        return (dense.apply(tf.tensor2d(x)) as tf.Tensor).arraySync() as number[][];
      });
      t.ok(maxAbsDiff(Array.from(fast), expected.flat()) < 1e-6, `${activation} bias=${useBias}: = tfjs`);
    }
  }
});

t.test('softmax rows sum to 1, are stable for large values, and keep the order', async (t) => {
  const x = softmaxRows(new Float32Array([1000, 1001, 1002, -5, 0, 5]), 2, 3);
  t.ok(Array.from(x).every(Number.isFinite), 'no overflow');
  t.ok(Math.abs(x[0] + x[1] + x[2] - 1) < 1e-6);
  t.ok(x[0] < x[1] && x[1] < x[2]);
  t.ok(
    maxAbsDiff(
      Array.from(x.subarray(0, 3)),
      Array.from(x.subarray(3, 6))
        .map(() => 0)
        .map((_, j) => [0.09003057, 0.24472848, 0.66524094][j]),
    ) < 1e-6,
    'the textbook values',
  );
});

t.test('embeddingLookup gathers table rows and names a bad id', async (t) => {
  const layer = { inputDim: 3, outputDim: 2, embeddings: new Float32Array([0, 0, 1, 2, 3, 4]), maskZero: true };
  t.same(Array.from(embeddingLookup(new Float32Array([2, 1, 0]), layer)), [3, 4, 1, 2, 0, 0]);
  t.throws(() => embeddingLookup(new Float32Array([1, 3]), layer), /id 3 at position 1 is not an integer in \[0, 3\)/);
  t.throws(() => embeddingLookup(new Float32Array([0.5]), layer), /id 0.5/);
});

t.test('an Activation layer (Dense without a kernel) equals its reference and tfjs activation', async (t) => {
  const random = rng(12);
  const [rows, units] = [4, 5];
  const x = randomNested(random, [rows, units], 3) as number[][];
  for (const activation of ['relu', 'sigmoid', 'softmax', 'linear'] as const) {
    const layer: DenseWeights = { inputDim: units, units, kernel: null, bias: null, activation };
    const fast = denseForward(flat(x), rows, layer);
    const naive = denseReference(flat(x), rows, layer);
    t.ok(maxAbsDiff(Array.from(fast), Array.from(naive)) < 1e-6, `${activation}: fast = reference`);
    const expected = tf.tidy(
      () => (tf.layers.activation({ activation }).apply(tf.tensor2d(x)) as tf.Tensor).arraySync() as number[][],
    );
    t.ok(maxAbsDiff(Array.from(fast), expected.flat()) < 1e-6, `${activation}: = tfjs`);
  }
  t.throws(
    () => denseForward(flat(x), rows, { inputDim: units, units: 2, kernel: null, bias: null, activation: 'relu' }),
    {
      message: 'an Activation layer keeps its inputDim and has no bias',
    },
  );
});
