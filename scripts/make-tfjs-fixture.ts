/**
 * Writes test/fixtures/tfjs-model/ and test/fixtures/tfjs-embedding/: small models saved by @tensorflow/tfjs itself
 * (model.json in the TF.js
 * Layers format and its weight shard), with a few inputs and tfjs's own `model.predict` outputs for them, so
 * the repository's TF.js import is tested against what tfjs computes. Run: node --import tsx
 * scripts/make-tfjs-fixture.ts
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveModel } from './tfjs-save.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

await tf.setBackend('cpu');
// Seeded initializers: the fixture is the same every time it is made.
const seeded = (seed: number) => ({
  kernelInitializer: tf.initializers.glorotUniform({ seed }),
  biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 1 }),
});
const model = tf.sequential();
model.add(tf.layers.masking({ maskValue: 0, inputShape: [null, 4] }));
// Our network runs every recurrent layer one way or every layer both ways: this model is bidirectional throughout.
const rnn = (units: number, seed: number) =>
  tf.layers.simpleRNN({
    units,
    returnSequences: true,
    ...seeded(seed),
    recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 2 }),
  }) as tf.RNN;
model.add(tf.layers.bidirectional({ layer: rnn(5, 1), mergeMode: 'concat' }));
model.add(tf.layers.bidirectional({ layer: rnn(3, 4), mergeMode: 'concat' }));
model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 4, activation: 'relu', ...seeded(7) }) }));
model.add(tf.layers.dense({ units: 4, activation: 'softmax', ...seeded(9) }));

const target = `${fixtures}tfjs-model/`;
await saveModel(tf, model, target);
// Inputs with masked (all-zero) trailing steps, and what tfjs predicts for them.
const inputs = [
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ],
  [
    [0.5, -1, 0.25, 2],
    [1, 1, 0, -0.5],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ],
];
const predicted = tf.tidy(() => (model.predict(tf.tensor3d(inputs)) as tf.Tensor).arraySync());
await writeFile(`${target}expected.json`, `${JSON.stringify({ inputs, lengths: [5, 2], outputs: predicted })}\n`);

// Embedding (mask_zero: id 0 is padding) → SimpleRNN → Dense softmax; inputs are ids.
const embedder = tf.sequential();
embedder.add(
  tf.layers.embedding({
    inputDim: 6,
    outputDim: 3,
    maskZero: true,
    inputShape: [null],
    embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 21 }),
  }),
);
embedder.add(
  tf.layers.simpleRNN({
    units: 4,
    returnSequences: true,
    ...seeded(22),
    recurrentInitializer: tf.initializers.orthogonal({ seed: 24 }),
  }),
);
embedder.add(tf.layers.dense({ units: 6, activation: 'softmax', ...seeded(25) }));
const embeddingTarget = `${fixtures}tfjs-embedding/`;
await saveModel(tf, embedder, embeddingTarget);
const ids = [
  [1, 2, 3, 3, 4],
  [5, 1, 0, 0, 0],
];
const embeddedOutputs = tf.tidy(() => (embedder.predict(tf.tensor2d(ids)) as tf.Tensor).arraySync());
await writeFile(`${embeddingTarget}expected.json`, `${JSON.stringify({ ids, outputs: embeddedOutputs })}\n`);
process.stdout.write(`wrote ${target} and ${embeddingTarget}\n`);
