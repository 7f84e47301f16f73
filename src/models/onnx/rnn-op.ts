/**
 * The ONNX `RNN` operator (opset 14: https://onnx.ai/onnx/operators/onnx__RNN.html) run by our engine, one
 * SimpleRNN pass per direction (recurrent-io.ts runRecurrentNode):
 *   X             [seq, batch, input] (layout 0) or [batch, seq, input] (layout 1)
 *   W             [dirs, hidden, input]      → each direction's Keras kernel [input, hidden] = W[d]ᵀ
 *   R             [dirs, hidden, hidden]     → recurrent kernel [hidden, hidden] = R[d]ᵀ
 *   B             [dirs, 2·hidden] optional  → bias Wb + Rb (zeros when absent)
 *   sequence_lens [batch] optional           → the engine's mask: step t of sequence b is valid when t < len[b]
 *   initial_h     [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) optional, else zeros
 *   Y             [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden])
 *   Y_h           [dirs, batch, hidden]      (layout 1: [batch, dirs, hidden])
 * `direction` reverse (and the second direction of bidirectional) is the engine's goBackwards: it reads a
 * sequence from its last valid step, and its outputs are put back in input order. Past a sequence's length Y
 * is 0 (the engine's zeroOutputForMask) and Y_h is the state after the last valid step (0 for a sequence of
 * length 0), as onnxruntime answers.
 *
 * Activations are mapped to the engine's where the definitions agree: Tanh, Relu, Sigmoid, Softsign,
 * HardSigmoid with its default alpha 0.2 and beta 0.5, Elu with alpha 1, Affine with alpha 1 and beta 0
 * (linear). Any other (LeakyRelu, ThresholdedRelu, ScaledTanh, Softplus, other alphas and betas) is refused at
 * load: the engine has no such function, and a near one would answer differently from onnxruntime. What RNN
 * shares with LSTM and GRU (attributes, activations, layouts) is in recurrent-io.ts.
 */
import type { ActivationName } from '../../engine/index.js';
import { Attributes } from './attributes.js';
import { type Operator, required } from './operator.js';
import {
  type Direction,
  directionsOf,
  expectMeta,
  readActivations,
  readRecurrentAttributes,
  recurrentCost,
  recurrentWorkBytes,
  runRecurrentNode,
  sequenceShape,
} from './recurrent-io.js';

export interface RnnSettings {
  readonly hiddenSize: number;
  readonly direction: Direction;
  /** One per direction. */
  readonly activations: readonly ActivationName[];
  readonly clip: number | null;
  readonly layout: 0 | 1;
}

export const RNN: Operator<RnnSettings> = {
  inputs: [3, 6],
  outputs: [0, 2],
  prepare(node) {
    const a = new Attributes(node, [
      'activation_alpha',
      'activation_beta',
      'activations',
      'clip',
      'direction',
      'hidden_size',
      'layout',
    ]);
    const attributes = readRecurrentAttributes(a);
    const activations = readActivations(a, directionsOf(attributes.direction), ['Tanh'], 'one per direction');
    return { ...attributes, activations };
  },
  infer({ hiddenSize, direction, layout }, inputs) {
    const dirs = directionsOf(direction);
    const [seq, batch, inputSize] = sequenceShape(required(inputs, 0, 'X'), layout);
    expectMeta(required(inputs, 1, 'W'), 'W', [dirs, hiddenSize, inputSize]);
    expectMeta(required(inputs, 2, 'R'), 'R', [dirs, hiddenSize, hiddenSize]);
    expectMeta(inputs[3] ?? null, 'B', [dirs, 2 * hiddenSize]);
    expectMeta(inputs[4] ?? null, 'sequence_lens', [batch], 'int');
    expectMeta(inputs[5] ?? null, 'initial_h', layout === 0 ? [dirs, batch, hiddenSize] : [batch, dirs, hiddenSize]);
    const y = layout === 0 ? [seq, dirs, batch, hiddenSize] : [batch, seq, dirs, hiddenSize];
    const yH = layout === 0 ? [dirs, batch, hiddenSize] : [batch, dirs, hiddenSize];
    return [
      { type: 'float', shape: y },
      { type: 'float', shape: yH },
    ];
  },
  cost: ({ hiddenSize, direction }, inputs) => recurrentCost('simpleRNN', hiddenSize, direction, inputs),
  workBytes: ({ hiddenSize, direction, layout }, inputs) =>
    recurrentWorkBytes({ cell: 'simpleRNN' }, hiddenSize, direction, layout, inputs),
  run(settings, inputs, outputs) {
    const directionCell = (d: number) => ({
      spec: { cell: 'simpleRNN' as const },
      activation: settings.activations[d],
    });
    return runRecurrentNode(settings, directionCell, inputs, outputs);
  },
};
