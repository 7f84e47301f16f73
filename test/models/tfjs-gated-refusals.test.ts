/**
 * The edges of the gated TF.js family: what we cannot honour in an LSTM or GRU layer stops start-up with one
 * line naming the file, the layer and the field (or the weight and both shapes); a field left out takes the
 * default of the tool that wrote the file, or is refused when that default is not known.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { build, configWith } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { maxAbsDiff } from '../helpers/tfjs.js';

const GATED = fileURLToPath(new URL('../fixtures/tfjs-gated/', import.meta.url));
const readJson = (name: string, file: string) => JSON.parse(readFileSync(join(GATED, name, file), 'utf8'));

/** A repository holding fixture `name` as `name/1`, its model.json changed. */
function repository(t: { teardown(fn: () => unknown): void }, name: string, change: (json: any) => void): string {
  const dir = modelsDir(t, {});
  cpSync(join(GATED, name), join(dir, name, '1'), { recursive: true });
  const json = readJson(name, 'model.json');
  change(json);
  writeFileSync(join(dir, name, '1', 'model.json'), JSON.stringify(json));
  return dir;
}

const topology = (json: any) => json.modelTopology.model_config ?? json.modelTopology;
const layers = (json: any) => topology(json).config.layers;
/** The config of layer k's recurrent layer (the wrapped one of a Bidirectional). */
const rnn = (json: any, k: number) => layers(json)[k].config.layer?.config ?? layers(json)[k].config;
const manifest = (json: any) => json.weightsManifest[0].weights;
/** As tensorflowjs_converter records Keras `version`. */
const keras = (version: string) => (json: any) => {
  json.generatedBy = `keras v${version}`;
  json.modelTopology.keras_version = version;
};

