/**
 * runNetwork with LSTM and GRU layers: stacks, bidirectional merges, masks and states against tfjs, and the
 * seeded-weights contract for every cell against tfjs's own initializers.
 */
import t from 'tap';
import {
  computeCost,
  type LayerSpec,
  type MergeMode,
  type NetworkSpec,
  runNetwork,
  seededNetworkWeights,
  weightCount,
} from '../../src/engine/index.js';
import { flat, nest, randomNested, rng } from '../helpers/random.js';
import { maxAbsDiff, tf, tfjsNetwork } from '../helpers/tfjs.js';

const TOLERANCE = 1e-5;
const [BATCH, TIME, FEATURES] = [3, 6, 4];

function layer(cell: 'lstm' | 'gru', hiddenSize: number, extra: Partial<LayerSpec> = {}): LayerSpec {
  return {
    cell,
    hiddenSize,
    activation: 'tanh',
    useBias: true,
    goBackwards: false,
    clip: null,
    ...(cell === 'gru' ? { resetAfter: false } : {}),
    ...extra,
  };
}

/** Random Keras-layout weights per layer and direction, nested for tfjs and flat for us. */
function randomWeights(seed: number, spec: NetworkSpec, cell: 'lstm' | 'gru') {
  const random = rng(seed);
  const g = cell === 'lstm' ? 4 : 3;
  const directions = spec.bidirectional === null ? 1 : 2;
  const nested: { kernel: number[][]; recurrentKernel: number[][]; bias: number[] }[] = [];
  let inputDim = FEATURES;
  const weights = spec.layers.map(({ hiddenSize: h }) => {
    const perDirection = Array.from({ length: directions }, () => {
      const cellWeights = {
        kernel: randomNested(random, [inputDim, g * h], 0.6),
        recurrentKernel: randomNested(random, [h, g * h], 0.6),
        bias: randomNested(random, [g * h], 0.3),
      };
      nested.push(cellWeights);
      return {
        inputDim,
        hiddenSize: h,
        kernel: flat(cellWeights.kernel),
        recurrentKernel: flat(cellWeights.recurrentKernel),
        bias: flat(cellWeights.bias),
      };
    });
    inputDim = spec.bidirectional?.mergeMode === 'concat' ? 2 * h : h;
    return perDirection;
  });
  return { nested, weights };
}

t.test('stacks and every bidirectional merge agree with tfjs, with masks and initial h and c', async (t) => {
  const random = rng(7);
  const inputs = randomNested(random, [BATCH, TIME, FEATURES], 1.5);
  const maskRows = [
    [true, true, false, true, false, false],
    [true, true, true, true, true, true],
    [false, true, true, true, true, false],
  ];
  const mask = Uint8Array.from(maskRows.flat(), Number);
  const merges: (MergeMode | undefined)[] = [undefined, 'concat', 'sum', 'mul', 'ave', null];
  let seed = 10;
  for (const cell of ['lstm', 'gru'] as const) {
    for (const mergeMode of merges) {
      for (const returnSequences of [true, false]) {
        const spec: NetworkSpec = {
          // mergeMode null returns both directions apart: only possible on a last layer.
          layers: [layer(cell, 3), ...(mergeMode === null ? [] : [layer(cell, 2, { activation: 'softsign' })])],
          bidirectional: mergeMode === undefined ? null : { mergeMode },
        };
        const directions = mergeMode === undefined ? 1 : 2;
        const { nested, weights } = randomWeights(seed++, spec, cell);
        const h0 = spec.layers.flatMap((l) =>
          Array.from({ length: directions }, () => randomNested(random, [BATCH, l.hiddenSize])),
        );
        const c0 = spec.layers.flatMap((l) =>
          Array.from({ length: directions }, () => randomNested(random, [BATCH, l.hiddenSize])),
        );
        // tfjs takes an LSTM's states as h then c of each direction.
        const tfjsInitial = cell === 'lstm' ? h0.flatMap((h, i) => [h, c0[i]]) : h0;
        const ref = tfjsNetwork(inputs, {
          cell,
          layers: spec.layers.map((l) => ({ hiddenSize: l.hiddenSize, activation: l.activation })),
          ...(mergeMode === undefined ? {} : { mergeMode }),
          cells: nested,
          mask: maskRows,
          initialStates: tfjsInitial,
          returnSequences,
        });
        const ours = runNetwork(flat(inputs), [BATCH, TIME, FEATURES], spec, weights, {
          mask,
          initialStates: h0.map(flat),
          initialCellStates: cell === 'lstm' ? c0.map(flat) : null,
          returnSequences,
        });
        const name = `${cell} merge ${mergeMode} returnSequences ${returnSequences}`;
        const dOut = maxAbsDiff(nest(ours.outputs, ours.outputShape), ref.outputs);
        t.ok(dOut <= TOLERANCE, `${name}: outputs (max |diff| ${dOut})`);
        const ourStates = cell === 'lstm' ? ours.states.flatMap((h, i) => [h, ours.cellStates[i]!]) : ours.states;
        const dStates = maxAbsDiff(
          ourStates.map((s) => nest(s, [BATCH, s.length / BATCH])),
          ref.states,
        );
        t.ok(dStates <= TOLERANCE, `${name}: states (max |diff| ${dStates})`);
        if (cell === 'gru')
          t.ok(
            ours.cellStates.every((c) => c === null),
            `${name}: no cell states`,
          );
      }
    }
  }
});

