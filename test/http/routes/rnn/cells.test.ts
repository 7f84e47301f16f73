/**
 * POST /rnn/forward and /rnn/weights with LSTM and GRU layers: numbers against tf.layers.lstm / tf.layers.gru
 * (and the engine's naive GRU reference for resetAfter, which TF.js lacks), cell states in every answer form,
 * the three weight layouts of one model, seeded weights against tfjs's initializers, and every new 400.
 */
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { build } from '../../../helpers/build.js';
import { maxAbsDiff, tf, tfjsGated, tfjsNetwork } from '../../../helpers/tfjs.js';
import { flat, nest, randomNested, rng } from '../../../helpers/random.js';
import { gruForwardReference } from '../../../../src/engine/gated-reference.js';

type Test = Pick<typeof t, 'equal' | 'ok'>;
type App = Awaited<ReturnType<typeof build>>['app'];

const post = (app: App, url: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });

function ok(t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 200, res.body.slice(0, 400));
  return res.json();
}

/** Random Keras-layout weights of one cell: kernel [in, G·h], recurrent kernel [h, G·h], bias of `biasShape`. */
function kerasCell(random: () => number, inputDim: number, h: number, g: number, biasShape: number[] = [g * h]) {
  return {
    kernel: randomNested(random, [inputDim, g * h], 0.6),
    recurrentKernel: randomNested(random, [h, g * h], 0.6),
    bias: randomNested(random, biasShape, 0.3),
  };
}

const within = (t: Test, a: unknown, b: unknown, what: string, tolerance = 1e-5) =>
  t.ok(maxAbsDiff(a, b) <= tolerance, `${what} within ${tolerance} (off by ${maxAbsDiff(a, b)})`);

t.test('LSTM: outputs, h and c agree with tf.layers.lstm, from given h0 and c0', async (t) => {
  const { app } = await build(t);
  const random = rng(1);
  const inputs = randomNested(random, [2, 5, 3]);
  const weights = kerasCell(random, 3, 4, 4);
  const h0 = randomNested(random, [2, 4], 0.5);
  const c0 = randomNested(random, [2, 4], 0.5);
  const body = ok(
    t,
    await post(app, '/rnn/forward', { inputs, cell: 'lstm', weights, initialState: h0, initialCellState: c0 }),
  );
  const ref = tfjsGated('lstm', inputs, weights, { initialState: [h0, c0] });
  within(t, body.outputs, ref.outputs, 'outputs');
  within(t, body.states, ref.states[0], 'states (h)');
  within(t, body.cellStates, ref.states[1], 'cellStates (c)');
  t.same(body.shapes, { inputs: [2, 5, 3], outputs: [2, 5, 4], states: [2, 4], cellStates: [2, 4] });
  t.same(body.model.layers, [
    {
      hiddenSize: 4,
      activation: 'tanh',
      useBias: true,
      goBackwards: false,
      clip: null,
      cell: 'lstm',
      recurrentActivation: 'sigmoid',
      unitForgetBias: true,
    },
  ]);
  const noState = ok(t, await post(app, '/rnn/forward', { inputs, cell: 'lstm', weights, returnState: false }));
  t.notOk('cellStates' in noState, 'no cellStates without returnState');
  t.notOk('cellStates' in noState.shapes);
});

t.test('GRU without resetAfter agrees with tf.layers.gru (hardSigmoid gates, masked, backwards)', async (t) => {
  const { app } = await build(t);
  const random = rng(2);
  const inputs = randomNested(random, [3, 4, 2]);
  const weights = kerasCell(random, 2, 3, 3);
  const mask = [
    [true, true, true, true],
    [true, false, true, false],
    [false, true, true, true],
  ];
  const body = ok(
    t,
    await post(app, '/rnn/forward', {
      inputs,
      cell: 'gru',
      resetAfter: false,
      recurrentActivation: 'hardSigmoid',
      goBackwards: true,
      weights,
      mask,
    }),
  );
  const ref = tfjsGated('gru', inputs, weights, { recurrentActivation: 'hardSigmoid', goBackwards: true, mask });
  within(t, body.outputs, ref.outputs, 'outputs');
  within(t, body.states, ref.states[0], 'states');
  t.notOk('cellStates' in body, 'a GRU has no cell state');
  t.same(body.model.layers[0].resetAfter, false);
  t.notOk('unitForgetBias' in body.model.layers[0], 'only the options of the cell');
});

