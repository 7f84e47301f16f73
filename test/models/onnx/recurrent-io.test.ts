/**
 * recurrent-io.ts: what RNN, LSTM and GRU nodes share. Held to the activations mapped to the engine's (alphas and
 * betas consumed in order, leftovers refused), the common attributes and their refusals, the layout moves worked
 * by hand (X to batch-major, sequence_lens to a mask, a direction's initial state, offsets into Y and Y_h), and the
 * cost formula.
 */
import t from 'tap';
import { Attributes } from '../../../src/models/onnx/attributes.js';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import { ShapeError } from '../../../src/models/onnx/operator.js';
import {
  batchMajor,
  directionsOf,
  expectMeta,
  lengthMask,
  readActivations,
  readRecurrentAttributes,
  recurrentCost,
  sequenceShape,
  stateOf,
  stateOffset,
  yOffset,
} from '../../../src/models/onnx/recurrent-io.js';
import { float, floats, int, onnxNode, string, strings } from '../../helpers/onnx-ops.js';

const ATTRIBUTES = ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout'];
const attributes = (given: Parameters<typeof onnxNode>[1]) =>
  new Attributes(onnxNode('LSTM', given, [], ['Y'], 'cell'), ATTRIBUTES);
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof OnnxModelError || error instanceof ShapeError) return error.message;
    throw error;
  }
  throw new Error('nothing was refused');
};

t.test('activations: defaults per direction, mapped to the engine, parameters in order', async (t) => {
  t.same(readActivations(attributes({}), 2, ['Sigmoid', 'Tanh', 'Tanh'], 'f, g, h'), [
    'sigmoid',
    'tanh',
    'tanh',
    'sigmoid',
    'tanh',
    'tanh',
  ]);
  const mapped = readActivations(
    attributes({
      activations: strings(['HardSigmoid', 'Elu', 'Affine', 'Softsign', 'Relu']),
      activation_alpha: floats([0.2, 1, 1]),
      activation_beta: floats([0.5, 0]),
    }),
    5,
    ['Tanh'],
    'one',
  );
  t.same(mapped, ['hardSigmoid', 'elu', 'linear', 'softsign', 'relu']);
  t.same(
    readActivations(attributes({ activations: strings(['HardSigmoid']) }), 1, ['Tanh'], 'one'),
    ['hardSigmoid'],
    "HardSigmoid's defaults, 0.2 and 0.5, are the engine's",
  );
  t.equal(
    refusal(() =>
      readActivations(
        attributes({ activations: strings(['HardSigmoid']), activation_alpha: floats([0.3]) }),
        1,
        ['Tanh'],
        'one',
      ),
    ),
    "node 'cell' (LSTM): activation 'HardSigmoid' with alpha 0.3 and beta 0.5 is not supported (supported: Tanh, Relu, Sigmoid, Softsign, HardSigmoid with alpha 0.2 and beta 0.5, Elu with alpha 1, Affine with alpha 1 and beta 0)",
  );
  t.equal(
    refusal(() => readActivations(attributes({ activations: strings(['Gelu']) }), 1, ['Tanh'], 'one')),
    "node 'cell' (LSTM): activation 'Gelu' is not an ONNX RNN activation (Tanh, Relu, Sigmoid, Softsign, HardSigmoid, Elu, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, Softplus)",
  );
  t.equal(
    refusal(() => readActivations(attributes({ activation_beta: floats([1]) }), 1, ['Tanh'], 'one')),
    "node 'cell' (LSTM): attribute 'activation_beta' has 1 value(s) more than the activations take (0)",
  );
  t.equal(
    refusal(() => readActivations(attributes({ activations: strings(['Tanh']) }), 2, ['Tanh'], 'one per direction')),
    "node 'cell' (LSTM): attribute 'activations' has 1 entries; expected 2 (one per direction)",
  );
});