t.test('weightCount: kernels and bias of every cell', async (t) => {
  t.equal(weightCount({}, 3, 8), 3 * 8 + 8 * 8 + 8);
  t.equal(weightCount({ cell: 'lstm' }, 3, 8), (3 + 8) * 32 + 32);
  t.equal(weightCount({ cell: 'lstm' }, 3, 8, false), (3 + 8) * 32);
  t.equal(weightCount({ cell: 'gru' }, 3, 8), (3 + 8) * 24 + 48, 'resetAfter by default: bias [2, 3·h]');
  t.equal(weightCount({ cell: 'gru', resetAfter: false }, 3, 8), (3 + 8) * 24 + 24);
  const seeded = seededNetworkWeights(1, { layers: [layer('gru', 8, { resetAfter: true })], bidirectional: null }, 3);
  const { kernel, recurrentKernel, bias } = seeded[0][0];
  t.equal(kernel.length + recurrentKernel.length + bias.length, weightCount({ cell: 'gru' }, 3, 8));
});

t.test('computeCost counts every gate', async (t) => {
  const spec = (cell: 'simpleRNN' | 'lstm' | 'gru'): NetworkSpec => ({
    layers: [{ ...layer('lstm', 8), cell }],
    bidirectional: { mergeMode: 'concat' },
  });
  // 2 directions · batch 2 · time 5 · (in 3 + h 8) · G · h 8
  t.equal(computeCost(spec('simpleRNN'), [2, 5, 3]), 2 * 2 * 5 * 11 * 8);
  t.equal(computeCost(spec('lstm'), [2, 5, 3]), 4 * 2 * 2 * 5 * 11 * 8);
  t.equal(computeCost(spec('gru'), [2, 5, 3]), 3 * 2 * 2 * 5 * 11 * 8);
});

t.test('seeded weights follow the contract bit for bit for every cell', async (t) => {
  const seed = 42;
  const cases: { name: string; layers: LayerSpec[]; g: number; bias: (h: number) => number[] }[] = [
    {
      name: 'lstm',
      layers: [layer('lstm', 5), layer('lstm', 3)],
      g: 4,
      bias: (h) => [...Array(h).fill(0), ...Array(h).fill(1), ...Array(2 * h).fill(0)],
    },
    {
      name: 'lstm without unitForgetBias',
      layers: [layer('lstm', 5, { unitForgetBias: false }), layer('lstm', 3, { unitForgetBias: false })],
      g: 4,
      bias: (h) => Array(4 * h).fill(0),
    },
    {
      name: 'lstm without bias',
      layers: [layer('lstm', 5, { useBias: false }), layer('lstm', 3, { useBias: false })],
      g: 4,
      bias: (h) => Array(4 * h).fill(0),
    },
    {
      name: 'gru resetAfter',
      layers: [layer('gru', 5, { resetAfter: true }), layer('gru', 3, { resetAfter: true })],
      g: 3,
      bias: (h) => Array(6 * h).fill(0),
    },
    { name: 'gru', layers: [layer('gru', 5), layer('gru', 3)], g: 3, bias: (h) => Array(3 * h).fill(0) },
  ];
  for (const c of cases) {
    const spec: NetworkSpec = { layers: c.layers, bidirectional: { mergeMode: 'concat' } };
    const weights = seededNetworkWeights(seed, spec, FEATURES);
    let inputDim = FEATURES;
    c.layers.forEach(({ hiddenSize: h }, k) => {
      for (let d = 0; d < 2; d++) {
        const s = seed + 4 * k + 2 * d;
        const kernel = tf.tidy(() =>
          tf.initializers
            .glorotUniform({ seed: s })
            .apply([inputDim, c.g * h])
            .dataSync(),
        );
        const recurrent = tf.tidy(() =>
          tf.initializers
            .orthogonal({ seed: s + 1 })
            .apply([h, c.g * h])
            .dataSync(),
        );
        const w = weights[k][d];
        t.same(Array.from(w.kernel), Array.from(kernel), `${c.name} layer ${k} direction ${d}: kernel`);
        t.same(Array.from(w.recurrentKernel), Array.from(recurrent), `${c.name} layer ${k} direction ${d}: recurrent`);
        t.same(Array.from(w.bias), c.bias(h), `${c.name} layer ${k} direction ${d}: bias`);
      }
      inputDim = 2 * h;
    });
  }
});

