/**
 * POST /rnn/weights and the three weight layouts: seeded weights follow the documented formula (checked
 * against tfjs's own initializers), every layout converts to the others and back exactly, and a model
 * sent in any layout computes the same outputs.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { randomNested, rng } from '../../../helpers/random.js';
import { tf } from '../../../helpers/tfjs.js';

/** Reads every number as float32, as a float32 client would (our JSON has each float32's shortest decimal). */
const f32 = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(f32);
  if (typeof v === 'number') return Math.fround(v);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f32(x)]));
  return v;
};

const INPUTS = randomNested(rng(3), [2, 4, 3], 1) as number[][][];

t.test('seeded stacks and bidirectional models follow the seed formula, bit for bit with tfjs', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/weights',
    payload: {
      inputDim: 3,
      seed: 10,
      layers: [{ hiddenSize: 4 }, { hiddenSize: 2 }],
      bidirectional: { mergeMode: 'concat' },
    },
  });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.keras.length, 4, 'layer 0 forward, layer 0 backward, layer 1 forward, layer 1 backward');
  const inputDims = [3, 3, 8, 8];
  const hidden = [4, 4, 2, 2];
  body.keras.forEach((cell: { kernel: number[][]; recurrentKernel: number[][]; bias: number[] }, i: number) => {
    const k = Math.floor(i / 2);
    const d = i % 2;
    const seed = 10 + 4 * k + 2 * d;
    const kernel = tf.tidy(() =>
      tf.initializers.glorotUniform({ seed }).apply([inputDims[i], hidden[i]]).arraySync(),
    ) as number[][];
    const recurrent = tf.tidy(() =>
      tf.initializers
        .orthogonal({ seed: seed + 1 })
        .apply([hidden[i], hidden[i]])
        .arraySync(),
    ) as number[][];
    // Our JSON carries the shortest decimal of each float32: reading it back as float32 must give tfjs's value.
    t.same(f32(cell.kernel), kernel, `layer ${k} direction ${d} kernel = glorotUniform(${seed})`);
    t.same(f32(cell.recurrentKernel), recurrent, `layer ${k} direction ${d} recurrent = orthogonal(${seed + 1})`);
    t.same(cell.bias, new Array(hidden[i]).fill(0));
  });
});

t.test('Keras → PyTorch/ONNX → Keras is exact, the digest is stable, and all layouts compute the same', async (t) => {
  const { app } = await build(t);
  const description = {
    layers: [{ hiddenSize: 3 }, { hiddenSize: 2, useBias: false, activation: 'relu' }],
    bidirectional: { mergeMode: 'sum' },
  };
  const random = rng(9);
  const keras = [
    {
      kernel: randomNested(random, [3, 3]),
      recurrentKernel: randomNested(random, [3, 3]),
      bias: randomNested(random, [3]),
    },
    {
      kernel: randomNested(random, [3, 3]),
      recurrentKernel: randomNested(random, [3, 3]),
      bias: randomNested(random, [3]),
    },
    { kernel: randomNested(random, [3, 2]), recurrentKernel: randomNested(random, [2, 2]) },
    { kernel: randomNested(random, [3, 2]), recurrentKernel: randomNested(random, [2, 2]) },
  ];
  const describe = async (weights: object) => {
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/weights',
      payload: { inputDim: 3, ...description, ...weights },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 200));
    return res.json();
  };
  const fromKeras = await describe({ weights: keras });
  t.same(f32(fromKeras.keras), keras, 'Keras in, the same Keras out');
  t.same(Object.keys(fromKeras.pytorch).sort(), [
    'bias_hh_l0',
    'bias_hh_l0_reverse',
    'bias_ih_l0',
    'bias_ih_l0_reverse',
    'weight_hh_l0',
    'weight_hh_l0_reverse',
    'weight_hh_l1',
    'weight_hh_l1_reverse',
    'weight_ih_l0',
    'weight_ih_l0_reverse',
    'weight_ih_l1',
    'weight_ih_l1_reverse',
  ]);
  t.same(
    f32(fromKeras.pytorch.weight_ih_l0),
    keras[0].kernel[0].map((_: number, j: number) => keras[0].kernel.map((r: number[]) => r[j])),
    'weight_ih = kernelᵀ',
  );
  t.same(fromKeras.onnx[1].W.length, 2, 'ONNX W has both directions');
  t.notOk('B' in fromKeras.onnx[1], 'no ONNX B for a layer without bias');

  const fromPytorch = await describe({ pytorchWeights: fromKeras.pytorch });
  const fromOnnx = await describe({ onnxWeights: fromKeras.onnx });
  t.same(f32(fromPytorch.keras), keras, 'Keras → PyTorch → Keras is exact');
  t.same(f32(fromOnnx.keras), keras, 'Keras → ONNX → Keras is exact');
  t.equal(fromPytorch.digest.value, fromKeras.digest.value);
  t.equal(fromOnnx.digest.value, fromKeras.digest.value);

  // The digest is sha256 over the float32 LE bytes, in the documented order.
  const bytes: number[] = [];
  const add = (values: number[]) => {
    const buffer = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
    bytes.push(...buffer);
  };
  keras.forEach((cell) => {
    add(cell.kernel.flat());
    add(cell.recurrentKernel.flat());
    if (cell.bias) add(cell.bias);
  });
  t.equal(fromKeras.digest.value, createHash('sha256').update(Buffer.from(bytes)).digest('hex'));
  t.equal(fromKeras.digest.algorithm, 'sha256');

  const run = async (weights: object) =>
    (
      await app.inject({ method: 'POST', url: '/rnn/forward', payload: { inputs: INPUTS, ...description, ...weights } })
    ).json();
  const a = await run({ weights: keras });
  t.same(await run({ pytorchWeights: fromKeras.pytorch }), a, 'PyTorch layout: the same answer');
  t.same(await run({ onnxWeights: fromKeras.onnx }), a, 'ONNX layout: the same answer');
});

