/**
 * tfjs-recurrent.ts reads a TF.js Layers file's recurrent layers into layer specs. Held to the writer found from
 * keras_version or generatedBy and its defaults (TF.js hardSigmoid and reset_after false; Keras 3 sigmoid and
 * true; Keras 2 and unknown writers requiring the field), activations by Keras or TF.js name, Keras 3's
 * hard_sigmoid refused, the fields read (snake_case or camelCase), and each refusal's message.
 */
import t from 'tap';
import { activationOf, isRecurrent, recurrentConfig, writerOf } from '../../src/models/tfjs-recurrent.js';
import { TfjsModelError } from '../../src/models/tfjs-topology.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TfjsModelError) return error.message;
    throw error;
  }
  throw new Error('nothing was refused');
};
const TFJS = writerOf({ modelTopology: { keras_version: 'tfjs-layers 4.22.0' } });
const KERAS3 = writerOf({ modelTopology: {}, generatedBy: 'keras v3.3.3' });
const KERAS2 = writerOf({ modelTopology: { keras_version: '2.15.0' } });
const UNKNOWN = writerOf({ modelTopology: {} });
const units = (value: unknown) => {
  if (typeof value !== 'number') throw new TfjsModelError(`units is ${JSON.stringify(value)}`);
  return value;
};

t.test('the writer and its defaults', async (t) => {
  t.same(TFJS, {
    name: 'TF.js (tfjs-layers 4.22.0)',
    recurrentActivation: 'hardSigmoid',
    resetAfter: false,
    keras3: false,
  });
  t.same(
    writerOf({ modelTopology: {}, generatedBy: 'TensorFlow.js tfjs-layers v4.1.0' }).name,
    'TF.js (tfjs-layers 4.1.0)',
  );
  t.same(KERAS3, { name: 'Keras 3.3.3', recurrentActivation: 'sigmoid', resetAfter: true, keras3: true });
  t.same(KERAS2, { name: 'Keras 2.15.0', recurrentActivation: 'sigmoid', resetAfter: null, keras3: false });
  t.same(writerOf({ modelTopology: { keras_version: '2.2.4' } }).recurrentActivation, null, 'before Keras 2.3');
  t.same(UNKNOWN, { name: 'an unknown writer', recurrentActivation: null, resetAfter: null, keras3: false });
  t.same(['SimpleRNN', 'LSTM', 'GRU', 'Dense'].map(isRecurrent), [true, true, true, false]);
});

t.test('activations by name; softmax where a Dense layer may have it', async (t) => {
  t.equal(activationOf('hard_sigmoid', 'l', false, TFJS), 'hardSigmoid');
  t.equal(activationOf(undefined, 'l', false, TFJS), 'linear');
  t.equal(activationOf('softmax', 'l', true, TFJS), 'softmax');
  t.match(
    refusal(() => activationOf('softmax', 'layer 1 (LSTM)', false, TFJS)),
    /^layer 1 \(LSTM\): activation 'softmax' is not supported \(/,
  );
  t.equal(
    refusal(() => activationOf('hard_sigmoid', 'layer 0 (GRU)', false, KERAS3, 'recurrent_activation')),
    "layer 0 (GRU): recurrent_activation 'hard_sigmoid' of Keras 3.3.3 is relu6(x + 3) / 6, not supported (hardSigmoid here is TF.js's and Keras 2's 0.2·x + 0.5, clipped)",
  );
  t.match(
    refusal(() => activationOf({ class_name: 'Custom' }, 'l', false, KERAS3)),
    /^l: activation '\{"class_name":"Custom"\}' is not supported/,
  );
});

t.test('a layer config read into a spec', async (t) => {
  const simple = recurrentConfig(
    { class_name: 'SimpleRNN', config: { units: 3, activation: 'relu', use_bias: false, return_sequences: true } },
    'layer 0',
    TFJS,
    units,
  );
  t.same(simple, {
    cell: 'simpleRNN',
    spec: { hiddenSize: 3, activation: 'relu', useBias: false, goBackwards: false },
    units: 3,
    useBias: false,
    returnSequences: true,
    returnState: false,
  });
  const lstm = recurrentConfig(
    { class_name: 'LSTM', config: { units: 2, goBackwards: true, unit_forget_bias: false, return_state: true } },
    'layer 1',
    TFJS,
    units,
  );
  t.same(lstm.spec, {
    hiddenSize: 2,
    activation: 'tanh',
    useBias: true,
    goBackwards: true,
    cell: 'lstm',
    recurrentActivation: 'hardSigmoid',
    unitForgetBias: false,
  });
  t.equal(lstm.returnState, true);
  t.same(recurrentConfig({ class_name: 'GRU', config: { units: 2 } }, 'l', KERAS3, units).spec, {
    hiddenSize: 2,
    activation: 'tanh',
    useBias: true,
    goBackwards: false,
    cell: 'gru',
    recurrentActivation: 'sigmoid',
    resetAfter: true,
  });
  t.equal(
    recurrentConfig({ class_name: 'GRU', config: { units: 2, recurrent_activation: 'sigmoid' } }, 'l', TFJS, units).spec
      .resetAfter,
    false,
    "TF.js's default",
  );
});

t.test('refusals', async (t) => {
  const read = (config: Record<string, unknown>, writer = TFJS, className = 'GRU') =>
    refusal(() => recurrentConfig({ class_name: className, config }, 'layer 2 (GRU)', writer, units));
  t.equal(read({ units: 2, stateful: true }), 'layer 2 (GRU): stateful is not supported');
  t.equal(
    read({ units: 2, time_major: true }),
    'layer 2 (GRU): time_major is not supported (inputs are [batch, time, features])',
  );
  t.equal(read({ units: 2, use_bias: 'yes' }), 'layer 2 (GRU): use_bias is "yes"; expected true or false');
  t.equal(
    read({ units: 2, recurrent_activation: 'sigmoid' }, KERAS2),
    'layer 2 (GRU): reset_after is missing, and Keras 2.15.0 wrote the file, whose default we do not know; add reset_after',
  );
  t.equal(
    read({ units: 2, reset_after: true }, UNKNOWN),
    'layer 2 (GRU): recurrent_activation is missing, and an unknown writer wrote the file, whose default we do not know; add recurrent_activation',
  );
  t.equal(read({ units: 2 }, TFJS, 'Dense'), 'layer 2 (GRU): Dense is not a recurrent layer');
  t.equal(read({ units: 'two' }), 'units is "two"', "units are the caller's to read");
});
