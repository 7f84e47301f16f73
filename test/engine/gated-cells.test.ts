import t from 'tap';
import {
  type ActivationName,
  type GatedResult,
  gruForward,
  type LstmResult,
  lstmForward,
  type RecurrentWeights,
} from '../../src/engine/index.js';
import { gruForwardReference, lstmForwardReference } from '../../src/engine/gated-reference.js';
import { flat, nest, randomNested, rng } from '../helpers/random.js';
import { maxAbsDiff, tfjsGated } from '../helpers/tfjs.js';

type Variant = 'lstm' | 'gruAfter' | 'gruBefore';
const VARIANTS: Variant[] = ['lstm', 'gruAfter', 'gruBefore'];

function randomCase(variant: Variant, seed: number, batch: number, time: number, inputDim: number, h: number) {
  const random = rng(seed);
  const g = variant === 'lstm' ? 4 : 3;
  const inputs = randomNested(random, [batch, time, inputDim], 2);
  const kernel = randomNested(random, [inputDim, g * h], 0.8);
  const recurrentKernel = randomNested(random, [h, g * h], 0.8);
  const bias = randomNested(random, [variant === 'gruAfter' ? 6 * h : g * h], 0.3);
  const weights: RecurrentWeights = {
    inputDim,
    hiddenSize: h,
    kernel: flat(kernel),
    recurrentKernel: flat(recurrentKernel),
    bias: flat(bias),
  };
  return { inputs, nested: { kernel, recurrentKernel, bias }, weights, shape: [batch, time, inputDim] as const };
}

interface RunOptions {
  activation?: ActivationName;
  recurrentActivation?: ActivationName;
  goBackwards?: boolean;
  clip?: number | null;
  mask?: Uint8Array | null;
  zeroOutputForMask?: boolean;
  initialState?: Float32Array | null;
  initialCellState?: Float32Array | null;
}

