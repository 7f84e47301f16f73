/**
 * rnn-op.ts: the ONNX RNN operator on the engine. Held to a one-unit RNN worked by hand (h_t = tanh(W·x_t + R·h +
 * Wb + Rb)) forward, reverse, with sequence_lens, an initial state, layout 1 and both directions; the output shapes
 * of either layout; the cost formula; and the refusals of its attributes and inputs.
 */
import t, { type Test } from 'tap';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import { ShapeError } from '../../../src/models/onnx/operator.js';
import { RNN } from '../../../src/models/onnx/rnn-op.js';
import { floatTensor, int, intTensor, metaOf, onnxNode, runOperator, string, strings } from '../../helpers/onnx-ops.js';

const f = Math.fround;
const tanh = (v: number) => f(Math.tanh(f(v)));
/** One unit, one feature: W 2, R 0.5, Wb + Rb = 0.3. */
const W = floatTensor([1, 1, 1], [2]);
const R = floatTensor([1, 1, 1], [0.5]);
const B = floatTensor([1, 2], [0.1, 0.2]);
const X = floatTensor([2, 1, 1], [1, -1]);
const near = (t: Test, actual: number[], expected: number[], what: string) =>
  t.ok(
    actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]) < 1e-6),
    `${what}: ${actual} ≈ ${expected}`,
  );
const node = (attributes = {}) => onnxNode('RNN', { hidden_size: int(1), ...attributes }, [], ['Y', 'Y_h'], 'rnn');

t.test('forward: Y [seq, dirs, batch, hidden] and Y_h', async (t) => {
  const h1 = tanh(2 * 1 + 0.3);
  const h2 = tanh(2 * -1 + 0.5 * h1 + 0.3);
  const [y, yH] = runOperator(RNN, node(), [X, W, R, B]);
  t.same(y.shape, [2, 1, 1, 1]);
  t.same(yH.shape, [1, 1, 1]);
  near(t, y.values, [h1, h2], 'Y');
  near(t, yH.values, [h2], 'Y_h');
  // No B: no bias. An initial state 1.
  const h1b = tanh(2 + 0.5);
  near(
    t,
    runOperator(RNN, node(), [X, W, R, null, null, floatTensor([1, 1, 1], [1])])[0].values,
    [h1b, tanh(-2 + 0.5 * h1b)],
    'initial_h, no bias',
  );
});

t.test('reverse reads from the end, Y in input order; sequence_lens masks and zeroes', async (t) => {
  const g1 = tanh(-2 + 0.3);
  const g2 = tanh(2 + 0.5 * g1 + 0.3);
  const [y, yH] = runOperator(RNN, node({ direction: string('reverse') }), [X, W, R, B]);
  near(t, y.values, [g2, g1], 'Y');
  near(t, yH.values, [g2], 'Y_h');
  const h1 = tanh(2.3);
  const [masked, maskedH] = runOperator(RNN, node(), [X, W, R, B, intTensor([1], [1])]);
  near(t, masked.values, [h1, 0], 'Y is 0 past the length');
  near(t, maskedH.values, [h1], 'Y_h is the last valid step');
  const [, empty] = runOperator(RNN, node(), [X, W, R, B, intTensor([1], [0]), floatTensor([1, 1, 1], [0.7])]);
  t.same(empty.values, [0], 'a sequence of length 0: Y_h 0, not the initial state');
  t.throws(() => runOperator(RNN, node(), [X, W, R, B, intTensor([1], [3])]), {
    constructor: ShapeError,
    message: 'sequence_lens[0] is 3; expected an integer in [0, 2] (the sequence length)',
  });
});

t.test('bidirectional and layout 1', async (t) => {
  const W2 = floatTensor([2, 1, 1], [2, 2]);
  const R2 = floatTensor([2, 1, 1], [0.5, 0.5]);
  const B2 = floatTensor([2, 2], [0.1, 0.2, 0.1, 0.2]);
  const h1 = tanh(2.3);
  const h2 = tanh(-2 + 0.5 * h1 + 0.3);
  const g1 = tanh(-1.7);
  const g2 = tanh(2 + 0.5 * g1 + 0.3);
  const [y, yH] = runOperator(RNN, node({ direction: string('bidirectional') }), [X, W2, R2, B2]);
  t.same(y.shape, [2, 2, 1, 1]);
  near(t, y.values, [h1, g2, h2, g1], 'Y: step 0 forward, step 0 backward, step 1 ...');
  near(t, yH.values, [h2, g2], 'Y_h: forward, then backward');
  // Layout 1: X [batch, seq, input]; Y [batch, seq, dirs, hidden]; Y_h [batch, dirs, hidden].
  const [y1, yH1] = runOperator(RNN, node({ layout: int(1) }), [floatTensor([1, 2, 1], [1, -1]), W, R, B]);
  t.same(
    [y1.shape, yH1.shape],
    [
      [1, 2, 1, 1],
      [1, 1, 1],
    ],
  );
  near(t, y1.values, [h1, h2], 'Y, layout 1');
});

t.test('the plan: shapes and cost before any data', async (t) => {
  const settings = RNN.prepare(node({ direction: string('bidirectional') }));
  const x = { type: 'float' as const, shape: [7, 3, 4] };
  const outputs = RNN.infer(settings, [x, { type: 'float', shape: [2, 1, 4] }, { type: 'float', shape: [2, 1, 1] }]);
  t.same(
    outputs.map((o) => o.shape),
    [
      [7, 2, 3, 1],
      [2, 3, 1],
    ],
  );
  t.equal(RNN.cost?.(settings, [x], outputs), 2 * 7 * 3 * 1 * (4 + 1), 'dirs·seq·batch·hidden·(input + hidden)');
  t.ok((RNN.workBytes?.(settings, [x, metaOf(W)]) ?? 0) > 7 * 3 * 4 * 4, 'at least the batch-major copy of X');
  t.throws(() => RNN.infer(RNN.prepare(node()), [metaOf(X), metaOf(floatTensor([1, 2, 1], [0, 0])), metaOf(R)]), {
    constructor: ShapeError,
    message: 'W is float [1, 2, 1]; expected float [1, 1, 1]',
  });
});

t.test('attributes refused at load', async (t) => {
  t.throws(() => RNN.prepare(node({ activations: strings(['LeakyRelu']) })), {
    constructor: OnnxModelError,
    message: /^node 'rnn' \(RNN\): activation 'LeakyRelu' with alpha 0.01 is not supported/,
  });
  t.throws(() => RNN.prepare(node({ activations: strings(['Tanh', 'Tanh']) })), {
    message: "node 'rnn' (RNN): attribute 'activations' has 2 entries; expected 1 (one per direction)",
  });
  t.throws(() => RNN.prepare(node({ peepholes: int(0) })), {
    message:
      "node 'rnn' (RNN): attribute 'peepholes' is not supported (supported: activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout)",
  });
  t.same(RNN.prepare(node({ activations: strings(['Relu']) })).activations, ['relu']);
});