t.test('PyTorch biases are summed; ONNX B is Wb then Rb', async (t) => {
  const { app } = await build(t);
  const pytorchWeights = {
    weight_ih_l0: [
      [1, 0],
      [0, 1],
    ],
    weight_hh_l0: [
      [0.5, 0],
      [0, 0.5],
    ],
    bias_ih_l0: [0.25, -1],
    bias_hh_l0: [0.5, 2],
  };
  const res = await app.inject({ method: 'POST', url: '/rnn/weights', payload: { inputDim: 2, pytorchWeights } });
  t.same(res.json().keras[0].bias, [0.75, 1]);
  const onnx = await app.inject({
    method: 'POST',
    url: '/rnn/weights',
    payload: {
      inputDim: 2,
      onnxWeights: [
        {
          W: [
            [
              [1, 0],
              [0, 1],
            ],
          ],
          R: [
            [
              [0.5, 0],
              [0, 0.5],
            ],
          ],
          B: [[0.25, -1, 0.5, 2]],
        },
      ],
    },
  });
  t.same(onnx.json().keras[0].bias, [0.75, 1]);
  const noBias = await app.inject({
    method: 'POST',
    url: '/rnn/weights',
    payload: {
      inputDim: 2,
      onnxWeights: [
        {
          W: [
            [
              [1, 0],
              [0, 1],
            ],
          ],
          R: [
            [
              [0.5, 0],
              [0, 0.5],
            ],
          ],
        },
      ],
    },
  });
  t.same(noBias.json().keras[0].bias, [0, 0], 'ONNX without B: zero bias, as ONNX defines');
});

