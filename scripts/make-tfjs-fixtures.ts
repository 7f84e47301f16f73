/**
 * Writes the TF.js RNN family of the lecture series, each model saved by @tensorflow/tfjs itself with seeded
 * initializers, into test/fixtures/tfjs-family/NAME/ (model.json, its shard, and expected.json: fixed inputs as
 * a request sends them and tfjs's own `model.predict` for them), and the example many-to-one model
 * models/next-char/1/ (trained here, deterministically, on the lecture's "hello"). Run:
 * node --import tsx scripts/make-tfjs-fixtures.ts
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveModel } from './tfjs-save.js';

await tf.setBackend('cpu');
const root = fileURLToPath(new URL('../', import.meta.url));
const fixtures = `${root}test/fixtures/tfjs-family/`;

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

/** Saves `model` as NAME with tfjs's predictions: outputs (output 0, or both with merge_mode null) and states. */
async function fixture(name: string, model: tf.LayersModel, ids = false, outputsAre = 1): Promise<void> {
  const target = `${fixtures}${name}/`;
  await saveModel(tf, model, target);
  const x = ids ? tf.tensor2d(IDS) : tf.tensor3d(INPUTS);
  const predicted = tf.tidy(() => {
    const result = model.predict(x);
    return (Array.isArray(result) ? result : [result]).map((t) => t.arraySync());
  });
  const expected = {
    inputs: ids ? IDS.map((sequence) => sequence.map((id) => [id])) : INPUTS,
    outputs: outputsAre === 1 ? predicted[0] : predicted.slice(0, outputsAre),
    ...(predicted.length > outputsAre ? { states: predicted.slice(outputsAre) } : {}),
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