t.test('direction, hidden_size, clip and layout', async (t) => {
  t.same(readRecurrentAttributes(attributes({ hidden_size: int(4) })), {
    hiddenSize: 4,
    direction: 'forward',
    clip: null,
    layout: 0,
  });
  t.same(
    readRecurrentAttributes(
      attributes({ hidden_size: int(2), direction: string('bidirectional'), clip: float(3), layout: int(1) }),
    ),
    { hiddenSize: 2, direction: 'bidirectional', clip: 3, layout: 1 },
  );
  t.same([directionsOf('forward'), directionsOf('reverse'), directionsOf('bidirectional')], [1, 1, 2]);
  const refused = (given: Parameters<typeof onnxNode>[1]) => refusal(() => readRecurrentAttributes(attributes(given)));
  t.equal(refused({}), "node 'cell' (LSTM): attribute 'hidden_size' is required");
  t.equal(refused({ hidden_size: int(0) }), "node 'cell' (LSTM): attribute 'hidden_size' is 0; expected at least 1");
  t.equal(
    refused({ hidden_size: int(1), direction: string('both') }),
    "node 'cell' (LSTM): attribute 'direction' is 'both'; expected forward, reverse or bidirectional",
  );
  t.equal(
    refused({ hidden_size: int(1), clip: float(-1) }),
    "node 'cell' (LSTM): attribute 'clip' is -1; expected a positive number",
  );
  t.equal(
    refused({ hidden_size: int(1), layout: int(2) }),
    "node 'cell' (LSTM): attribute 'layout' is 2; expected 0 or 1",
  );
});

t.test('shapes: expectMeta and sequenceShape', async (t) => {
  t.doesNotThrow(() => expectMeta(null, 'B', [1, 2]), 'an absent optional input');
  t.doesNotThrow(() => expectMeta({ type: 'float', shape: [1, 2] }, 'B', [1, 2]));
  t.equal(
    refusal(() => expectMeta({ type: 'float', shape: [2] }, 'sequence_lens', [2], 'int')),
    'sequence_lens is float [2]; expected int [2]',
  );
  t.same(sequenceShape({ type: 'float', shape: [5, 2, 3] }, 0), [5, 2, 3]);
  t.same(sequenceShape({ type: 'float', shape: [2, 5, 3] }, 1), [5, 2, 3]);
  t.equal(
    refusal(() => sequenceShape({ type: 'int', shape: [2, 5] }, 0)),
    'X is int [2, 5]; expected float with 3 dimensions',
  );
});

t.test('layout moves: batch-major X, the mask, initial states and offsets', async (t) => {
  // X [seq 2, batch 3, input 1] = t·10 + b → [batch, seq, input].
  t.same([...batchMajor(Float32Array.of(0, 1, 2, 10, 11, 12), 2, 3, 1)], [0, 10, 1, 11, 2, 12]);
  t.same([...lengthMask(Float64Array.of(2, 0, 1), 3, 2)], [1, 1, 0, 0, 1, 0]);
  t.equal(
    refusal(() => lengthMask(Float64Array.of(1, -1), 2, 2)),
    'sequence_lens[1] is -1; expected an integer in [0, 2] (the sequence length)',
  );
  // initial_h, 2 directions, batch 2, hidden 2: layout 0 [dirs, batch, hidden], layout 1 [batch, dirs, hidden].
  const h = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  t.same([...stateOf(h, 1, 2, 2, 2, 0)], [5, 6, 7, 8]);
  t.same([...stateOf(h, 1, 2, 2, 2, 1)], [3, 4, 7, 8]);
  const dims = { seq: 3, dirs: 2, batch: 2, hidden: 4 };
  t.equal(yOffset(0, 2, 1, 1, dims), ((2 * 2 + 1) * 2 + 1) * 4, '[seq, dirs, batch, hidden]');
  t.equal(yOffset(1, 2, 1, 1, dims), ((1 * 3 + 2) * 2 + 1) * 4, '[batch, seq, dirs, hidden]');
  t.equal(stateOffset(0, 1, 0, dims), 2 * 4);
  t.equal(stateOffset(1, 1, 0, dims), 4);
});

t.test('cost: G·dirs·seq·batch·hidden·(input + hidden)', async (t) => {
  const x = { type: 'float' as const, shape: [5, 2, 3] };
  t.equal(recurrentCost('simpleRNN', 4, 'forward', [x]), 5 * 2 * 4 * 7);
  t.equal(recurrentCost('lstm', 4, 'bidirectional', [x]), 4 * 2 * 5 * 2 * 4 * 7);
  t.equal(recurrentCost('gru', 1, 'reverse', [x]), 3 * 5 * 2 * 1 * 4);
});
