/**
 * Writes the TF.js RNN family of the lecture series, each model saved by @tensorflow/tfjs itself with seeded
 * initializers, into test/fixtures/tfjs-family/NAME/ (model.json, its shard, and expected.json: fixed inputs as
 * a request sends them and tfjs's own `model.predict` for them), the example many-to-one model
 * models/next-char/1/ (trained here, deterministically, on the lecture's "hello"), and the gated family (LSTM
 * and GRU layers) into test/fixtures/tfjs-gated/NAME/, plus one GRU with reset_after true, which TF.js cannot
 * build: written in tensorflowjs_converter's form from the committed PyTorch reference (PyTorch computed its
 * expected values). Run:
 * node --import tsx scripts/make-tfjs-fixtures.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveModel } from './tfjs-save.js';

await tf.setBackend('cpu');
const root = fileURLToPath(new URL('../', import.meta.url));
const fixtures = `${root}test/fixtures/tfjs-family/`;
const gatedFixtures = `${root}test/fixtures/tfjs-gated/`;

let lastSeed = 100;
/** The next layer's seed: every run makes the same weights. */
function nextSeed(): number {
  lastSeed += 10;
  return lastSeed;
}
/** Seeded initializers for one layer. */
function seeded() {
  const seed = nextSeed();
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 2 }),
  };
}
const rnn = (units: number, options: Partial<Parameters<typeof tf.layers.simpleRNN>[0]> = {}) =>
  tf.layers.simpleRNN({ units, returnSequences: true, ...seeded(), ...options }) as tf.RNN;
const dense = (units: number, activation: 'softmax' | 'linear' | 'relu' | 'tanh' = 'linear') => {
  const { kernelInitializer, biasInitializer } = seeded();
  return tf.layers.dense({ units, activation, kernelInitializer, biasInitializer });
};
const bidirectional = (layer: tf.RNN, mergeMode: 'concat' | 'sum' | 'mul' | 'ave' | null) =>
  tf.layers.bidirectional({ layer, mergeMode: mergeMode as 'concat' });

/** [2, 5, features] of fixed values in [-1, 1]. */
const FEATURES = 3;
const INPUTS = [0, 1].map((b) =>
  Array.from({ length: 5 }, (_, t) =>
    Array.from({ length: FEATURES }, (_, f) => Math.round(100 * Math.sin(1 + 7 * b + 3 * t + 1.7 * f)) / 100),
  ),
);
/** Token ids, id 0 padding (the second sequence has 3 steps). */
const IDS = [
  [1, 2, 3, 3, 4],
  [4, 3, 1, 0, 0],
];

/**
 * What model.predict's outputs after the merged output(s) are, in order: a final h, or an LSTM's final c (tfjs
 * lists an LSTM's [h, c], and Bidirectional the forward layer's states, then the backward one's).
 */
type StateKind = 'h' | 'c';

/**
 * Saves `model` as NAME with tfjs's predictions: outputs (output 0, or both with merge_mode null) and states.
 * With `stateKinds` (the gated family) into tfjs-gated/, the final h as `states` and an LSTM's c as `cellStates`.
 */