/** fixture, the change to its model.json, the one-line reason. */
const REFUSED: [string, string, (json: any) => void, RegExp][] = [
  [
    'a stateful LSTM',
    'lstm-state',
    (json) => (rnn(json, 1).stateful = true),
    /^layer 1 \(LSTM 'lstm_LSTM1'\): stateful is not supported$/,
  ],
  [
    'a stateful GRU in Bidirectional',
    'activations',
    (json) => {
      layers(json)[2].config.layer.class_name = 'GRU';
      rnn(json, 2).stateful = true;
    },
    /^layer 2 \(Bidirectional 'bidirectional_Bidirectional10'\): stateful is not supported$/,
  ],
  [
    'time_major',
    'gru-state',
    (json) => (rnn(json, 1).time_major = true),
    /^layer 1 \(GRU 'gru_GRU1'\): time_major is not supported \(inputs are \[batch, time, features\]\)$/,
  ],
  [
    'a kernel of the wrong shape',
    'lstm-state',
    (json) => (manifest(json)[0].shape = [3, 4]),
    /^weightsManifest: lstm_LSTM1\/kernel is \[3, 4\]; layer 1 \(LSTM 'lstm_LSTM1'\) kernel needs \[3, 16\]$/,
  ],
  [
    'a recurrent kernel of a GRU with the wrong gates',
    'activations',
    (json) => (manifest(json)[1].shape = [4, 16]),
    /^weightsManifest: gru_GRU3\/recurrent_kernel is \[4, 16\]; layer 1 \(GRU 'gru_GRU3'\) recurrent kernel needs \[4, 12\]$/,
  ],
  [
    'a backward LSTM bias of the wrong size',
    'bidirectional-lstm',
    (json) => (manifest(json)[5].shape = [3]),
    /^weightsManifest: bidirectional_Bidirectional8\/backward_lstm_LSTM2\/bias is \[3\]; layer 1 \(Bidirectional 'bidirectional_Bidirectional8'\) backward bias needs \[12\]$/,
  ],
  [
    "reset_after true on a GRU whose bias is TF.js's [3·units]",
    'gru-state',
    (json) => (rnn(json, 1).reset_after = true),
    /^weightsManifest: gru_GRU1\/bias is \[12\]; layer 1 \(GRU 'gru_GRU1'\) bias \(GRU reset_after true\) needs \[2, 12\]$/,
  ],
  [
    "reset_after false on a GRU whose bias is Keras 3's [2, 3·units]",
    'gru-reset-after',
    (json) => (rnn(json, 1).reset_after = false),
    /^weightsManifest: bidirectional\/forward_gru_0\/gru_cell\/bias is \[2, 15\]; layer 1 \(Bidirectional 'bidirectional'\) forward bias \(GRU reset_after false\) needs \[15\]$/,
  ],
  [
    'an unknown recurrent activation',
    'lstm-state',
    (json) => (rnn(json, 1).recurrent_activation = 'gelu'),
    /^layer 1 \(LSTM 'lstm_LSTM1'\): recurrent_activation 'gelu' is not supported \(tanh, relu, sigmoid, hardSigmoid, linear, elu, selu, softplus, softsign, relu6\)$/,
  ],
  [
    'an unknown activation of a GRU',
    'gru-state',
    (json) => (rnn(json, 1).activation = 'swish'),
    /^layer 1 \(GRU 'gru_GRU1'\): activation 'swish' is not supported \(tanh, /,
  ],
  [
    'softmax as a recurrent activation',
    'gru-state',
    (json) => (rnn(json, 1).recurrent_activation = 'softmax'),
    /^layer 1 \(GRU 'gru_GRU1'\): recurrent_activation 'softmax' is not supported/,
  ],
  [
    "Keras 3's hard_sigmoid (another function than TF.js's)",
    'gru-reset-after',
    (json) => {
      keras('3.5.0')(json);
      rnn(json, 2).recurrent_activation = 'hard_sigmoid';
    },
    /^layer 2 \(Bidirectional 'bidirectional_1'\): recurrent_activation 'hard_sigmoid' of Keras 3\.5\.0 is relu6\(x \+ 3\) \/ 6, not supported \(hardSigmoid here is TF\.js's and Keras 2's 0\.2·x \+ 0\.5, clipped\)$/,
  ],
  [
    'no recurrent_activation from an old Keras, whose default we do not know',
    'gru-reset-after',
    (json) => {
      keras('2.2.4')(json);
      delete rnn(json, 1).recurrent_activation;
    },
    /^layer 1 \(Bidirectional 'bidirectional'\): recurrent_activation is missing, and Keras 2\.2\.4 wrote the file, whose default we do not know; add recurrent_activation$/,
  ],
  [
    'no reset_after from Keras 2 (its default changed within Keras 2)',
    'gru-reset-after',
    (json) => delete rnn(json, 1).reset_after,
    /^layer 1 \(Bidirectional 'bidirectional'\): reset_after is missing, and Keras 2\.15\.0 wrote the file, whose default we do not know; add reset_after$/,
  ],
  [
    'a backward_layer with another activation',
    'gru-reset-after',
    (json) => {
      const layer = layers(json)[1].config.layer;
      layers(json)[1].config.backward_layer = {
        class_name: 'GRU',
        config: { ...layer.config, name: 'backward_gru', go_backwards: true, activation: 'relu' },
      };
    },
    /^layer 1 \(Bidirectional 'bidirectional'\) backward_layer: is not the forward layer run backwards \(activation "relu"\); supported: a backward layer like the forward one, with go_backwards the other way$/,
  ],
  [
    'a backward_layer going forwards too',
    'gru-reset-after',
    (json) => {
      const layer = layers(json)[2].config.layer;
      layers(json)[2].config.backward_layer = { class_name: 'GRU', config: { ...layer.config, name: 'backward_gru' } };
    },
    /^layer 2 \(Bidirectional 'bidirectional_1'\) backward_layer: is not the forward layer run backwards \(go_backwards false\); supported/,
  ],
  [
    'a backward_layer of another cell',
    'gru-reset-after',
    (json) => {
      const layer = layers(json)[1].config.layer;
      layers(json)[1].config.backward_layer = {
        class_name: 'LSTM',
        config: { ...layer.config, name: 'backward_lstm' },
      };
    },
    /^layer 1 \(Bidirectional 'bidirectional'\) backward_layer: LSTM is not the forward layer's cell \(gru\); supported: the same layer$/,
  ],
  [
    'a flag that is not a boolean',
    'lstm-state',
    (json) => (rnn(json, 1).go_backwards = 'yes'),
    /^layer 1 \(LSTM 'lstm_LSTM1'\): go_backwards is "yes"; expected true or false$/,
  ],
];

t.test('what we cannot honour stops start-up: one line naming the file, the layer and the field', async (t) => {
  for (const [name, fixture, change, reason] of REFUSED) {
    const dir = repository(t, fixture, change);
    const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
      (app) => app.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(error instanceof Error, `${name}: refused`);
    const message = (error as Error).message;
    const file = `${dir}/${fixture}/1/model.json: `;
    t.ok(message.startsWith(file), `${name}: names the file`);
    t.notOk(message.includes('\n'), `${name}: one line`);
    t.match(message.slice(file.length), reason, name);
  }
});

/** fixture, the change, what it shows; each is served as its oracle computed the unchanged file. */
const DEFAULTED: [string, (json: any) => void, string][] = [
  ['lstm-state', (json) => delete rnn(json, 1).recurrent_activation, 'TF.js wrote it: hardSigmoid gates'],
  [
    'gru-state',
    (json) => {
      delete rnn(json, 1).recurrent_activation;
      delete rnn(json, 1).reset_after;
    },
    'TF.js wrote it: hardSigmoid gates, reset_after false',
  ],
  [
    'gru-reset-after',
    (json) => {
      keras('3.1.0')(json);
      for (const k of [1, 2]) {
        delete rnn(json, k).recurrent_activation;
        delete rnn(json, k).reset_after;
      }
    },
    'Keras 3 wrote it: sigmoid gates, reset_after true',
  ],
  [
    'gru-reset-after',
    (json) => {
      // Keras 3 writes each Bidirectional's backward layer: the forward one with go_backwards true.
      for (const k of [1, 2]) {
        const layer = layers(json)[k].config.layer;
        layers(json)[k].config.backward_layer = {
          class_name: 'GRU',
          config: { ...layer.config, name: `backward_gru_${k}`, go_backwards: true },
        };
      }
    },
    'backward_layer written out, as Keras 3 does',
  ],
  [
    'activations',
    (json) => {
      // A hand-written file may use TF.js's own field names.
      const gru = rnn(json, 1);
      gru.recurrentActivation = gru.recurrent_activation;
      delete gru.recurrent_activation;
    },
    'recurrentActivation in camelCase',
  ],
];

t.test('a field left out takes the default of the tool that wrote the file', async (t) => {
  for (const [name, change, what] of DEFAULTED) {
    const expected = readJson(name, 'expected.json');
    const { app } = await build(t, { models: { dir: repository(t, name, change) } });
    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs, ...(expected.initialState ? { initialState: expected.initialState } : {}) },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.ok(maxAbsDiff(res.json().outputs, expected.outputs) < 1e-5, `${name}: ${what}`);
  }
});

t.test('a default that would change the answers is caught by the check above', async (t) => {
  // The same file with Keras's sigmoid in place of TF.js's hardSigmoid answers differently.
  const expected = readJson('lstm-state', 'expected.json');
  const dir = repository(t, 'lstm-state', (json) => (rnn(json, 1).recurrent_activation = 'sigmoid'));
  const { app } = await build(t, { models: { dir } });
  const res = await app.inject({
    method: 'POST',
    url: '/models/lstm-state/forward',
    payload: { inputs: expected.inputs },
  });
  t.equal(res.statusCode, 200);
  t.ok(maxAbsDiff(res.json().outputs, expected.outputs) > 1e-3, 'sigmoid is not hardSigmoid');
});