t.test('wrong weights: 400 naming the tensor, its shape and the expected shape', async (t) => {
  const { app } = await build(t);
  const cases: [string, object, string, RegExp][] = [
    [
      'PyTorch unknown key',
      { inputDim: 2, pytorchWeights: { weight_ih_l0: [[1, 0]], weight_hh_l0: [[1]], weight_xx_l0: [[1]] } },
      'pytorchWeights.weight_xx_l0',
      /is not an nn.RNN parameter/,
    ],
    [
      'PyTorch missing',
      { inputDim: 2, pytorchWeights: { weight_ih_l0: [[1, 0]] } },
      'pytorchWeights.weight_hh_l0',
      /is missing/,
    ],
    [
      'PyTorch wrong shape',
      {
        inputDim: 2,
        pytorchWeights: { weight_ih_l0: [[1, 0, 3]], weight_hh_l0: [[1]], bias_ih_l0: [0], bias_hh_l0: [0] },
      },
      'pytorchWeights.weight_ih_l0',
      /is \[3, 1\]; expected \[2, 1\]/,
    ],
    [
      'PyTorch one bias',
      { inputDim: 2, pytorchWeights: { weight_ih_l0: [[1, 0]], weight_hh_l0: [[1]], bias_ih_l0: [0] } },
      'pytorchWeights.bias_hh_l0',
      /both biases or neither/,
    ],
    [
      'PyTorch reverse without bidirectional',
      { inputDim: 1, pytorchWeights: { weight_ih_l0_reverse: [[1]] } },
      'pytorchWeights.weight_ih_l0_reverse',
      /not bidirectional/,
    ],
    [
      'ONNX directions',
      { inputDim: 1, bidirectional: {}, onnxWeights: [{ W: [[[1]]], R: [[[1]], [[1]]] }] },
      'onnxWeights[0].W',
      /has 1 directions; expected 2/,
    ],
    [
      'ONNX B width',
      { inputDim: 1, onnxWeights: [{ W: [[[1]]], R: [[[1]]], B: [[1]] }] },
      'onnxWeights[0].B[0]',
      /expected 2 \(2·hiddenSize/,
    ],
    [
      'Keras bias missing',
      { inputDim: 1, weights: { kernel: [[1]], recurrentKernel: [[1]] } },
      'weights.bias',
      /is missing; the layer uses a bias/,
    ],
    [
      'Keras bias with useBias false',
      { inputDim: 1, useBias: false, weights: { kernel: [[1]], recurrentKernel: [[1]], bias: [1] } },
      'weights.bias',
      /useBias is false/,
    ],
    [
      'Keras cells for a bidirectional model',
      { inputDim: 1, bidirectional: {}, weights: [{ kernel: [[1]], recurrentKernel: [[1]], bias: [0] }] },
      'weights',
      /needs 2 per layer/,
    ],
    [
      'second layer kernel',
      {
        inputDim: 1,
        layers: [{ hiddenSize: 2 }, { hiddenSize: 1 }],
        weights: [
          {
            kernel: [[1, 1]],
            recurrentKernel: [
              [1, 0],
              [0, 1],
            ],
            bias: [0, 0],
          },
          { kernel: [[1]], recurrentKernel: [[1]], bias: [0] },
        ],
      },
      'weights[1].kernel',
      /is \[1, 1\]; expected \[2, 1\] \(the output features of layer 0\)/,
    ],
    [
      'layers and weights disagree',
      {
        inputDim: 1,
        layers: [{ hiddenSize: 1 }, { hiddenSize: 1 }],
        weights: [{ kernel: [[1]], recurrentKernel: [[1]], bias: [0] }],
      },
      'layers',
      /has 2 layers but the weights describe 1/,
    ],
    [
      'two sources',
      { inputDim: 1, hiddenSize: 1, seed: 3, onnxWeights: [] },
      'onnxWeights',
      /cannot be combined with seed/,
    ],
    [
      'shorthand with layers',
      { inputDim: 1, activation: 'relu', layers: [{ hiddenSize: 1 }] },
      'activation',
      /cannot be combined with layers; set it on each layer/,
    ],
    [
      'goBackwards with bidirectional',
      { inputDim: 1, hiddenSize: 2, goBackwards: true, bidirectional: {} },
      'goBackwards',
      /cannot be combined with bidirectional/,
    ],
    [
      'mergeMode null in a stack',
      { inputDim: 1, layers: [{ hiddenSize: 1 }, { hiddenSize: 1 }], bidirectional: { mergeMode: null } },
      'bidirectional.mergeMode',
      /only possible for a single layer/,
    ],
    [
      'too many layers',
      { inputDim: 1, layers: Array.from({ length: 9 }, () => ({ hiddenSize: 1 })) },
      'layers',
      /the limit is 8 \(MAX_LAYERS\)/,
    ],
    ['unknown activation', { inputDim: 1, hiddenSize: 1, activation: 'swish' }, 'activation', /expected one of/],
    ['clip not positive', { inputDim: 1, hiddenSize: 1, clip: 0 }, 'clip', />0/],
    ['inputDim over the limit', { inputDim: 5000, hiddenSize: 1 }, 'inputDim', /MAX_FEATURES/],
  ];
  for (const [name, payload, path, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/rnn/weights', payload });
    t.equal(res.statusCode, 400, `${name}: ${res.body.slice(0, 200)}`);
    t.match(res.headers['content-type'], /problem\+json/);
    const body = res.json();
    t.equal(body.errors?.[0]?.path, path, `${name}: path`);
    t.match(body.errors?.[0]?.message, message, `${name}: message`);
  }
});