t.test('GRU with resetAfter ([2, 3·h] bias) equals the naive reference, in all three layouts', async (t) => {
  const { app } = await build(t);
  const random = rng(3);
  const inputs = randomNested(random, [2, 3, 2]);
  const weights = kerasCell(random, 2, 3, 3, [2, 9]);
  const keras = ok(t, await post(app, '/rnn/forward', { inputs, cell: 'gru', weights }));
  const ref = gruForwardReference(
    flat(inputs),
    [2, 3, 2],
    {
      inputDim: 2,
      hiddenSize: 3,
      kernel: flat(weights.kernel),
      recurrentKernel: flat(weights.recurrentKernel),
      bias: flat(weights.bias),
    },
    { resetAfter: true },
  );
  t.same(flat(keras.outputs), ref.outputs, 'outputs equal the reference bit for bit');
  t.same(flat(keras.states), ref.states, 'states too');
  const layouts = ok(t, await post(app, '/rnn/weights', { inputDim: 2, cell: 'gru', weights }));
  t.same(flat(layouts.keras[0].bias), flat(weights.bias), 'the bias comes back as [2, 3·h]');
  t.same(Object.keys(layouts.pytorch), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']);
  t.equal(layouts.pytorch.weight_ih_l0.length, 9, 'weight_ih [3·h, inputDim]');
  // PyTorch's r, z, n order: its first block of rows is Keras's second block of columns (r).
  t.same(flat(layouts.pytorch.weight_ih_l0[0]), flat([weights.kernel[0][3], weights.kernel[1][3]]));
  t.same(
    flat(layouts.pytorch.bias_hh_l0.slice(3, 6)),
    flat(weights.bias[1].slice(0, 3)),
    "z's recurrent bias in n's place",
  );
  const viaTorch = ok(t, await post(app, '/rnn/forward', { inputs, cell: 'gru', pytorchWeights: layouts.pytorch }));
  const viaOnnx = ok(t, await post(app, '/rnn/forward', { inputs, cell: 'gru', onnxWeights: layouts.onnx }));
  t.same(viaTorch.outputs, keras.outputs, 'PyTorch layout: identical');
  t.same(viaOnnx.outputs, keras.outputs, 'ONNX layout: identical');
  t.same(viaOnnx.states, keras.states);
});

/** Our states (h per layer and direction) and tfjs's (for LSTM: h, c of each direction in turn). */
function splitTfjsStates(states: number[][][], lstm: boolean) {
  if (!lstm) return { h: states, c: [] as number[][][] };
  return { h: states.filter((_, i) => i % 2 === 0), c: states.filter((_, i) => i % 2 === 1) };
}

t.test(
  'stacks and bidirectional merge modes of LSTM and GRU agree with tfjs, masked, from initial states',
  async (t) => {
    const { app } = await build(t);
    const cases: { cell: 'lstm' | 'gru'; mergeMode?: 'concat' | 'sum' | 'mul' | 'ave' | null; layers: number[] }[] = [
      { cell: 'lstm', layers: [3, 2] },
      { cell: 'lstm', mergeMode: 'concat', layers: [3, 2] },
      { cell: 'lstm', mergeMode: 'sum', layers: [2, 2] },
      { cell: 'gru', mergeMode: 'mul', layers: [3, 2] },
      { cell: 'gru', mergeMode: 'ave', layers: [2] },
      { cell: 'lstm', mergeMode: null, layers: [2] },
    ];
    for (const [n, c] of cases.entries()) {
      const random = rng(10 + n);
      const directions = c.mergeMode === undefined ? 1 : 2;
      const g = c.cell === 'lstm' ? 4 : 3;
      const inputs = randomNested(random, [2, 4, 3]);
      const cells: ReturnType<typeof kerasCell>[] = [];
      let inputDim = 3;
      for (const h of c.layers) {
        for (let d = 0; d < directions; d++) cells.push(kerasCell(random, inputDim, h, g));
        inputDim = c.mergeMode === 'concat' ? 2 * h : h;
      }
      const stateSizes = c.layers.flatMap((h) => new Array<number>(directions).fill(h));
      const h0 = stateSizes.map((h) => randomNested(random, [2, h], 0.5));
      const c0 = stateSizes.map((h) => randomNested(random, [2, h], 0.5));
      const lengths = [4, 2];
      const request = {
        inputs,
        weights: cells,
        layers: c.layers.map((hiddenSize) => ({
          hiddenSize,
          cell: c.cell,
          ...(c.cell === 'gru' ? { resetAfter: false } : {}),
        })),
        ...(c.mergeMode === undefined ? {} : { bidirectional: { mergeMode: c.mergeMode } }),
        initialState: h0,
        ...(c.cell === 'lstm' ? { initialCellState: c0 } : {}),
        lengths,
      };
      const body = ok(t, await post(app, '/rnn/forward', request));
      const ref = tfjsNetwork(inputs, {
        layers: c.layers.map((hiddenSize) => ({ hiddenSize })),
        cell: c.cell,
        mergeMode: c.mergeMode,
        cells,
        mask: lengths.map((l) => [0, 1, 2, 3].map((i) => i < l)),
        initialStates: c.cell === 'lstm' ? h0.flatMap((h, i) => [h, c0[i]]) : h0,
      });
      const name = `${c.cell} ${c.layers.join('-')} ${c.mergeMode === undefined ? 'unidirectional' : c.mergeMode}`;
      within(t, body.outputs, ref.outputs, `${name}: outputs`);
      const { h, c: cs } = splitTfjsStates(ref.states, c.cell === 'lstm');
      within(t, h.length === 1 ? h[0] : h, body.states, `${name}: states`);
      if (c.cell === 'lstm') within(t, cs.length === 1 ? cs[0] : cs, body.cellStates, `${name}: cellStates`);
      else t.notOk('cellStates' in body, `${name}: no cellStates`);
    }
  },
);

t.test('a mixed stack: cellStates and initialCellState hold the LSTM layers only, in state order', async (t) => {
  const { app } = await build(t);
  const inputs = randomNested(rng(5), [1, 3, 2]);
  const layers = [{ hiddenSize: 3, cell: 'lstm' }, { hiddenSize: 2 }, { hiddenSize: 2, cell: 'lstm' }];
  const base = { inputs, layers, seed: 7 };
  const zero = ok(t, await post(app, '/rnn/forward', base));
  t.equal(zero.states.length, 3);
  t.equal(zero.cellStates.length, 2, 'layers 0 and 2');
  t.same(zero.shapes.cellStates, [
    [1, 3],
    [1, 2],
  ]);
  t.same(zero.model.layers[1], { hiddenSize: 2, activation: 'tanh', useBias: true, goBackwards: false, clip: null });
  const explicitZero = ok(t, await post(app, '/rnn/forward', { ...base, initialCellState: [[[0, 0, 0]], [[0, 0]]] }));
  t.same(explicitZero.outputs, zero.outputs, 'zeros given equal zeros by default');
  const moved = ok(t, await post(app, '/rnn/forward', { ...base, initialCellState: [[[0, 0, 0]], [[1, -1]]] }));
  t.same(moved.states[0], zero.states[0], 'layers before the changed c are untouched');
  t.not(JSON.stringify(moved.states[2]), JSON.stringify(zero.states[2]), "layer 2's c0 moves its h");
  const flatBody = ok(t, await post(app, '/rnn/forward', { ...base, outputFormat: 'flat' }));
  t.same(
    flatBody.cellStates.map((s: { shape: number[]; data: number[] }) => nest(s.data, s.shape)),
    zero.cellStates,
    'flat cellStates carry the same values',
  );
});

t.test('stateLayout pytorch: cellStates is c_n [layers·directions, batch, h]; c0 is accepted like h0', async (t) => {
  const { app } = await build(t);
  const inputs = randomNested(rng(6), [2, 3, 2]);
  const base = {
    inputs,
    layers: [
      { hiddenSize: 2, cell: 'lstm' },
      { hiddenSize: 2, cell: 'lstm' },
    ],
    bidirectional: { mergeMode: 'concat' },
    seed: 3,
  };
  const keras = ok(t, await post(app, '/rnn/forward', base));
  const torch = ok(t, await post(app, '/rnn/forward', { ...base, stateLayout: 'pytorch', outputFormat: 'flat' }));
  t.same(torch.cellStates.shape, [4, 2, 2]);
  t.same(nest(torch.cellStates.data, [4, 2, 2]), keras.cellStates, 'c_n is the cell states one after the other');
  t.same(torch.shapes.cellStates, [4, 2, 2]);
  const c0 = randomNested(rng(7), [4, 2, 2], 0.5);
  const a = ok(t, await post(app, '/rnn/forward', { ...base, initialCellState: c0 }));
  t.not(JSON.stringify(a.outputs), JSON.stringify(keras.outputs), 'c0 changes the answer');
  const single = { inputs, hiddenSize: 2, cell: 'lstm', seed: 3 };
  const c1 = [
    [0.5, -0.5],
    [0.25, 0],
  ];
  const asMatrix = ok(t, await post(app, '/rnn/forward', { ...single, initialCellState: c1 }));
  const asTorch = ok(t, await post(app, '/rnn/forward', { ...single, initialCellState: [c1] }));
  t.same(asTorch.outputs, asMatrix.outputs, 'PyTorch c0 [1, batch, h] for a single layer');
});

t.test('/rnn/weights: seeded LSTM/GRU as tfjs initializes them; all layouts give identical answers', async (t) => {
  const { app } = await build(t);
  const inputs = randomNested(rng(8), [2, 3, 3]);
  for (const model of [
    { cell: 'lstm', layers: undefined, bidirectional: { mergeMode: 'sum' } },
    { cell: 'gru', layers: undefined, bidirectional: undefined },
    { cell: 'gru', resetAfter: false, layers: undefined, bidirectional: { mergeMode: 'concat' } },
  ] as const) {
    const description = { ...model, hiddenSize: 3, seed: 11 };
    const name = JSON.stringify(model);
    const weights = ok(t, await post(app, '/rnn/weights', { ...description, inputDim: 3 }));
    const again = ok(t, await post(app, '/rnn/weights', { ...description, inputDim: 3 }));
    t.equal(weights.digest.value, again.digest.value, `${name}: the digest is stable`);
    t.match(weights.digest.covers, /G·hiddenSize/);
    const g = model.cell === 'lstm' ? 4 : 3;
    const kernel = tf.tidy(() =>
      tf.initializers
        .glorotUniform({ seed: 11 })
        .apply([3, g * 3])
        .arraySync(),
    );
    const recurrent = tf.tidy(() =>
      tf.initializers
        .orthogonal({ seed: 12 })
        .apply([3, g * 3])
        .arraySync(),
    );
    t.same(flat(weights.keras[0].kernel), flat(kernel), `${name}: kernel = tfjs glorotUniform([3, ${g}·3])`);
    t.same(flat(weights.keras[0].recurrentKernel), flat(recurrent), `${name}: recurrent kernel = tfjs orthogonal`);
    if (model.cell === 'lstm') t.same(weights.keras[0].bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0], 'forget bias 1');
    else if (!('resetAfter' in model)) t.same(weights.keras[0].bias, [new Array(9).fill(0), new Array(9).fill(0)]);
    const seeded = ok(t, await post(app, '/rnn/forward', { ...description, inputs }));
    const { seed: _seed, hiddenSize: _h, ...options } = description;
    const sources: Record<string, unknown>[] = [{ weights: weights.keras }, { onnxWeights: weights.onnx }];
    if (weights.pytorch === null) t.ok('resetAfter' in model, `${name}: no PyTorch layout only for resetAfter false`);
    else sources.push({ pytorchWeights: weights.pytorch });
    for (const source of sources) {
      const body = ok(t, await post(app, '/rnn/forward', { ...options, ...source, inputs }));
      const via = Object.keys(source)[0];
      t.same(body.outputs, seeded.outputs, `${name} via ${via}: identical outputs`);
      t.same(body.states, seeded.states, `${name} via ${via}: identical states`);
      t.same(body.cellStates, seeded.cellStates, `${name} via ${via}: identical cell states`);
      const back = ok(t, await post(app, '/rnn/weights', { ...options, ...source, inputDim: 3 }));
      t.equal(back.digest.value, weights.digest.value, `${name} via ${via}: the same digest`);
    }
  }
  const plain = ok(t, await post(app, '/rnn/weights', { inputDim: 2, hiddenSize: 2, seed: 1 }));
  t.notMatch(plain.digest.covers, /G·/, "a SimpleRNN model's digest description is unchanged");
  t.notOk('cell' in plain.model.layers[0]);
});

