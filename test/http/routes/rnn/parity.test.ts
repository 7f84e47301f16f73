/**
 * Every engine option, through POST /rnn/forward, against @tensorflow/tfjs's own layers on the same
 * weights: within 1e-5 (tfjs rounds each op to float32; we round each stored tensor).
 */
import t from 'tap';
import { ACTIVATION_NAMES } from '../../../../src/engine/activations.js';
import { build } from '../../../helpers/build.js';
import { randomNested, rng } from '../../../helpers/random.js';
import { maxAbsDiff, tfjsMaskedSequential, tfjsNetwork, type TfjsLayer } from '../../../helpers/tfjs.js';

const TOLERANCE = 1e-5;

interface Cell {
  kernel: number[][];
  recurrentKernel: number[][];
  bias?: number[];
}

function randomCells(
  seed: number,
  inputDim: number,
  layers: TfjsLayer[],
  directions: number,
  mergeConcat: boolean,
): Cell[] {
  const random = rng(seed);
  const cells: Cell[] = [];
  let layerInput = inputDim;
  for (const layer of layers) {
    const h = layer.hiddenSize;
    for (let d = 0; d < directions; d++) {
      cells.push({
        kernel: randomNested(random, [layerInput, h], 0.6),
        recurrentKernel: randomNested(random, [h, h], 0.6),
        ...(layer.useBias === false ? {} : { bias: randomNested(random, [h], 0.3) }),
      });
    }
    layerInput = directions === 2 && mergeConcat ? 2 * h : h;
  }
  return cells;
}

t.test('parity with tfjs', async (t) => {
  const { app } = await build(t);
  const forward = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: body });
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
    return res.json();
  };
  const inputs = randomNested(rng(1), [3, 6, 4], 1.5) as number[][][];

  /** Sends the case to the service and to tfjs; compares outputs and every state. */
  async function check(
    name: string,
    layers: TfjsLayer[],
    extra: {
      mergeMode?: 'concat' | 'sum' | 'mul' | 'ave' | null;
      mask?: boolean[][];
      initialStates?: number[][][];
      returnSequences?: boolean;
      x?: number[][][];
    } = {},
  ) {
    const x = extra.x ?? inputs;
    const directions = extra.mergeMode === undefined ? 1 : 2;
    const cells = randomCells(
      name.length * 7 + layers.length,
      x[0][0].length,
      layers,
      directions,
      extra.mergeMode === 'concat',
    );
    const ref = tfjsNetwork(x, { layers, cells, ...extra });
    const single = layers.length === 1 && directions === 1;
    const body = await forward({
      inputs: x,
      layers: layers.map(({ hiddenSize, activation, useBias, goBackwards }) => ({
        hiddenSize,
        activation,
        useBias,
        goBackwards,
      })),
      weights: cells,
      ...(directions === 2 ? { bidirectional: { mergeMode: extra.mergeMode } } : {}),
      ...(extra.mask ? { mask: extra.mask } : {}),
      ...(extra.initialStates ? { initialState: single ? extra.initialStates[0] : extra.initialStates } : {}),
      ...(extra.returnSequences === false ? { returnSequences: false } : {}),
    });
    const states = single ? [body.states] : body.states;
    const dOut = maxAbsDiff(body.outputs, ref.outputs);
    const dStates = maxAbsDiff(states, ref.states);
    t.ok(dOut <= TOLERANCE, `${name}: outputs within ${TOLERANCE} (max |diff| ${dOut})`);
    t.ok(dStates <= TOLERANCE, `${name}: states within ${TOLERANCE} (max |diff| ${dStates})`);
  }

  for (const activation of ACTIVATION_NAMES) await check(`activation ${activation}`, [{ hiddenSize: 5, activation }]);
  await check('useBias false', [{ hiddenSize: 5, useBias: false }]);
  await check('goBackwards', [{ hiddenSize: 5, goBackwards: true }]);
  await check('goBackwards without sequences', [{ hiddenSize: 5, goBackwards: true }], { returnSequences: false });
  await check('initial state', [{ hiddenSize: 5 }], { initialStates: [randomNested(rng(5), [3, 5]) as number[][]] });

  const mask = [
    [true, true, false, true, false, false], // a hole, then right padding
    [false, true, true, true, true, true], // a leading masked step
    [true, true, true, true, true, true],
  ];
  await check('mask with holes', [{ hiddenSize: 5 }], { mask });
  await check('mask with an initial state', [{ hiddenSize: 5 }], {
    mask,
    initialStates: [randomNested(rng(6), [3, 5]) as number[][]],
  });
  await check('mask, goBackwards', [{ hiddenSize: 5, goBackwards: true }], { mask });
  await check('mask without sequences', [{ hiddenSize: 5 }], { mask, returnSequences: false });

  const stack: TfjsLayer[] = [
    { hiddenSize: 4, activation: 'relu' },
    { hiddenSize: 3, activation: 'tanh', useBias: false },
    { hiddenSize: 5, activation: 'sigmoid' },
  ];
  await check('stack of three', stack);
  await check('stack of three without sequences', stack, { returnSequences: false });
  await check('stack with a mask', stack, { mask });
  await check('stack with initial states', stack, {
    initialStates: [
      randomNested(rng(7), [3, 4]),
      randomNested(rng(8), [3, 3]),
      randomNested(rng(9), [3, 5]),
    ] as number[][][],
  });

  for (const mergeMode of ['concat', 'sum', 'mul', 'ave', null] as const) {
    await check(`bidirectional ${mergeMode}`, [{ hiddenSize: 4 }], { mergeMode });
    await check(`bidirectional ${mergeMode} without sequences`, [{ hiddenSize: 4 }], {
      mergeMode,
      returnSequences: false,
    });
    await check(`bidirectional ${mergeMode} with a mask`, [{ hiddenSize: 4 }], { mergeMode, mask });
  }
  await check('bidirectional with initial states', [{ hiddenSize: 4 }], {
    mergeMode: 'concat',
    initialStates: [randomNested(rng(10), [3, 4]), randomNested(rng(11), [3, 4])] as number[][][],
  });
  await check('bidirectional stack (concat)', [{ hiddenSize: 4 }, { hiddenSize: 3, activation: 'elu' }], {
    mergeMode: 'concat',
    mask,
  });
  await check('bidirectional stack (ave)', [{ hiddenSize: 4 }, { hiddenSize: 4 }], {
    mergeMode: 'ave',
    returnSequences: false,
  });
});

