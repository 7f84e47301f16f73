/**
 * The reference: @tensorflow/tfjs `tf.layers.simpleRNN` (CPU backend) run on given weights, and tfjs's own
 * seeded initializers. Tests compare the service and the engine against these numbers.
 */
import * as tf from '@tensorflow/tfjs';

await tf.setBackend('cpu');

export interface KerasWeightsArrays {
  kernel: number[][];
  recurrentKernel: number[][];
  bias: number[];
}

/** Runs tfjs SimpleRNN (return_sequences and return_state) on `inputs` [batch][time][features]. */
export function tfjsSimpleRnn(
  inputs: number[][][],
  weights: KerasWeightsArrays,
  initialState?: number[][],
): { outputs: number[][][]; states: number[][] } {
  return tf.tidy(() => {
    const hiddenSize = weights.bias.length;
    const layer = tf.layers.simpleRNN({ units: hiddenSize, returnSequences: true, returnState: true });
    const x = tf.tensor3d(inputs);
    const args = initialState ? { initialState: [tf.tensor2d(initialState)] } : {};
    layer.apply(x, args); // builds the layer (random weights), which are then replaced
    layer.setWeights([tf.tensor2d(weights.kernel), tf.tensor2d(weights.recurrentKernel), tf.tensor1d(weights.bias)]);
    const [outputs, states] = layer.apply(x, args) as tf.Tensor[];
    return { outputs: outputs.arraySync() as number[][][], states: states.arraySync() as number[][] };
  });
}

/** tfjs's seeded weights for our contract: glorotUniform(seed), orthogonal(seed + 1), zero bias. */
export function tfjsSeededWeights(seed: number, inputDim: number, hiddenSize: number): KerasWeightsArrays {
  return tf.tidy(() => ({
    kernel: tf.initializers.glorotUniform({ seed }).apply([inputDim, hiddenSize]).arraySync() as number[][],
    recurrentKernel: tf.initializers
      .orthogonal({ seed: seed + 1 })
      .apply([hiddenSize, hiddenSize])
      .arraySync() as number[][],
    bias: new Array<number>(hiddenSize).fill(0),
  }));
}

/** Largest |a - b| over two nested arrays of the same shape (Infinity when the shapes differ). */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, maxAbsDiff(a[i], b[i]));
    return worst;
  }
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  return Infinity;
}

export { tf };

export interface TfjsLayer {
  hiddenSize: number;
  activation?: string;
  useBias?: boolean;
  goBackwards?: boolean;
}

export interface TfjsNetworkOptions {
  layers: TfjsLayer[];
  /** Every layer's cell (default simpleRNN; gru is tfjs's resetAfter-false GRU), gates' activation sigmoid. */
  cell?: 'simpleRNN' | 'lstm' | 'gru';
  /** undefined: unidirectional; otherwise the Keras merge mode (null returns both directions). */
  mergeMode?: 'concat' | 'sum' | 'mul' | 'ave' | null;
  /** Keras-layout cells in `get_weights()` order: layer 0 forward, layer 0 backward, layer 1 forward, ... */
  cells: { kernel: number[][]; recurrentKernel: number[][]; bias?: number[] }[];
  mask?: boolean[][];
  /**
   * One [batch, hidden] per layer and direction, in the same order as `cells`; for LSTM, h then c of each
   * direction (tfjs's order).
   */
  initialStates?: number[][][];
  returnSequences?: boolean;
}

/**
 * A stack of tfjs SimpleRNN layers (each optionally wrapped in tf.layers.bidirectional), applied eagerly
 * with the mask and initial states, every layer's states collected in cell order.
 */
export function tfjsNetwork(
  inputs: number[][][],
  options: TfjsNetworkOptions,
): { outputs: unknown; states: number[][][] } {
  return scoped(() => {
    const directions = options.mergeMode === undefined ? 1 : 2;
    let x: tf.Tensor = tf.tensor3d(inputs);
    const mask = options.mask
      ? tf.tensor2d(
          options.mask.map((row) => row.map((v) => (v ? 1 : 0))),
          undefined,
          'bool',
        )
      : undefined;
    const states: number[][][] = [];
    let outputs: unknown = null;
    options.layers.forEach((spec, k) => {
      const last = k === options.layers.length - 1;
      const cell = options.cell ?? 'simpleRNN';
      const make = cell === 'lstm' ? tf.layers.lstm : cell === 'gru' ? tf.layers.gru : tf.layers.simpleRNN;
      const rnn = make({
        ...(cell === 'simpleRNN'
          ? {}
          : { recurrentActivation: 'sigmoid' as const, recurrentInitializer: 'zeros' as const }),
        units: spec.hiddenSize,
        activation: (spec.activation ?? 'tanh') as 'tanh',
        useBias: spec.useBias ?? true,
        goBackwards: spec.goBackwards ?? false,
        returnSequences: last ? (options.returnSequences ?? true) : true,
        returnState: true,
      });
      const layer =
        directions === 1 ? rnn : tf.layers.bidirectional({ layer: rnn, mergeMode: options.mergeMode as 'concat' });
      const perCell = cell === 'lstm' ? 2 : 1;
      const initialState = options.initialStates
        ?.slice(k * directions * perCell, (k + 1) * directions * perCell)
        .map((state) => tf.tensor2d(state));
      // A fresh kwargs object per call: tfjs's Bidirectional rewrites kwargs.initialState in place.
      const kwargs = (): Record<string, unknown> => ({
        ...(mask ? { mask } : {}),
        ...(initialState ? { initialState: [...initialState] } : {}),
      });
      layer.apply(x, kwargs()); // builds the layer (random weights), which are then replaced
      const weights = options.cells
        .slice(k * directions, (k + 1) * directions)
        .flatMap((cell) => [
          tf.tensor2d(cell.kernel),
          tf.tensor2d(cell.recurrentKernel),
          ...(cell.bias ? [tf.tensor1d(cell.bias)] : []),
        ]);
      layer.setWeights(weights);
      const result = layer.apply(x, kwargs()) as tf.Tensor[];
      const outputCount = options.mergeMode === null ? 2 : 1;
      for (const state of result.slice(outputCount)) states.push(state.arraySync() as number[][]);
      if (last) {
        outputs = outputCount === 2 ? result.slice(0, 2).map((t) => t.arraySync()) : result[0].arraySync();
      } else {
        x = result[0];
      }
    });
    return { outputs, states };
  });
}

