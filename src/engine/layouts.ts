/**
 * Weight layouts of the three frameworks, and exact conversions between them. Keras is canonical.
 *
 *   Keras / TF.js   kernel W [inputDim, hidden], recurrentKernel U [hidden, hidden], bias b [hidden]
 *   PyTorch nn.RNN  weight_ih_l{k}[_reverse] [hidden, inputDim] = Wᵀ, weight_hh_l{k}[_reverse] = Uᵀ,
 *                   bias_ih_l{k}[_reverse] [hidden], bias_hh_l{k}[_reverse] [hidden]; b = bias_ih + bias_hh
 *   ONNX RNN        W [directions, hidden, inputDim] = Wᵀ per direction, R [directions, hidden, hidden] = Uᵀ,
 *                   B [directions, 2·hidden] = concat(Wb, Rb); b = Wb + Rb
 *
 * Keras → PyTorch/ONNX puts the whole bias in the input bias and zeros in the recurrent one, so converting
 * there and back is exact. The other way, the two biases are added in float32, as the frameworks add them.
 */
import { type CellName, gateCount, type RecurrentWeights } from './cells.js';

/** [rows, cols] → [cols, rows]. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Elementwise float32 sum of two biases. */
export function addBiases(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** The PyTorch state_dict key of a tensor: `weight_ih_l0`, `bias_hh_l1_reverse`, ... */
export function pytorchKey(
  kind: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh',
  layer: number,
  direction: number,
): string {
  return `${kind}_l${layer}${direction === 1 ? '_reverse' : ''}`;
}

/**
 * Gated cells. Each framework keeps the G gate blocks of h rows (PyTorch, ONNX: [G·h, inputDim] = Wᵀ with the
 * blocks stacked) or columns (Keras: [inputDim, G·h]) in its own order:
 *
 *             Keras        PyTorch nn.LSTM/nn.GRU          ONNX LSTM/GRU
 *   LSTM      i, f, c, o   i, f, g, o (g is Keras's c)    i, o, f, c
 *   GRU       z, r, h      r, z, n (n is Keras's h)        z, r, h
 *
 * Conversions reorder whole blocks, copying values without arithmetic. Biases: PyTorch has b_ih and b_hh,
 * ONNX B = [Wb, Rb], each [G·h] in its gate order. An LSTM's Keras bias is their float32 sum (as for
 * SimpleRNN; the way out puts it whole into b_ih / Wb). A GRU with resetAfter keeps both as its [2, 3·h]
 * bias, exactly: PyTorch's GRU is always that formulation, ONNX's when linear_before_reset = 1. A GRU
 * without resetAfter (ONNX linear_before_reset = 0) sums them like LSTM; PyTorch cannot express it.
 * ONNX peepholes (P) have no Keras counterpart: an importer must refuse a non-zero P.
 */

export const GATE_ORDERS = {
  simpleRNN: { keras: ['h'], pytorch: ['h'], onnx: ['h'] },
  lstm: { keras: ['i', 'f', 'c', 'o'], pytorch: ['i', 'f', 'c', 'o'], onnx: ['i', 'o', 'f', 'c'] },
  gru: { keras: ['z', 'r', 'h'], pytorch: ['r', 'z', 'h'], onnx: ['z', 'r', 'h'] },
} as const satisfies Record<CellName, Record<'keras' | 'pytorch' | 'onnx', readonly string[]>>;

/**
 * Reorders the gate blocks of `data` (G blocks of `blockSize` consecutive elements) from the order `from` to
 * the order `to`: a [G·h, cols] matrix has blocks of h·cols, a [G·h] bias blocks of h.
 */
export function reorderGates(
  data: Float32Array,
  from: readonly string[],
  to: readonly string[],
  blockSize: number,
): Float32Array {
  if (data.length !== from.length * blockSize)
    throw new RangeError(`${data.length} elements are not ${from.length} gate blocks of ${blockSize}`);
  const out = new Float32Array(data.length);
  to.forEach((gate, b) => {
    const at = from.indexOf(gate);
    out.set(data.subarray(at * blockSize, (at + 1) * blockSize), b * blockSize);
  });
  return out;
}

/** One direction of a PyTorch layer: weight_ih [G·h, inputDim], weight_hh [G·h, h], biases [G·h] or null. */
export interface PytorchCellTensors {
  readonly weightIh: Float32Array;
  readonly weightHh: Float32Array;
  readonly biasIh: Float32Array | null;
  readonly biasHh: Float32Array | null;
}

/** One direction of an ONNX node: W [G·h, inputDim], R [G·h, h], B [2·G·h] = [Wb, Rb] or null. */
export interface OnnxCellTensors {
  readonly W: Float32Array;
  readonly R: Float32Array;
  readonly B: Float32Array | null;
}

/** [G·h, cols] in `order` → Keras [cols, G·h]. */
function toKerasMatrix(data: Float32Array, order: readonly string[], cell: CellName, h: number, cols: number) {
  return transpose(reorderGates(data, order, GATE_ORDERS[cell].keras, h * cols), gateCount(cell) * h, cols);
}

/** Keras [cols, G·h] → [G·h, cols] in `order`. */
function fromKerasMatrix(data: Float32Array, order: readonly string[], cell: CellName, h: number, cols: number) {
  return reorderGates(transpose(data, cols, gateCount(cell) * h), GATE_ORDERS[cell].keras, order, h * cols);
}

/** The Keras bias from an input and a recurrent bias in `order` (either may be absent: zeros). */
function kerasBias(
  cell: CellName,
  h: number,
  order: readonly string[],
  input: Float32Array | null,
  recurrent: Float32Array | null,
  keepBoth: boolean,
): Float32Array {
  const n = gateCount(cell) * h;
  const keras = (b: Float32Array | null) =>
    b === null ? new Float32Array(n) : reorderGates(b, order, GATE_ORDERS[cell].keras, h);
  if (!keepBoth)
    return input === null || recurrent === null ? keras(input ?? recurrent) : addBiases(keras(input), keras(recurrent));
  const both = new Float32Array(2 * n);
  both.set(keras(input), 0);
  both.set(keras(recurrent), n);
  return both;
}

/** A PyTorch nn.RNN / nn.LSTM / nn.GRU direction as Keras weights (a GRU's as resetAfter). */
export function kerasFromPytorch(
  cell: CellName,
  tensors: PytorchCellTensors,
  inputDim: number,
  hiddenSize: number,
): RecurrentWeights {
  const order = GATE_ORDERS[cell].pytorch;
  return {
    inputDim,
    hiddenSize,
    kernel: toKerasMatrix(tensors.weightIh, order, cell, hiddenSize, inputDim),
    recurrentKernel: toKerasMatrix(tensors.weightHh, order, cell, hiddenSize, hiddenSize),
    bias: kerasBias(cell, hiddenSize, order, tensors.biasIh, tensors.biasHh, cell === 'gru'),
  };
}

/** Keras weights as a PyTorch direction; a GRU must be resetAfter (PyTorch has no other). */
export function pytorchFromKeras(cell: CellName, weights: RecurrentWeights, resetAfter = true): PytorchCellTensors {
  if (cell === 'gru' && !resetAfter)
    throw new RangeError(
      'PyTorch nn.GRU applies the reset gate after the recurrent product: only resetAfter true converts',
    );
  const { inputDim, hiddenSize: h } = weights;
  const order = GATE_ORDERS[cell].pytorch;
  const n = gateCount(cell) * h;
  const bias = (from: number) => reorderGates(weights.bias.subarray(from, from + n), GATE_ORDERS[cell].keras, order, h);
  return {
    weightIh: fromKerasMatrix(weights.kernel, order, cell, h, inputDim),
    weightHh: fromKerasMatrix(weights.recurrentKernel, order, cell, h, h),
    biasIh: bias(0),
    biasHh: cell === 'gru' ? bias(n) : new Float32Array(n),
  };
}

/** An ONNX RNN / LSTM / GRU direction as Keras weights; a GRU's linear_before_reset = 1 is resetAfter. */
export function kerasFromOnnx(
  cell: CellName,
  tensors: OnnxCellTensors,
  inputDim: number,
  hiddenSize: number,
  linearBeforeReset = false,
): RecurrentWeights {
  const order = GATE_ORDERS[cell].onnx;
  const n = gateCount(cell) * hiddenSize;
  const { B } = tensors;
  return {
    inputDim,
    hiddenSize,
    kernel: toKerasMatrix(tensors.W, order, cell, hiddenSize, inputDim),
    recurrentKernel: toKerasMatrix(tensors.R, order, cell, hiddenSize, hiddenSize),
    bias: kerasBias(
      cell,
      hiddenSize,
      order,
      B?.subarray(0, n) ?? null,
      B?.subarray(n, 2 * n) ?? null,
      cell === 'gru' && linearBeforeReset,
    ),
  };
}

/** Keras weights as an ONNX direction; for a GRU, linear_before_reset is 1 exactly when resetAfter. */
export function onnxFromKeras(cell: CellName, weights: RecurrentWeights, resetAfter = true): OnnxCellTensors {
  const { inputDim, hiddenSize: h } = weights;
  const order = GATE_ORDERS[cell].onnx;
  const n = gateCount(cell) * h;
  const B = new Float32Array(2 * n);
  B.set(reorderGates(weights.bias.subarray(0, n), GATE_ORDERS[cell].keras, order, h), 0);
  if (cell === 'gru' && resetAfter)
    B.set(reorderGates(weights.bias.subarray(n, 2 * n), GATE_ORDERS[cell].keras, order, h), n);
  return {
    W: fromKerasMatrix(weights.kernel, order, cell, h, inputDim),
    R: fromKerasMatrix(weights.recurrentKernel, order, cell, h, h),
    B,
  };
}