async function fixture(
  name: string,
  model: tf.LayersModel,
  ids = false,
  outputsAre = 1,
  stateKinds?: StateKind[],
  inputs = INPUTS,
): Promise<void> {
  const target = `${stateKinds === undefined ? fixtures : gatedFixtures}${name}/`;
  await saveModel(tf, model, target);
  const x = ids ? tf.tensor2d(IDS) : tf.tensor3d(inputs);
  const predicted = tf.tidy(() => {
    const result = model.predict(x);
    return (Array.isArray(result) ? result : [result]).map((t) => t.arraySync());
  });
  const rest = predicted.slice(outputsAre);
  if (stateKinds !== undefined && stateKinds.length !== rest.length)
    throw new Error(`${name}: predict gave ${rest.length} states; stateKinds lists ${stateKinds.length}`);
  const kind = (k: StateKind) => rest.filter((_, i) => stateKinds?.[i] === k);
  const states = stateKinds === undefined ? rest : kind('h');
  const expected = {
    inputs: ids ? IDS.map((sequence) => sequence.map((id) => [id])) : inputs,
    outputs: outputsAre === 1 ? predicted[0] : predicted.slice(0, outputsAre),
    ...(states.length > 0 ? { states } : {}),
    ...(kind('c').length > 0 ? { cellStates: kind('c') } : {}),
  };
  await writeFile(`${target}expected.json`, `${JSON.stringify(expected)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}

const sequential = (layers: tf.layers.Layer[]) => tf.sequential({ layers });
const input = (shape: (number | null)[]) => tf.layers.inputLayer({ inputShape: shape });
const embedding = () =>
  tf.layers.embedding({
    inputDim: 5,
    outputDim: 3,
    maskZero: true,
    inputShape: [null],
    embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: nextSeed() }),
  });

// Many-to-one: Embedding → SimpleRNN (last step) → Dense softmax.
await fixture('many-to-one', sequential([embedding(), rnn(4, { returnSequences: false }), dense(4, 'softmax')]), true);
// Stacked many-to-one: SimpleRNN (sequences) → Dropout → SimpleRNN (last step) → Dense.
await fixture(
  'stacked',
  sequential([
    rnn(5, { inputShape: [null, FEATURES] }),
    tf.layers.dropout({ rate: 0.3 }),
    rnn(4, { returnSequences: false }),
    dense(2),
  ]),
);
// Many-to-many tagger: SimpleRNN → TimeDistributed(Dense softmax).
await fixture(
  'tagger',
  sequential([rnn(4, { inputShape: [null, FEATURES] }), tf.layers.timeDistributed({ layer: dense(3, 'softmax') })]),
);
// Bidirectional many-to-many: Bidirectional(SimpleRNN, concat) → TimeDistributed(Dense).
await fixture(
  'bidirectional',
  sequential([
    tf.layers.bidirectional({ layer: rnn(3), mergeMode: 'concat', inputShape: [null, FEATURES] }),
    tf.layers.timeDistributed({ layer: dense(2, 'tanh') }),
  ]),
);
// Mixed stacks, each Bidirectional with its own merge mode, returning sequences or the last step.
await fixture(
  'mixed-sequences',
  sequential([
    input([null, FEATURES]),
    bidirectional(rnn(3), 'concat'),
    rnn(4),
    bidirectional(rnn(2, { activation: 'relu' }), 'ave'),
    tf.layers.timeDistributed({ layer: dense(2) }),
  ]),
);
await fixture(
  'mixed-last',
  sequential([
    input([null, FEATURES]),
    rnn(4),
    bidirectional(rnn(3), 'sum'),
    bidirectional(rnn(2, { returnSequences: false }), 'mul'),
    dense(3, 'softmax'),
  ]),
);
// merge_mode null leaves both directions' sequences: two outputs, so a functional model (Sequential refuses it).
{
  const x = tf.input({ shape: [null, FEATURES] });
  const h = rnn(3).apply(x) as tf.SymbolicTensor;
  const both = bidirectional(rnn(2), null).apply(h) as tf.SymbolicTensor[];
  await fixture('mixed-null', tf.model({ inputs: x, outputs: both }), false, 2);
}
// The layers around: InputLayer, SpatialDropout1D, Activation, Dropout at the end. (tfjs refuses Flatten on
// [batch, features], which Keras allows: the test adds one to this model.json, where it changes nothing.)
await fixture(
  'layers',
  sequential([
    input([null, FEATURES]),
    tf.layers.spatialDropout1d({ rate: 0.2 }),
    rnn(4),
    rnn(3, { returnSequences: false, activation: 'relu' }),
    tf.layers.activation({ activation: 'sigmoid' }),
    dense(3),
    tf.layers.activation({ activation: 'softmax' }),
    tf.layers.dropout({ rate: 0.5 }),
  ]),
);
// Functional models whose last recurrent layer returns its state(s) too: predict gives [outputs, states...].
{
  const x = tf.input({ shape: [null, FEATURES] });
  const h = rnn(4).apply(x) as tf.SymbolicTensor;
  const out = rnn(3, { returnSequences: false, returnState: true }).apply(h) as tf.SymbolicTensor[];
  await fixture('functional-state', tf.model({ inputs: x, outputs: out }));
}
{
  const x = tf.input({ shape: [null, FEATURES] });
  const out = bidirectional(rnn(3, { returnState: true }), 'concat').apply(x) as tf.SymbolicTensor[];
  await fixture('functional-bidirectional-state', tf.model({ inputs: x, outputs: out }));
}

// The example: which of the lecture's characters comes next, trained on the prefixes of "hello".
{
  const chars = 'helo';
  const id = (c: string) => chars.indexOf(c) + 1; // 0 is padding
  const prefixes = ['h', 'he', 'hel', 'hell'];
  const xs = tf.tensor2d(prefixes.map((p) => [...p.padEnd(4, ' ')].map((c) => (c === ' ' ? 0 : id(c)))));
  const ys = tf.oneHot(
    tf.tensor1d(
      [...'ello'].map((c) => chars.indexOf(c)),
      'int32',
    ),
    chars.length,
  );
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: chars.length + 1,
        outputDim: 4,
        maskZero: true,
        inputShape: [null],
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 7 }),
      }),
      tf.layers.simpleRNN({ units: 8, ...seeded() }),
      dense(chars.length, 'softmax'),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  await model.fit(xs, ys, { epochs: 150, batchSize: 4, shuffle: false, verbose: 0 });
  const target = `${root}models/next-char/1/`;
  await saveModel(tf, model, target);
  // Its classes, in output order, for topK answers and the inference protocol's classification extension.
  await writeFile(`${target}labels.txt`, `${[...chars].join('\n')}\n`);
  const inputs = prefixes.map((p) => [...p].map((c) => [id(c)]));
  const outputs = prefixes.map((p) =>
    tf.tidy(() => (model.predict(tf.tensor2d([[...p].map(id)])) as tf.Tensor).arraySync()),
  );
  await writeFile(`${fixtures}next-char.json`, `${JSON.stringify({ prefixes, inputs, outputs })}\n`);
  process.stdout.write(`wrote ${target}\n`);
}

// ---- The gated family: LSTM and GRU layers with tfjs's defaults (recurrentActivation hardSigmoid, GRU
// reset_after false) unless a fixture says otherwise. Seeds of their own, so the models above stay as they are.
lastSeed = 1000;
const lstm = (units: number, options: Partial<Parameters<typeof tf.layers.lstm>[0]> = {}) =>
  tf.layers.lstm({ units, returnSequences: true, ...seeded(), ...options }) as tf.RNN;
const gru = (units: number, options: Partial<Parameters<typeof tf.layers.gru>[0]> = {}) =>
  tf.layers.gru({ units, returnSequences: true, ...seeded(), ...options }) as tf.RNN;

// LSTM returning every step and its final h and c.
{
  const x = tf.input({ shape: [null, FEATURES] });
  const out = lstm(4, { returnState: true }).apply(x) as tf.SymbolicTensor[];
  await fixture('lstm-state', tf.model({ inputs: x, outputs: out }), false, 1, ['h', 'c']);
}
// GRU (tfjs: reset_after false) returning every step and its final h.
{
  const x = tf.input({ shape: [null, FEATURES] });
  const out = gru(4, { returnState: true }).apply(x) as tf.SymbolicTensor[];
  await fixture('gru-state', tf.model({ inputs: x, outputs: out }), false, 1, ['h']);
}
// Bidirectional(LSTM, ave) with its states: forward h, c, then backward h, c.
{
  const x = tf.input({ shape: [null, FEATURES] });
  const out = bidirectional(lstm(3, { returnState: true }), 'ave').apply(x) as tf.SymbolicTensor[];
  await fixture('bidirectional-lstm', tf.model({ inputs: x, outputs: out }), false, 1, ['h', 'c', 'h', 'c']);
}
// A stack mixing the three cells: SimpleRNN → LSTM (sigmoid gates, go_backwards) → Dropout → Bidirectional(GRU, mul).
{
  const x = tf.input({ shape: [null, FEATURES] });
  let h = rnn(4).apply(x) as tf.SymbolicTensor;
  h = lstm(3, { recurrentActivation: 'sigmoid', goBackwards: true }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: 0.3 }).apply(h) as tf.SymbolicTensor;
  const out = bidirectional(gru(2, { returnState: true }), 'mul').apply(h) as tf.SymbolicTensor[];
  await fixture('mixed-gated', tf.model({ inputs: x, outputs: out }), false, 1, ['h', 'h']);
}
// Many-to-one classifier: Embedding (mask_zero) → LSTM (last step) → Dense softmax.
await fixture(
  'lstm-classifier',
  sequential([embedding(), lstm(5, { returnSequences: false }), dense(3, 'softmax')]),
  true,
  1,
  [],
);
// Activations other than the defaults, and a GRU without bias, then Bidirectional(GRU, concat) → TimeDistributed.
await fixture(
  'activations',
  sequential([
    input([null, FEATURES]),
    gru(4, { activation: 'softsign', recurrentActivation: 'sigmoid', useBias: false }),
    bidirectional(lstm(3, { activation: 'relu', recurrentActivation: 'hardSigmoid', unitForgetBias: true }), 'concat'),
    tf.layers.timeDistributed({ layer: dense(2, 'tanh') }),
  ]),
  false,
  1,
  [],
);
// Masking (steps of zeros: one inside the first sequence, the last two of the second) → GRU →
// Bidirectional(LSTM, sum) with its states.
{
  const masked = INPUTS.map((sequence, b) =>
    sequence.map((step, t) => ((b === 0 && t === 2) || (b === 1 && t >= 3) ? step.map(() => 0) : step)),
  );
  const x = tf.input({ shape: [null, FEATURES] });
  let h = tf.layers.masking({ maskValue: 0 }).apply(x) as tf.SymbolicTensor;
  h = gru(3).apply(h) as tf.SymbolicTensor;
  const out = bidirectional(lstm(2, { returnState: true }), 'sum').apply(h) as tf.SymbolicTensor[];
  await fixture('masked', tf.model({ inputs: x, outputs: out }), false, 1, ['h', 'c', 'h', 'c'], masked);
}

// GRU with reset_after true: TF.js 4.22 cannot build one, so it is written as tensorflowjs_converter writes a
// Keras model (keras_version, class names, reset_after, bias [2, 3·units]) from PyTorch's nn.GRU reference,
// test/fixtures/torch-cells/gru.json (2 layers, bidirectional, concat). Its weights move over without
// arithmetic: PyTorch's weight_ih [3·h, in] in gate order r, z, n is the Keras kernel [in, 3·h] transposed with
// the blocks in order z, r, h; bias_ih and bias_hh become the bias's rows 0 (input) and 1 (recurrent).
{
  interface Flat {
    shape: number[];
    data: number[];
  }
  const torch = JSON.parse(await readFile(`${root}test/fixtures/torch-cells/gru.json`, 'utf8')) as {
    generator: string;
    inputSize: number;
    hiddenSize: number;
    numLayers: number;
    stateDict: Record<string, Flat>;
    input: Flat;
    h0: Flat;
    output: Flat;
    hN: Flat;
  };
  const h = torch.hiddenSize;
  /** Keras block g (z, r, h) is PyTorch block KERAS_TO_TORCH[g] (r, z, n). */
  const KERAS_TO_TORCH = [1, 0, 2];
  /** PyTorch [3·h, cols] → Keras [cols, 3·h], blocks reordered. */
  const kernel = (w: Flat) => {
    const cols = w.shape[1];
    const out = new Float32Array(cols * 3 * h);
    for (let g = 0; g < 3; g++)
      for (let j = 0; j < h; j++)
        for (let i = 0; i < cols; i++) out[i * 3 * h + g * h + j] = w.data[(KERAS_TO_TORCH[g] * h + j) * cols + i];
    return { shape: [cols, 3 * h], data: out };
  };
  const bias = (ih: Flat, hh: Flat) => {
    const out = new Float32Array(6 * h);
    for (const [row, b] of [ih, hh].entries())
      for (let g = 0; g < 3; g++)
        for (let j = 0; j < h; j++) out[row * 3 * h + g * h + j] = b.data[KERAS_TO_TORCH[g] * h + j];
    return { shape: [2, 3 * h], data: out };
  };
  const layers: unknown[] = [
    {
      class_name: 'InputLayer',
      config: { batch_input_shape: [null, null, torch.inputSize], dtype: 'float32', sparse: false, name: 'input_1' },
    },
  ];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const tensors: Float32Array[] = [];
  for (let k = 0; k < torch.numLayers; k++) {
    const name = k === 0 ? 'bidirectional' : `bidirectional_${k}`;
    const gruConfig = {
      name: `gru_${k}`,
      trainable: true,
      dtype: 'float32',
      return_sequences: true,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
      time_major: false,
      units: h,
      activation: 'tanh',
      recurrent_activation: 'sigmoid',
      use_bias: true,
      dropout: 0,
      recurrent_dropout: 0,
      implementation: 2,
      reset_after: true,
    };
    layers.push({
      class_name: 'Bidirectional',
      config: {
        name,
        trainable: true,
        dtype: 'float32',
        layer: { class_name: 'GRU', config: gruConfig },
        merge_mode: 'concat',
      },
    });
    for (const [direction, suffix] of [
      ['forward', ''],
      ['backward', '_reverse'],
    ]) {
      const state = (key: string) => torch.stateDict[`${key}_l${k}${suffix}`];
      for (const [weight, tensor] of [
        ['kernel', kernel(state('weight_ih'))],
        ['recurrent_kernel', kernel(state('weight_hh'))],
        ['bias', bias(state('bias_ih'), state('bias_hh'))],
      ] as const) {
        specs.push({ name: `${name}/${direction}_gru_${k}/gru_cell/${weight}`, shape: tensor.shape, dtype: 'float32' });
        tensors.push(tensor.data);
      }
    }
  }
  const target = `${gatedFixtures}gru-reset-after/`;
  await mkdir(target, { recursive: true });
  const shard = 'group1-shard1of1.bin';
  await writeFile(
    `${target}${shard}`,
    Buffer.concat(tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))),
  );
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: { class_name: 'Sequential', config: { name: 'sequential', layers } },
    },
    weightsManifest: [{ paths: [shard], weights: specs }],
  };
  await writeFile(`${target}model.json`, `${JSON.stringify(modelJson, null, 1)}\n`);
  /** A flat [d0, d1, d2] tensor as nested arrays. */
  const nest3 = (t: Flat) =>
    Array.from({ length: t.shape[0] }, (_, a) =>
      Array.from({ length: t.shape[1] }, (_, b) =>
        t.data.slice((a * t.shape[1] + b) * t.shape[2], (a * t.shape[1] + b + 1) * t.shape[2]),
      ),
    );
  const expected = {
    oracle: `PyTorch nn.GRU, ${torch.generator} (test/fixtures/torch-cells/gru.json)`,
    inputs: nest3(torch.input),
    // PyTorch's h0 [layers·directions, batch, h] is the initial state in our order: layer 0 forward, backward, ...
    initialState: nest3(torch.h0),
    outputs: nest3(torch.output),
    states: nest3(torch.hN),
  };
  await writeFile(`${target}expected.json`, `${JSON.stringify(expected)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}