/** Runs `fn` in a tfjs scope that disposes every tensor made inside it (for results that are not tensors). */
function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

/** tf.sequential([masking({maskValue}), simpleRNN]) predicting on `inputs`: Keras masking of all-`maskValue` steps. */
export function tfjsMaskedSequential(
  inputs: number[][][],
  maskValue: number,
  cell: { kernel: number[][]; recurrentKernel: number[][]; bias: number[] },
) {
  return tf.tidy(() => {
    const [, time, features] = [inputs.length, inputs[0].length, inputs[0][0].length];
    const model = tf.sequential();
    model.add(tf.layers.masking({ maskValue, inputShape: [time, features] }));
    model.add(tf.layers.simpleRNN({ units: cell.bias.length, returnSequences: true }));
    model.layers[1].setWeights([tf.tensor2d(cell.kernel), tf.tensor2d(cell.recurrentKernel), tf.tensor1d(cell.bias)]);
    return (model.predict(tf.tensor3d(inputs)) as tf.Tensor).arraySync() as number[][][];
  });
}

export interface TfjsGatedOptions {
  activation?: string;
  recurrentActivation?: string;
  goBackwards?: boolean;
  mask?: boolean[][];
  /** [h0] for GRU, [h0, c0] for LSTM, each [batch][hidden]. */
  initialState?: number[][][];
}

/**
 * tfjs `tf.layers.lstm` or `tf.layers.gru` (return sequences and state) on given Keras-layout weights.
 * tfjs 4.22's GRU is the resetAfter-false formulation (bias [3·h]). recurrentActivation defaults to
 * 'sigmoid' here (tfjs's own default is 'hardSigmoid').
 */
export function tfjsGated(
  cell: 'lstm' | 'gru',
  inputs: number[][][],
  weights: { kernel: number[][]; recurrentKernel: number[][]; bias?: number[] },
  options: TfjsGatedOptions = {},
): { outputs: number[][][]; states: number[][][] } {
  return scoped(() => {
    const units = weights.recurrentKernel.length;
    const config = {
      units,
      activation: (options.activation ?? 'tanh') as 'tanh',
      recurrentActivation: (options.recurrentActivation ?? 'sigmoid') as 'sigmoid',
      useBias: weights.bias !== undefined,
      goBackwards: options.goBackwards ?? false,
      returnSequences: true,
      returnState: true,
      // The weights are replaced after the build: tfjs's default orthogonal initializer costs seconds there.
      kernelInitializer: 'zeros' as const,
      recurrentInitializer: 'zeros' as const,
    };
    const layer = cell === 'lstm' ? tf.layers.lstm(config) : tf.layers.gru(config);
    const x = tf.tensor3d(inputs);
    const mask = options.mask
      ? tf.tensor2d(
          options.mask.map((row) => row.map((v) => (v ? 1 : 0))),
          undefined,
          'bool',
        )
      : undefined;
    const kwargs = (): Record<string, unknown> => ({
      ...(mask ? { mask } : {}),
      ...(options.initialState ? { initialState: options.initialState.map((s) => tf.tensor2d(s)) } : {}),
    });
    layer.apply(x, kwargs()); // builds the layer (random weights), which are then replaced
    layer.setWeights([
      tf.tensor2d(weights.kernel),
      tf.tensor2d(weights.recurrentKernel),
      ...(weights.bias ? [tf.tensor1d(weights.bias)] : []),
    ]);
    const [outputs, ...states] = layer.apply(x, kwargs()) as tf.Tensor[];
    return {
      outputs: outputs.arraySync() as number[][][],
      states: states.map((s) => s.arraySync() as number[][]),
    };
  });
}
