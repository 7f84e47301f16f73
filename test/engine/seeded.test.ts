/**
 * seeded.ts: the seeded-weights contract. Held to the seed of each layer and direction (s + 4k + 2d, and the next
 * for the recurrent kernel), the kernels being glorotUniform and orthogonal of those seeds (initializers.ts, held
 * to tfjs bit for bit in test/engine/initializers.test.ts), the bias zeros but for an LSTM's forget quarter, a
 * GRU's [2, 3·h] bias, and each layer reading the previous layer's output features.
 */
import t from 'tap';
import { glorotUniform, orthogonal } from '../../src/engine/initializers.js';
import { kernelSeed, seededNetworkWeights, seededWeights } from '../../src/engine/seeded.js';

const layer = (hiddenSize: number, extra = {}) => ({
  hiddenSize,
  activation: 'tanh' as const,
  useBias: true,
  goBackwards: false,
  clip: null,
  ...extra,
});

t.test('the seeds of layer k, direction d', async (t) => {
  t.equal(kernelSeed(10, 0, 0), 10);
  t.equal(kernelSeed(10, 0, 1), 12);
  t.equal(kernelSeed(10, 2, 1), 20);
  const w = seededWeights(5, 3, 2);
  t.same([...w.kernel], [...glorotUniform(5, [3, 2])]);
  t.same([...w.recurrentKernel], [...orthogonal(6, [2, 2])]);
  t.same([...w.bias], [0, 0]);
  t.same([w.inputDim, w.hiddenSize], [3, 2]);
});

t.test('gated cells: G·h columns; the LSTM forget bias; the GRU bias shape', async (t) => {
  const lstm = seededWeights(1, 2, 3, { cell: 'lstm' });
  t.equal(lstm.kernel.length, 2 * 12);
  t.same([...lstm.kernel], [...glorotUniform(1, [2, 12])], 'the whole [inputDim, 4h] matrix at once');
  t.same([...lstm.bias], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  t.same([...seededWeights(1, 2, 3, { cell: 'lstm', unitForgetBias: false }).bias], new Array(12).fill(0));
  t.same([...seededWeights(1, 2, 3, { cell: 'lstm', useBias: false }).bias], new Array(12).fill(0), 'no bias');
  t.equal(seededWeights(1, 2, 3, { cell: 'gru' }).bias.length, 18, 'resetAfter: [2, 3h]');
  t.equal(seededWeights(1, 2, 3, { cell: 'gru', resetAfter: false }).bias.length, 9);
});

t.test('a network: each layer and direction from its own seed, over the previous outputs', async (t) => {
  const spec = { layers: [layer(3), layer(2, { cell: 'gru' })], bidirectional: { mergeMode: 'concat' as const } };
  const weights = seededNetworkWeights(7, spec, 4);
  t.same(
    weights.map((l) => l.map((c) => [c.inputDim, c.hiddenSize])),
    [
      [
        [4, 3],
        [4, 3],
      ],
      [
        [6, 2],
        [6, 2],
      ],
    ],
    "layer 1 reads layer 0's concatenated directions",
  );
  t.same([...weights[1][1].kernel], [...seededWeights(7 + 4 + 2, 6, 2, { cell: 'gru' }).kernel]);
  t.same([...weights[0][1].recurrentKernel], [...orthogonal(7 + 2 + 1, [3, 3])]);
  const single = seededNetworkWeights(3, { layers: [layer(2)], bidirectional: null }, 1);
  t.same([...single[0][0].kernel], [...glorotUniform(3, [1, 2])], 'the single layer is glorotUniform(s)');
});
