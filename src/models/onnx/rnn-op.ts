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
 * load: the engine has no such function, and a near one would answer differently from onnxruntime.
 * `activation_alpha`/`activation_beta` are consumed in order by the activations that take them, as onnxruntime
 * reads them; values left over are refused.
 */
import { type ActivationName, type SimpleRnnWeights, simpleRnnForward } from '../../engine/index.js';
import { Attributes, nodeLabel } from './attributes.js';
import { fail } from './decode.js';
import { type Operator, mismatch, required } from './operator.js';
import { type Tensor, type TensorMeta, formatShape, makeTensor } from './tensor.js';

type Direction = 'forward' | 'reverse' | 'bidirectional';

export interface RnnSettings {
  readonly hiddenSize: number;
  readonly direction: Direction;
  /** One per direction. */
  readonly activations: readonly ActivationName[];
  readonly clip: number | null;
  readonly layout: 0 | 1;
}

const PARAMETERS: Readonly<Record<string, { alpha?: number; beta?: number }>> = {
  Tanh: {},
  Relu: {},
  Sigmoid: {},
  Softsign: {},
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  Elu: { alpha: 1 },
  Affine: { alpha: 1, beta: 0 },
  LeakyRelu: { alpha: 0.01 },
  ThresholdedRelu: { alpha: 1 },
  ScaledTanh: { alpha: 1, beta: 1 },
  Softplus: {},
};

/** The engine's function for an ONNX activation with these parameters, or null when it has none. */
function engineActivation(name: string, alpha: number | undefined, beta: number | undefined): ActivationName | null {
  const f = Math.fround;
  if (name === 'Tanh') return 'tanh';
  if (name === 'Relu') return 'relu';
  if (name === 'Sigmoid') return 'sigmoid';
  if (name === 'Softsign') return 'softsign';
  if (name === 'HardSigmoid' && f(alpha as number) === f(0.2) && f(beta as number) === f(0.5)) return 'hardSigmoid';
  if (name === 'Elu' && alpha === 1) return 'elu';
  if (name === 'Affine' && alpha === 1 && beta === 0) return 'linear';
  return null;
}

function readActivations(a: Attributes, directions: number): ActivationName[] {
  const label = nodeLabel(a.node);
  const names = a.strings('activations') ?? Array.from({ length: directions }, () => 'Tanh');
  if (names.length !== directions)
    fail(`${label}: attribute 'activations' has ${names.length} entries; expected ${directions} (one per direction)`);
  const alphas = [...(a.floats('activation_alpha') ?? [])];
  const betas = [...(a.floats('activation_beta') ?? [])];
  const taking = { alpha: 0, beta: 0 };
  const out = names.map((name) => {
    const parameters = PARAMETERS[name];
    if (parameters === undefined)
      fail(`${label}: activation '${name}' is not an ONNX RNN activation (${Object.keys(PARAMETERS).join(', ')})`);
    const alpha = parameters.alpha === undefined ? undefined : (alphas.shift() ?? parameters.alpha);
    const beta = parameters.beta === undefined ? undefined : (betas.shift() ?? parameters.beta);
    if (parameters.alpha !== undefined) taking.alpha++;
    if (parameters.beta !== undefined) taking.beta++;
    const mapped = engineActivation(name, alpha, beta);
    if (mapped === null)
      fail(
        `${label}: activation '${name}'${alpha === undefined ? '' : ` with alpha ${alpha}`}${beta === undefined ? '' : ` and beta ${beta}`} is not supported ` +
          '(supported: Tanh, Relu, Sigmoid, Softsign, HardSigmoid with alpha 0.2 and beta 0.5, Elu with alpha 1, Affine with alpha 1 and beta 0)',
      );
    return mapped;
  });
  if (alphas.length > 0)
    fail(
      `${label}: attribute 'activation_alpha' has ${alphas.length} value(s) more than the activations take (${taking.alpha})`,
    );
  if (betas.length > 0)
    fail(
      `${label}: attribute 'activation_beta' has ${betas.length} value(s) more than the activations take (${taking.beta})`,
    );
  return out;
}

