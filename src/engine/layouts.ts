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
