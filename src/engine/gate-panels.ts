/**
 * Weight panels and row fills for the gated cells' products (lstm.ts, gru.ts), in the layouts the asm.js
 * kernel reads (asm-kernels.ts). The same packing as simple-rnn.ts's packStackedPanels, generalised to
 * a column range of a vertical stack of matrices that all have n columns: a GRU multiplies a part of
 * [W; U] at a time, and LSTM's and GRU's n is G·hiddenSize, not hiddenSize.
 */
import { float64Array } from './arrays.js';
import { COLUMN_BLOCK } from './asm-kernels.js';

/** One matrix of a vertical stack: `rows` rows of the stack's n columns, row-major. */
export interface StackPart {
  readonly matrix: Float32Array;
  readonly rows: number;
}

/** A product's weights: columns from … to-1 of the stack [parts[0]; parts[1]; …] of n columns. */
export interface PanelSegment {
  readonly parts: readonly StackPart[];
  readonly n: number;
  readonly from: number;
  readonly to: number;
}

/** Float64 elements a segment's panels take: depth · width. */
export function segmentSize({ parts, from, to }: PanelSegment): number {
  return parts.reduce((sum, p) => sum + p.rows, 0) * (to - from);
}

/**
 * The segments' panels one after the other in one Float64Array (each segment's offset is the sum of the
 * sizes before it). Cached per kernel matrix and layout key, as packStackedPanels caches: weights are
 * immutable once used.
 */
const packedSegments = new WeakMap<
  Float32Array,
  { readonly key: string; readonly recurrentKernel: Float32Array; readonly packed: Float64Array }
>();

export function packSegments(
  key: string,
  kernel: Float32Array,
  recurrentKernel: Float32Array,
  segments: readonly PanelSegment[],
): Float64Array {
  const cached = packedSegments.get(kernel);
  if (cached !== undefined && cached.key === key && cached.recurrentKernel === recurrentKernel) return cached.packed;
  const packed = float64Array(segments.reduce((sum, s) => sum + segmentSize(s), 0));
  let o = 0;
  for (const segment of segments) o = appendSegment(packed, o, segment);
  packedSegments.set(kernel, { key, recurrentKernel, packed });
  return packed;
}

/** Panels of COLUMN_BLOCK columns, then single columns; in each, every part's rows in stack order. */
function appendSegment(packed: Float64Array, o: number, { parts, n, from, to }: PanelSegment): number {
  const tiledEnd = to - ((to - from) % COLUMN_BLOCK);
  for (let j = from; j < to; ) {
    const width = j < tiledEnd ? COLUMN_BLOCK : 1;
    for (const { matrix, rows } of parts) {
      for (let k = 0, wk = j; k < rows; k++, wk += n) for (let c = 0; c < width; c++) packed[o++] = matrix[wk + c];
    }
    j += width;
  }
  return o;
}

/** count rows of n accumulators from f64[accAt], each bias[from … from+n). A loop: see simple-rnn.ts fillBias. */
export function fillRows(f64: Float64Array, accAt: number, bias: Float32Array, from: number, count: number, n: number) {
  for (let q = 0, o = accAt; q < count; q++) for (let j = 0; j < n; j++) f64[o++] = bias[from + j];
}