const directionsOf = (direction: Direction) => (direction === 'bidirectional' ? 2 : 1);

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
    const label = nodeLabel(node);
    const direction = a.string('direction', 'forward');
    if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional')
      fail(`${label}: attribute 'direction' is '${direction}'; expected forward, reverse or bidirectional`);
    const hiddenSize = a.requiredInt('hidden_size');
    if (hiddenSize < 1) fail(`${label}: attribute 'hidden_size' is ${hiddenSize}; expected at least 1`);
    const clip = a.optionalFloat('clip') ?? null;
    if (clip !== null && !(clip > 0)) fail(`${label}: attribute 'clip' is ${clip}; expected a positive number`);
    const layout = a.int('layout', 0);
    if (layout !== 0 && layout !== 1) fail(`${label}: attribute 'layout' is ${layout}; expected 0 or 1`);
    return { hiddenSize, direction, activations: readActivations(a, directionsOf(direction)), clip, layout };
  },
  infer({ hiddenSize, direction, layout }, inputs) {
    const dirs = directionsOf(direction);
    const x = required(inputs, 0, 'X');
    const expect = (meta: TensorMeta | null, name: string, shape: number[], type = 'float') => {
      if (meta == null) return;
      if (meta.type !== type || meta.shape.length !== shape.length || meta.shape.some((d, i) => d !== shape[i]))
        mismatch(`${name} is ${meta.type} ${formatShape(meta.shape)}; expected ${type} ${formatShape(shape)}`);
    };
    if (x.type !== 'float' || x.shape.length !== 3)
      mismatch(`X is ${x.type} ${formatShape(x.shape)}; expected float with 3 dimensions`);
    const [seq, batch, inputSize] = layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
    expect(required(inputs, 1, 'W'), 'W', [dirs, hiddenSize, inputSize]);
    expect(required(inputs, 2, 'R'), 'R', [dirs, hiddenSize, hiddenSize]);
    expect(inputs[3] ?? null, 'B', [dirs, 2 * hiddenSize]);
    expect(inputs[4] ?? null, 'sequence_lens', [batch], 'int');
    expect(inputs[5] ?? null, 'initial_h', layout === 0 ? [dirs, batch, hiddenSize] : [batch, dirs, hiddenSize]);
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

/** [seq, batch, input] → [batch, seq, input], the engine's layout. */
function batchMajor(x: Float32Array, seq: number, batch: number, inputSize: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let t = 0; t < seq; t++)
    for (let b = 0; b < batch; b++)
      out.set(x.subarray((t * batch + b) * inputSize, (t * batch + b + 1) * inputSize), (b * seq + t) * inputSize);
  return out;
}

/** sequence_lens → the engine's mask [batch, seq]; each length must be in [0, seq]. */
function lengthMask(lengths: Float32Array | Float64Array, batch: number, seq: number): Uint8Array {
  const mask = new Uint8Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    const length = lengths[b];
    if (!(Number.isInteger(length) && length >= 0 && length <= seq))
      mismatch(`sequence_lens[${b}] is ${length}; expected an integer in [0, ${seq}] (the sequence length)`, 4);
    mask.fill(1, b * seq, b * seq + length);
  }
  return mask;
}

/** Direction d's initial state [batch, hidden] from initial_h. */
function stateOf(h: Float32Array, d: number, dirs: number, batch: number, hidden: number, layout: 0 | 1): Float32Array {
  if (layout === 0) return h.subarray(d * batch * hidden, (d + 1) * batch * hidden);
  const out = new Float32Array(batch * hidden);
  for (let b = 0; b < batch; b++) out.set(h.subarray((b * dirs + d) * hidden, (b * dirs + d + 1) * hidden), b * hidden);
  return out;
}

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
