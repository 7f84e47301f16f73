/**
 * The SimpleRNN forward pass, Keras semantics: h_t = tanh(x_t · W + h_{t-1} · U + b).
 *
 * Layouts (row-major, flat typed arrays):
 *   inputs          [batch, time, inputDim]      float32
 *   kernel  W       [inputDim, hiddenSize]       float32 (Keras layout)
 *   recurrentKernel [hiddenSize, hiddenSize]     float32 (Keras layout)
 *   bias    b       [hiddenSize]                 float32
 *   initialState    [batch, hiddenSize]          float32, or null for zeros
 *   outputs         [batch, time, hiddenSize]    float32 (every step)
 *   states          [batch, hiddenSize]          float32 (state after the last step)
 *
 * Float32 semantics as in Keras: every stored tensor is float32 and the state carried from one step to the
 * next is the float32 output. Each pre-activation is accumulated in float64 (bias, then the input terms in
 * feature order, then the recurrent terms in unit order) and rounded once, after the activation. The naive
 * reference in `reference.ts` adds in exactly that order, so the two agree bit for bit.
 */

export interface SimpleRnnWeights {
  readonly inputDim: number;
  readonly hiddenSize: number;
  /** [inputDim, hiddenSize] */
  readonly kernel: Float32Array;
  /** [hiddenSize, hiddenSize] */
  readonly recurrentKernel: Float32Array;
  /** [hiddenSize] */
  readonly bias: Float32Array;
}

export interface SimpleRnnResult {
  /** [batch, time, hiddenSize] */
  readonly outputs: Float32Array;
  /** [batch, hiddenSize] */
  readonly states: Float32Array;
}

export type Shape3 = readonly [batch: number, time: number, features: number];

/** Throws when the arrays do not have the sizes their shapes promise: a programming error, not user input. */
export function checkForwardArguments(
  inputs: Float32Array,
  shape: Shape3,
  weights: SimpleRnnWeights,
  initialState: Float32Array | null,
): void {
  const [batch, time, inputDim] = shape;
  const { hiddenSize } = weights;
  const expect = (name: string, actual: number, expected: number) => {
    if (actual !== expected) throw new RangeError(`${name} has ${actual} elements; expected ${expected}`);
  };
  if (inputDim !== weights.inputDim) {
    throw new RangeError(`inputs have ${inputDim} features; the kernel expects ${weights.inputDim}`);
  }
  expect('inputs', inputs.length, batch * time * inputDim);
  expect('kernel', weights.kernel.length, inputDim * hiddenSize);
  expect('recurrentKernel', weights.recurrentKernel.length, hiddenSize * hiddenSize);
  expect('bias', weights.bias.length, hiddenSize);
  if (initialState !== null) expect('initialState', initialState.length, batch * hiddenSize);
}

/**
 * The fast path: the input projection of every step at once (x · W + b for all batch·time rows, i-k-j loop
 * order so the kernel is read row by row), then the recurrence, which adds h_{t-1} · U row by row into the
 * projection and applies the activation. No allocation inside the time loop.
 */
export function simpleRnnForward(
  inputs: Float32Array,
  shape: Shape3,
  weights: SimpleRnnWeights,
  initialState: Float32Array | null = null,
): SimpleRnnResult {
  checkForwardArguments(inputs, shape, weights, initialState);
  const [batch, time, inputDim] = shape;
  const { hiddenSize, kernel, recurrentKernel, bias } = weights;
  const rows = batch * time;

  // pre [batch·time, hiddenSize], float64: bias + inputs · kernel
  const pre = new Float64Array(rows * hiddenSize);
  for (let r = 0; r < rows; r++) {
    const preRow = r * hiddenSize;
    for (let j = 0; j < hiddenSize; j++) pre[preRow + j] = bias[j];
    const inRow = r * inputDim;
    for (let i = 0; i < inputDim; i++) {
      const x = inputs[inRow + i];
      const kRow = i * hiddenSize;
      for (let j = 0; j < hiddenSize; j++) pre[preRow + j] += x * kernel[kRow + j];
    }
  }

  const outputs = new Float32Array(rows * hiddenSize);
  const states = new Float32Array(batch * hiddenSize);
  const zeros = new Float32Array(hiddenSize);
  for (let b = 0; b < batch; b++) {
    // prev[prevOffset ..]: the float32 state h_{t-1}, in the initial state or the previous output row.
    let prev = initialState ?? zeros;
    let prevOffset = initialState === null ? 0 : b * hiddenSize;
    for (let t = 0; t < time; t++) {
      const row = (b * time + t) * hiddenSize;
      for (let k = 0; k < hiddenSize; k++) {
        const h = prev[prevOffset + k];
        const uRow = k * hiddenSize;
        for (let j = 0; j < hiddenSize; j++) pre[row + j] += h * recurrentKernel[uRow + j];
      }
      for (let j = 0; j < hiddenSize; j++) outputs[row + j] = Math.tanh(pre[row + j]);
      prev = outputs;
      prevOffset = row;
    }
    states.set(prev.subarray(prevOffset, prevOffset + hiddenSize), b * hiddenSize);
  }
  return { outputs, states };
}