t.test('tf.layers.masking: steps whose features all equal the mask value are masked', async (t) => {
  const { app } = await build(t);
  const random = rng(21);
  const x = randomNested(random, [2, 7, 3], 1) as number[][][];
  x[0][2] = [0, 0, 0];
  x[0][5] = [0, 0, 0];
  x[0][6] = [0, 0, 0];
  x[1][0] = [0, 0, 0];
  const cell = {
    kernel: randomNested(random, [3, 4], 0.6),
    recurrentKernel: randomNested(random, [4, 4], 0.6),
    bias: randomNested(random, [4], 0.2),
  };
  const ref = tfjsMaskedSequential(x, 0, cell);
  const mask = x.map((sequence) => sequence.map((step) => step.some((v) => v !== 0)));
  const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: { inputs: x, weights: cell, mask } });
  t.equal(res.statusCode, 200);
  const d = maxAbsDiff(res.json().outputs, ref);
  t.ok(d <= TOLERANCE, `max |diff| ${d}`);
});

t.test('lengths and ragged inputs equal the explicit mask', async (t) => {
  const { app } = await build(t);
  const random = rng(31);
  const full = randomNested(random, [3, 5, 2], 1) as number[][][];
  const lengths = [5, 2, 4];
  const ragged = full.map((sequence, b) => sequence.slice(0, lengths[b]));
  const padded = full.map((sequence, b) => sequence.map((step, t) => (t < lengths[b] ? step : [0, 0])));
  const mask = lengths.map((n) => Array.from({ length: 5 }, (_, t) => t < n));
  const base = { hiddenSize: 3, seed: 5 };
  const post = async (body: object) =>
    (await app.inject({ method: 'POST', url: '/rnn/forward', payload: { ...base, ...body } })).json();
  const byMask = await post({ inputs: full, mask });
  const byLengths = await post({ inputs: full, lengths });
  const byRagged = await post({ inputs: ragged });
  const byPadded = await post({ inputs: padded, lengths });
  t.same(byLengths, byMask, 'lengths = mask');
  t.same(byRagged, byMask, 'ragged inputs = mask (what lies beyond each length does not matter)');
  t.same(byPadded, byMask);
  t.same(byMask.shapes.outputs, [3, 5, 3]);
  t.same(byMask.states[1], byMask.outputs[1][1], 'the final state is the state at the last valid step');
  t.same(byMask.outputs[1][4], byMask.outputs[1][1], 'masked steps repeat the carried state');
  // Ragged input equals the same sequences run one by one (each alone, unpadded), bit for bit.
  for (let b = 0; b < 3; b++) {
    const alone = await post({ inputs: [ragged[b]] });
    t.same(byRagged.states[b], alone.states[0], `sequence ${b}: the same final state alone`);
    t.same(
      byRagged.outputs[b].slice(0, lengths[b]),
      alone.outputs[0],
      `sequence ${b}: the same outputs at its valid steps`,
    );
  }
  const zero = await post({ inputs: ragged, zeroOutputForMask: true });
  t.same(zero.outputs[1][4], [0, 0, 0], 'zeroOutputForMask: zeros at masked steps');
  t.same(zero.outputs[1][1], byMask.outputs[1][1], 'and the same outputs at valid steps');
  t.same(zero.states, byMask.states, 'and the same states');
});