t.test('the seeded weights cache tells cells and their bias options apart', async (t) => {
  const { app } = await build(t);
  const digest = async (extra: object) =>
    ok(t, await post(app, '/rnn/weights', { inputDim: 2, hiddenSize: 2, seed: 5, ...extra })).digest.value;
  const lstm = await digest({ cell: 'lstm' });
  const lstmNoForget = await digest({ cell: 'lstm', unitForgetBias: false });
  const lstmNoBias = await digest({ cell: 'lstm', useBias: false });
  const gru = await digest({ cell: 'gru' });
  const gruBefore = await digest({ cell: 'gru', resetAfter: false });
  t.equal(new Set([lstm, lstmNoForget, lstmNoBias, gru, gruBefore, await digest({})]).size, 6, 'six sets');
  t.equal(await digest({ cell: 'lstm' }), lstm, 'and the first again, from the cache');
});

t.test('a large LSTM request computed on a worker equals the same inline', async (t) => {
  const pooled = await build(t, { pool: { threads: 1, minCompute: 0, minBodyBytes: 0 } });
  const inline = await build(t, { pool: { threads: 0 } });
  const request = {
    inputs: randomNested(rng(9), [8, 20, 6]),
    layers: [
      { hiddenSize: 16, cell: 'lstm' },
      { hiddenSize: 8, cell: 'gru' },
      { hiddenSize: 8, cell: 'lstm' },
    ],
    bidirectional: { mergeMode: 'concat' },
    seed: 2,
    initialCellState: randomNested(rng(10), [4, 8, 8], 0.5).map((s: number[][], i: number) =>
      i < 2 ? s.map((row) => [...row, ...row]) : s,
    ),
  };
  const a = await post(pooled.app, '/rnn/forward', request);
  const b = await post(inline.app, '/rnn/forward', request);
  t.equal(a.statusCode, 200, a.body.slice(0, 300));
  t.equal(a.body, b.body, 'byte for byte');
  t.equal(a.json().cellStates.length, 4);
});