t.test('streaming a stack: h and c of every layer carried across a split continue it bit for bit', async (t) => {
  const random = rng(70);
  const inputs = flat(randomNested(random, [BATCH, TIME, FEATURES], 1.5));
  for (const cell of ['lstm', 'gru'] as const) {
    const spec: NetworkSpec = { layers: [layer(cell, 3), layer(cell, 4)], bidirectional: null };
    const { weights } = randomWeights(71, spec, cell);
    const part = (from: number, to: number) => {
      const out = new Float32Array(BATCH * (to - from) * FEATURES);
      for (let b = 0; b < BATCH; b++)
        out.set(inputs.subarray((b * TIME + from) * FEATURES, (b * TIME + to) * FEATURES), b * (to - from) * FEATURES);
      return out;
    };
    const whole = runNetwork(inputs, [BATCH, TIME, FEATURES], spec, weights);
    const first = runNetwork(part(0, 2), [BATCH, 2, FEATURES], spec, weights);
    const rest = runNetwork(part(2, TIME), [BATCH, TIME - 2, FEATURES], spec, weights, {
      initialStates: first.states,
      initialCellStates: first.cellStates,
    });
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    t.ok(
      whole.states.every((s, i) => same(s, rest.states[i])),
      `${cell}: h of every layer`,
    );
    t.ok(
      whole.cellStates.every((c, i) => (c === null ? rest.cellStates[i] === null : same(c, rest.cellStates[i]!))),
      `${cell}: c of every layer`,
    );
    let tails = true;
    for (let b = 0; b < BATCH; b++) {
      const expected = whole.outputs.subarray((b * TIME + 2) * 4, (b + 1) * TIME * 4);
      tails &&= same(rest.outputs.subarray(b * (TIME - 2) * 4, (b + 1) * (TIME - 2) * 4), expected);
    }
    t.ok(tails, `${cell}: the outputs after the split`);
  }
});

t.test('a mixed stack (bidirectional, then plain) keeps each layer’s cell states beside its h', async (t) => {
  const random = rng(80);
  const inputs = flat(randomNested(random, [BATCH, TIME, FEATURES], 1.5));
  const spec: NetworkSpec = {
    layers: [layer('lstm', 3), layer('lstm', 2)],
    bidirectional: null,
    layerBidirectional: [{ mergeMode: 'concat' }, null],
  };
  const first: NetworkSpec = { layers: [spec.layers[0]], bidirectional: { mergeMode: 'concat' } };
  const second: NetworkSpec = { layers: [spec.layers[1]], bidirectional: null };
  const w0 = randomWeights(81, first, 'lstm').weights;
  const secondWeights = seededNetworkWeights(82, second, 6);
  const c0 = [0, 1, 2].map(() => flat(randomNested(random, [BATCH, 3])));
  c0[2] = flat(randomNested(random, [BATCH, 2]));
  const mixed = runNetwork(inputs, [BATCH, TIME, FEATURES], spec, [w0[0], secondWeights[0]], {
    initialCellStates: c0,
  });
  const a = runNetwork(inputs, [BATCH, TIME, FEATURES], first, w0, { initialCellStates: c0.slice(0, 2) });
  const b = runNetwork(a.outputs, [BATCH, TIME, 6], second, secondWeights, { initialCellStates: c0.slice(2) });
  t.equal(mixed.cellStates.length, 3);
  t.same(
    mixed.cellStates.map((c) => Array.from(c!)),
    [...a.cellStates, ...b.cellStates].map((c) => Array.from(c!)),
  );
  t.same(Array.from(mixed.outputs), Array.from(b.outputs));
});
