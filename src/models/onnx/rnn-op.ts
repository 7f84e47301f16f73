/**
 * The ONNX `RNN` operator (opset 14: https://onnx.ai/onnx/operators/onnx__RNN.html) run by our engine, one
 * simpleRnnForward per direction:
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
import { type ActivationName, type SimpleRnnWeights, simpleRnnForward } from '../../engine/index.js';
import { Attributes } from './attributes.js';
import { type Operator, required } from './operator.js';
import {
  type Direction,
  batchMajor,
  directionsOf,
  expectMeta,
  lengthMask,
  readActivations,
  readRecurrentAttributes,
  recurrentWorkBytes,
  sequenceShape,
  stateOf,
} from './recurrent-io.js';
import { type Tensor, type TensorMeta, makeTensor } from './tensor.js';

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
  cost({ hiddenSize, direction }, inputs) {
    const [a, b, inputSize] = (inputs[0] as TensorMeta).shape;
    return directionsOf(direction) * a * b * hiddenSize * (inputSize + hiddenSize);
  },
  workBytes: ({ hiddenSize, direction, layout }, inputs) =>
    recurrentWorkBytes({ cell: 'simpleRNN' }, hiddenSize, direction, layout, inputs),
  run(settings, inputs, outputs) {
    const { hiddenSize, direction, layout, activations, clip } = settings;
    const dirs = directionsOf(direction);
    const x = inputs[0] as Tensor;
    const [seq, batch, inputSize] = layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
    const sequence =
      layout === 0 ? batchMajor(x.data as Float32Array, seq, batch, inputSize) : (x.data as Float32Array);
    const lengths = inputs[4]?.data ?? null;
    const mask = lengths === null ? null : lengthMask(lengths, batch, seq);
    const y = makeTensor('float', outputs[0].shape);
    const yH = makeTensor('float', outputs[1].shape);
    for (let d = 0; d < dirs; d++) {
      const reverse = direction === 'reverse' || d === 1;
      const weights = directionWeights(inputs as (Tensor | null)[], d, hiddenSize, inputSize);
      const initialState =
        inputs[5] == null ? null : stateOf(inputs[5].data as Float32Array, d, dirs, batch, hiddenSize, layout);
      const { outputs: steps, states } = simpleRnnForward(sequence, [batch, seq, inputSize], weights, {
        activation: activations[d],
        goBackwards: reverse,
        clip,
        initialState,
        mask,
        zeroOutputForMask: true,
      });
      for (let b = 0; b < batch; b++) {
        for (let p = 0; p < seq; p++) {
          const t = reverse ? seq - 1 - p : p;
          const to = layout === 0 ? ((t * dirs + d) * batch + b) * hiddenSize : ((b * seq + t) * dirs + d) * hiddenSize;
          const from = (b * seq + p) * hiddenSize;
          y.data.set(steps.subarray(from, from + hiddenSize), to);
        }
        // A sequence of length 0 has no last step: onnxruntime answers a zero Y_h, not initial_h.
        if (lengths !== null && lengths[b] === 0) continue;
        const to = layout === 0 ? (d * batch + b) * hiddenSize : (b * dirs + d) * hiddenSize;
        yH.data.set(states.subarray(b * hiddenSize, (b + 1) * hiddenSize), to);
      }
    }
    return [y, yH];
  },
};

/**
 * Direction d's weights in the engine's (Keras) layout. Initializers are the same arrays on every request, so
 * the transposes are made once per W array and direction and kept while W lives.
 */
const converted = new WeakMap<
  Float32Array | Float64Array,
  Map<number, { r: unknown; b: unknown; weights: SimpleRnnWeights }>
>();

function directionWeights(inputs: (Tensor | null)[], d: number, hidden: number, inputSize: number): SimpleRnnWeights {
  const w = (inputs[1] as Tensor).data;
  const r = (inputs[2] as Tensor).data;
  const b = inputs[3]?.data ?? null;
  const memo = converted.get(w) ?? new Map();
  converted.set(w, memo);
  const hit = memo.get(d);
  if (hit !== undefined && hit.r === r && hit.b === b) return hit.weights;
  const kernel = new Float32Array(inputSize * hidden);
  const recurrentKernel = new Float32Array(hidden * hidden);
  const bias = new Float32Array(hidden);
  for (let j = 0; j < hidden; j++) {
    for (let i = 0; i < inputSize; i++) kernel[i * hidden + j] = w[(d * hidden + j) * inputSize + i];
    for (let k = 0; k < hidden; k++) recurrentKernel[k * hidden + j] = r[(d * hidden + j) * hidden + k];
    if (b !== null) bias[j] = b[d * 2 * hidden + j] + b[d * 2 * hidden + hidden + j];
  }
  const weights = { inputDim: inputSize, hiddenSize: hidden, kernel, recurrentKernel, bias };
  memo.set(d, { r, b, weights });
  return weights;
}