t.test('every new 400 names its field', async (t) => {
  const { app } = await build(t);
  const inputs = [[[1, 0]]];
  const cases: [unknown, string, RegExp][] = [
    [{ inputs, hiddenSize: 2, cell: 'lstm', resetAfter: true }, 'resetAfter', /applies to gru only.*lstm/],
    [{ inputs, hiddenSize: 2, cell: 'gru', unitForgetBias: false }, 'unitForgetBias', /applies to lstm only.*gru/],
    [{ inputs, hiddenSize: 2, recurrentActivation: 'relu' }, 'recurrentActivation', /lstm and gru.*simpleRNN/],
    [
      {
        inputs,
        layers: [
          { hiddenSize: 2, cell: 'lstm' },
          { hiddenSize: 2, resetAfter: false },
        ],
      },
      'layers[1].resetAfter',
      /layer 1 is simpleRNN/,
    ],
    [{ inputs, hiddenSize: 2, initialCellState: [[0, 0]] }, 'initialCellState', /lstm layers only.*has none/],
    [
      { inputs, hiddenSize: 2, cell: 'lstm', initialCellState: [[0, 0, 0]] },
      'initialCellState[0]',
      /has 3 entries; expected 2 \(hiddenSize of layer 0\)/,
    ],
    [
      { inputs, layers: [{ hiddenSize: 2, cell: 'lstm' }, { hiddenSize: 2 }], initialCellState: [[[0, 0]], [[0, 0]]] },
      'initialCellState',
      /expected 1.*lstm/,
    ],
    [{ inputs, hiddenSize: 2, cell: 'cnn' }, 'cell', /simpleRNN|lstm|gru/],
    [
      {
        inputs,
        cell: 'lstm',
        weights: {
          kernel: [
            [1, 2],
            [3, 4],
          ],
          recurrentKernel: [[1, 2]],
          bias: [0, 0],
        },
      },
      'weights.kernel',
      /expected \[2, 4\]/,
    ],
    [
      {
        inputs,
        cell: 'lstm',
        weights: {
          kernel: [new Array(8).fill(0), new Array(8).fill(0)],
          recurrentKernel: [new Array(8).fill(0), new Array(8).fill(0)],
          bias: [0, 0],
        },
      },
      'weights.bias',
      /is \[2\]; expected \[8\]/,
    ],
    [
      {
        inputs,
        cell: 'gru',
        weights: {
          kernel: [new Array(3).fill(0), new Array(3).fill(0)],
          recurrentKernel: [[0, 0, 0]],
          bias: [0, 0, 0],
        },
      },
      'weights.bias',
      /expected \[2, 3\].*resetAfter true/,
    ],
    [
      {
        inputs,
        cell: 'gru',
        resetAfter: false,
        pytorchWeights: {
          weight_ih_l0: [
            [0, 0],
            [0, 0],
            [0, 0],
          ],
          weight_hh_l0: [[0], [0], [0]],
        },
      },
      'resetAfter',
      /PyTorch nn.GRU/,
    ],
    [
      {
        inputs,
        cell: 'lstm',
        pytorchWeights: {
          weight_ih_l0: [
            [0, 0],
            [0, 0],
            [0, 0],
          ],
          weight_hh_l0: [[0], [0], [0]],
        },
      },
      'pytorchWeights.weight_hh_l0',
      /expected \[4, 1\].*i, f, g, o/,
    ],
    [
      {
        inputs,
        cell: 'lstm',
        onnxWeights: [
          {
            W: [
              [
                [0, 0],
                [0, 0],
                [0, 0],
                [0, 0],
              ],
            ],
            R: [[[0], [0], [0], [0]]],
            P: [[0, 0.5, 0]],
          },
        ],
      },
      'onnxWeights[0].P[0][1]',
      /peepholes/,
    ],
    [{ inputs, onnxWeights: [{ W: [[[0, 0]]], R: [[[0]]], P: [[0, 0, 0]] }] }, 'onnxWeights[0].P', /LSTM nodes/],
  ];
  for (const [payload, path, message] of cases) {
    const res = await post(app, '/rnn/forward', payload);
    t.equal(res.statusCode, 400, `${path}: ${res.body.slice(0, 300)}`);
    const body = res.json();
    t.equal(body.errors?.[0]?.path, path, `the path ${path}`);
    t.match(body.errors?.[0]?.message, message, `${path}: ${body.errors?.[0]?.message}`);
  }
  const zeroPeepholes = await post(app, '/rnn/forward', {
    inputs,
    cell: 'lstm',
    onnxWeights: [
      {
        W: [
          [
            [0, 0],
            [0, 0],
            [0, 0],
            [0, 0],
          ],
        ],
        R: [[[0], [0], [0], [0]]],
        P: [[0, 0, 0]],
      },
    ],
  });
  t.equal(zeroPeepholes.statusCode, 200, 'all-zero P is no peephole: accepted');
});