function runBoth(variant: Variant, c: ReturnType<typeof randomCase>, options: RunOptions) {
  const x = flat(c.inputs);
  if (variant === 'lstm')
    return [lstmForward(x, c.shape, c.weights, options), lstmForwardReference(x, c.shape, c.weights, options)];
  const gru = { ...options, resetAfter: variant === 'gruAfter' };
  return [gruForward(x, c.shape, c.weights, gru), gruForwardReference(x, c.shape, c.weights, gru)];
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

const SHAPES: [batch: number, time: number, inputDim: number, hiddenSize: number][] = [
  [1, 1, 1, 1],
  [1, 5, 4, 2],
  [3, 5, 4, 3],
  [4, 60, 6, 8],
  [5, 13, 17, 33],
  [2, 3, 64, 96],
];

t.test('the fast paths equal the naive references bit for bit', async (t) => {
  let seed = 1;
  for (const variant of VARIANTS) {
    for (const [batch, time, inputDim, h] of SHAPES) {
      const c = randomCase(variant, seed++, batch, time, inputDim, h);
      const random = rng(seed++);
      const mask = Uint8Array.from({ length: batch * time }, () => (random() < 0.3 ? 0 : 1));
      const initialState = flat(randomNested(random, [batch, h]));
      const initialCellState = flat(randomNested(random, [batch, h], 3));
      const optionSets: RunOptions[] = [
        {},
        { initialState, initialCellState },
        { mask, goBackwards: true, initialState, zeroOutputForMask: true },
        { mask, clip: 0.7, activation: 'relu', recurrentActivation: 'hardSigmoid', initialCellState },
      ];
      for (const options of optionSets) {
        const [fast, naive] = runBoth(variant, c, options);
        const label = `${variant} ${[batch, time, inputDim, h]} ${Object.keys(options).join(',')}`;
        t.ok(same(fast.outputs, naive.outputs), `outputs ${label}`);
        t.ok(same(fast.states, naive.states), `states ${label}`);
        if (variant === 'lstm')
          t.ok(same((fast as LstmResult).cellStates, (naive as LstmResult).cellStates), `cell states ${label}`);
      }
    }
  }
});

t.test('LSTM agrees with tfjs tf.layers.lstm within 1e-5', async (t) => {
  let seed = 100;
  for (const [batch, time, inputDim, h] of SHAPES) {
    const c = randomCase('lstm', seed++, batch, time, inputDim, h);
    const ours = lstmForward(flat(c.inputs), c.shape, c.weights);
    const ref = tfjsGated('lstm', c.inputs, c.nested);
    t.ok(
      maxAbsDiff(nest(ours.outputs, [batch, time, h]), ref.outputs) <= 1e-5,
      `outputs ${[batch, time, inputDim, h]}`,
    );
    t.ok(maxAbsDiff(nest(ours.states, [batch, h]), ref.states[0]) <= 1e-5, `h ${[batch, time, inputDim, h]}`);
    t.ok(maxAbsDiff(nest(ours.cellStates, [batch, h]), ref.states[1]) <= 1e-5, `c ${[batch, time, inputDim, h]}`);
  }
});

t.test('GRU (resetAfter false) agrees with tfjs tf.layers.gru within 1e-5', async (t) => {
  let seed = 200;
  for (const [batch, time, inputDim, h] of SHAPES) {
    const c = randomCase('gruBefore', seed++, batch, time, inputDim, h);
    const ours = gruForward(flat(c.inputs), c.shape, c.weights, { resetAfter: false });
    const ref = tfjsGated('gru', c.inputs, c.nested);
    t.ok(
      maxAbsDiff(nest(ours.outputs, [batch, time, h]), ref.outputs) <= 1e-5,
      `outputs ${[batch, time, inputDim, h]}`,
    );
    t.ok(maxAbsDiff(nest(ours.states, [batch, h]), ref.states[0]) <= 1e-5, `h ${[batch, time, inputDim, h]}`);
  }
});

t.test('every option agrees with tfjs: activations, masks, initial states, goBackwards, no bias', async (t) => {
  const [batch, time, inputDim, h] = [3, 7, 5, 4];
  const random = rng(300);
  const maskRows = Array.from({ length: batch }, () => Array.from({ length: time }, () => random() > 0.3));
  const mask = Uint8Array.from(maskRows.flat(), Number);
  const h0 = randomNested(random, [batch, h]);
  const c0 = randomNested(random, [batch, h], 2);
  const cases: { name: string; ours: RunOptions; tfjs: Parameters<typeof tfjsGated>[3]; noBias?: boolean }[] = [
    { name: 'initial states', ours: { initialState: flat(h0), initialCellState: flat(c0) }, tfjs: {} },
    { name: 'mask', ours: { mask }, tfjs: { mask: maskRows } },
    { name: 'goBackwards with mask', ours: { mask, goBackwards: true }, tfjs: { mask: maskRows, goBackwards: true } },
    {
      name: 'relu, hardSigmoid',
      ours: { activation: 'relu', recurrentActivation: 'hardSigmoid' },
      tfjs: { activation: 'relu', recurrentActivation: 'hardSigmoid' },
    },
    { name: 'softsign, no bias', ours: { activation: 'softsign' }, tfjs: { activation: 'softsign' }, noBias: true },
  ];
  for (const cell of ['lstm', 'gru'] as const) {
    for (const k of cases) {
      const c = randomCase(cell === 'lstm' ? 'lstm' : 'gruBefore', 301, batch, time, inputDim, h);
      const weights = k.noBias ? { ...c.weights, bias: new Float32Array(c.weights.bias.length) } : c.weights;
      const initial = k.name === 'initial states' ? { initialState: cell === 'lstm' ? [h0, c0] : [h0] } : {};
      const x = flat(c.inputs);
      const ours: GatedResult =
        cell === 'lstm'
          ? lstmForward(x, c.shape, weights, k.ours)
          : gruForward(x, c.shape, weights, { ...k.ours, resetAfter: false });
      const ref = tfjsGated(cell, c.inputs, k.noBias ? { ...c.nested, bias: undefined } : c.nested, {
        ...k.tfjs,
        ...initial,
      });
      t.ok(maxAbsDiff(nest(ours.outputs, [batch, time, h]), ref.outputs) <= 1e-5, `${cell} ${k.name}: outputs`);
      t.ok(maxAbsDiff(nest(ours.states, [batch, h]), ref.states[0]) <= 1e-5, `${cell} ${k.name}: h`);
      if (cell === 'lstm') {
        const cells = (ours as LstmResult).cellStates;
        t.ok(maxAbsDiff(nest(cells, [batch, h]), ref.states[1]) <= 1e-5, `${cell} ${k.name}: c`);
      }
    }
  }
});

t.test('clip clamps every gate pre-activation, not the cell state', async (t) => {
  // One unit, a large input weight on every gate: each pre-activation is ±10·x before the clip.
  const weights: RecurrentWeights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.of(10, 10, 10, 10),
    recurrentKernel: new Float32Array(4),
    bias: new Float32Array(4),
  };
  const x = Float32Array.of(1, 1, 1);
  const linear = { activation: 'linear', recurrentActivation: 'linear' } as const;
  const clipped = lstmForward(x, [1, 3, 1], weights, { ...linear, clip: 2 });
  // i = f = g = o = 2 each step: c = 2c + 4 → 4, 12, 28 (unclipped), h = 2c.
  t.same(Array.from(clipped.outputs), [8, 24, 56]);
  t.same(Array.from(clipped.cellStates), [28]);
  const free = lstmForward(x.subarray(0, 1), [1, 1, 1], weights, linear);
  t.same(Array.from(free.outputs), [10 * (10 * 10)]);
});

t.test('rejects arrays that do not match their shapes', async (t) => {
  const c = randomCase('lstm', 3, 1, 2, 3, 2);
  const x = flat(c.inputs);
  t.throws(
    () => lstmForward(x, c.shape, { ...c.weights, bias: new Float32Array(2) }),
    /bias has 2 elements; expected 8/,
  );
  t.throws(
    () => lstmForward(x, c.shape, c.weights, { initialCellState: new Float32Array(3) }),
    /initialCellState has 3 elements; expected 2/,
  );
  const g = randomCase('gruAfter', 4, 1, 2, 3, 2);
  t.throws(
    () => gruForward(flat(g.inputs), g.shape, g.weights, { resetAfter: false }),
    /bias has 12 elements; expected 6/,
  );
  t.throws(
    () => gruForward(flat(g.inputs), g.shape, { ...g.weights, kernel: new Float32Array(3) }),
    /kernel has 3 elements; expected 18/,
  );
});

t.test('calls of different shapes and cells reusing weights and the heap stay equal to the references', async (t) => {
  let mismatches = 0;
  for (let i = 0; i < 8; i++) {
    const variant = VARIANTS[i % 3];
    const c = randomCase(variant, 400 + (i % 3), i % 2 === 0 ? 7 : 2, i % 2 === 0 ? 20 : 3, 9, 10);
    const [fast, naive] = runBoth(variant, c, { goBackwards: i === 5 });
    if (!same(fast.outputs, naive.outputs) || !same(fast.states, naive.states)) mismatches++;
  }
  t.equal(mismatches, 0);
});
