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
    recurrentKernel: tf.initializers.orthogonal({ seed: seed + 1 }).apply([hiddenSize, hiddenSize]).arraySync() as number[][],
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