t.test('the limits count a gated cell G times, and an LSTM answer its cell states', async (t) => {
  const { app } = await build(t, { limits: { maxCompute: 5000, maxOutputValues: 10 } });
  const inputs = randomNested(rng(12), [1, 10, 2]);
  // SimpleRNN: 10·(2 + 8)·8 = 800 for the pass, 6·8³ = 3072 to build; an LSTM is 4 times both (15,488).
  const plain = await post(app, '/rnn/forward', { inputs, hiddenSize: 8, returnSequences: false, returnState: false });
  t.equal(plain.statusCode, 200, plain.body.slice(0, 300));
  const lstm = await post(app, '/rnn/forward', {
    inputs,
    hiddenSize: 8,
    cell: 'lstm',
    returnSequences: false,
    returnState: false,
  });
  t.equal(lstm.statusCode, 400);
  t.match(lstm.json().errors[0].message, /G·hiddenSize = 1·10·\(2 \+ 8\)·4·8, plus 12288 .*6·G·hiddenSize³.* is 15488/);
  const weights = await post(app, '/rnn/weights', { inputDim: 2, hiddenSize: 12, cell: 'gru' });
  t.equal(weights.statusCode, 400);
  t.match(weights.json().errors[0].message, /6·G·hiddenSize³ .*G gates.* is 31104/);
  // One step of 4 units: outputs and h are 8 values, within 10; with c, 12.
  const step = randomNested(rng(13), [1, 1, 2]);
  t.equal((await post(app, '/rnn/forward', { inputs: step, hiddenSize: 4, cell: 'gru' })).statusCode, 200);
  const withC = await post(app, '/rnn/forward', { inputs: step, hiddenSize: 4, cell: 'lstm' });
  t.equal(withC.statusCode, 400);
  t.match(withC.json().errors[0].message, /answer's values .* is 12; the limit is 10/);
});

t.test('text input and zeroOutputForMask work with the gated cells', async (t) => {
  const { app } = await build(t);
  const oneHot = [...'hello'].map((c) => [...'helo'].map((x) => (x === c ? 1 : 0)));
  for (const cell of ['lstm', 'gru'] as const) {
    const text = ok(t, await post(app, '/rnn/forward', { text: ['hello'], hiddenSize: 3, seed: 1, cell }));
    const numbers = ok(t, await post(app, '/rnn/forward', { inputs: [oneHot], hiddenSize: 3, seed: 1, cell }));
    t.same(text.outputs, numbers.outputs, `${cell}: text is its one-hot inputs`);
    t.same(text.cellStates, numbers.cellStates);
    const masked = { inputs: [oneHot], hiddenSize: 3, seed: 1, cell, lengths: [3] };
    const repeat = ok(t, await post(app, '/rnn/forward', masked));
    const zero = ok(t, await post(app, '/rnn/forward', { ...masked, zeroOutputForMask: true }));
    t.same(repeat.outputs[0][4], repeat.outputs[0][2], `${cell}: a masked step repeats the last valid output`);
    t.same(zero.outputs[0][4], [0, 0, 0], `${cell}: or is zero with zeroOutputForMask`);
    t.same(zero.states, repeat.states, `${cell}: the states are carried either way`);
    t.same(zero.cellStates, repeat.cellStates);
  }
});
