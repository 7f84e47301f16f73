/**
 * The fast path's matrix product, written in asm.js: a subset of JavaScript with its types spelled in the
 * code (`x | 0` an int, `+x` a double) and every array a view of one ArrayBuffer, the heap.
 *
 * Why: V8 validates an asm.js module when it is first called and compiles it ahead of time, like any other
 * JavaScript but with the types already known. The loads are then a bounds check and a load each. In
 * ordinary optimised JavaScript, each typed-array load also re-checks the array's map and reloads its
 * length and data pointer every iteration, and each index add is checked for overflow. On mid's product,
 * that is ~90 instructions per iteration of the plain 3 × 4 tile (24 flops), and ~45 here for the 2 × 4 tile
 * (16 flops, no spills). Measured side by side in one process: ~1.57× the GFLOP/s of the best plain kernel;
 * the whole mid pass ~1.4× faster (docs/performance.md#the-fast-path).
 *
 * It is still plain JavaScript, with no WebAssembly module, no binary and no native code of ours. An engine
 * that does not validate asm.js (or a build step that rewrites the code, as esbuild does: it drops the
 * "use asm" directive and prints `0.0` as `0`) runs the same functions as ordinary JavaScript. The results
 * are the same, bit for bit, only slower: ~0.84× a plain-loop kernel on mid. The compiler is tsc, which
 * keeps the code as written; test/engine/asm-kernels.test.ts checks that V8 validates this module as the
 * tests load it.
 *
 * Fast path of: the plain loops of the naive reference (reference.ts). test/engine/asm-kernels.test.ts holds
 * the kernels bit-equal to plain loops (and run as ordinary JavaScript), and test/engine/simple-rnn.test.ts and
 * test/engine/properties.test.ts hold the whole layer bit-equal to the reference.
 *
 * The rules it follows (asm.js 1.0): parameters and locals are declared with their types at the top of each
 * function, `var` only; heap offsets are byte offsets, `F64[byteOffset >> 3]`; every int result is coerced
 * (`(a + b) | 0`); ints are multiplied with `imul`. Reads outside the heap would return NaN instead of
 * failing: the caller sizes the heap for every offset it passes.
 *
 * Layouts (float64, byte offsets into the heap):
 *   acc  `count` rows of `n` accumulators, contiguous from accAt (row q at accAt + 8·n·q)
 *   a    the `count` rows, `depth` values each, packed by ROW_BLOCK: rows 2g and 2g+1 interleaved
 *        (row 2g+r, value k at aAt + 8·(2g·depth + 2k + r)); an odd last row on its own (value k at
 *        aAt + 8·(q·depth + k))
 *   w    the [depth, n] matrix as column panels of COLUMN_BLOCK: panel j (columns j … j+3, j < n - n % 4)
 *        holds w[k, j … j+3] at wAt + 8·(j·depth + 4k); each column j left over holds w[k, j] at
 *        wAt + 8·(j·depth + k)
 */

/** Rows of a tile (the rows of `a` are interleaved by this many). */
export const ROW_BLOCK = 2;
/** Columns of a tile (the panels of `w` are this wide). */
export const COLUMN_BLOCK = 4;

/** What an asm.js module may take from the global object. */
export interface AsmStdlib {
  readonly Float64Array: Float64ArrayConstructor;
  readonly Math: Math;
}

export interface ProductKernels {
  /**
   * acc[q, j] += Σ_k a[q, k] · w[k, j] for q < count and j < n, adding the terms one by one in k order
   * (so each sum is the naive loop's, bit for bit: the float32 × float32 products are exact in float64).
   * Offsets are in bytes; see the layouts above.
   */
  product(accAt: number, aAt: number, count: number, wAt: number, depth: number, n: number): void;
}

/**
 * The asm.js module. Tiles: 2 rows × 4 columns (8 accumulators, 2 row values and a weight: all in
 * registers; a 3 × 4 tile spills, and measured ~23 % slower here), then the columns left over (2 × 1), then
 * an odd last row (1 × 4, 1 × 1). Each accumulator is read from the heap once per tile and written once.
 */
// asm.js fixes a module's parameters: (stdlib, foreign, heap).
// biome-ignore lint/correctness/noUnusedFunctionParameters: see above
export function productKernels(stdlib: AsmStdlib, foreign: unknown, heap: ArrayBuffer): ProductKernels {
  'use asm';

  var F64 = new stdlib.Float64Array(heap);
  var imul = stdlib.Math.imul;

  /** Rows at c and c + n8 (bytes), columns 0 … 3 of a panel. */
  function tile(c: number, n8: number, aAt: number, wAt: number, depth: number): void {
    c = c | 0;
    n8 = n8 | 0;
    aAt = aAt | 0;
    wAt = wAt | 0;
    depth = depth | 0;
    var s00 = 0.0,
      s01 = 0.0,
      s02 = 0.0,
      s03 = 0.0,
      s10 = 0.0,
      s11 = 0.0,
      s12 = 0.0,
      s13 = 0.0;
    var x0 = 0.0,
      x1 = 0.0,
      v = 0.0,
      d = 0,
      i = 0,
      wk = 0,
      aEnd = 0;
    d = (c + n8) | 0;
    s00 = +F64[c >> 3];
    s01 = +F64[(c + 8) >> 3];
    s02 = +F64[(c + 16) >> 3];
    s03 = +F64[(c + 24) >> 3];
    s10 = +F64[d >> 3];
    s11 = +F64[(d + 8) >> 3];
    s12 = +F64[(d + 16) >> 3];
    s13 = +F64[(d + 24) >> 3];
    aEnd = (aAt + (depth << 4)) | 0;
    for (i = aAt, wk = wAt; (i | 0) < (aEnd | 0); i = (i + 16) | 0, wk = (wk + 32) | 0) {
      x0 = +F64[i >> 3];
      x1 = +F64[(i + 8) >> 3];
      v = +F64[wk >> 3];
      s00 = s00 + x0 * v;
      s10 = s10 + x1 * v;
      v = +F64[(wk + 8) >> 3];
      s01 = s01 + x0 * v;
      s11 = s11 + x1 * v;
      v = +F64[(wk + 16) >> 3];
      s02 = s02 + x0 * v;
      s12 = s12 + x1 * v;
      v = +F64[(wk + 24) >> 3];
      s03 = s03 + x0 * v;
      s13 = s13 + x1 * v;
    }
    F64[c >> 3] = s00;
    F64[(c + 8) >> 3] = s01;
    F64[(c + 16) >> 3] = s02;
    F64[(c + 24) >> 3] = s03;
    F64[d >> 3] = s10;
    F64[(d + 8) >> 3] = s11;
    F64[(d + 16) >> 3] = s12;
    F64[(d + 24) >> 3] = s13;
  }

  /** Rows at c and c + n8, one column left over. */
  function column(c: number, n8: number, aAt: number, wAt: number, depth: number): void {
    c = c | 0;
    n8 = n8 | 0;
    aAt = aAt | 0;
    wAt = wAt | 0;
    depth = depth | 0;
    var s0 = 0.0,
      s1 = 0.0,
      v = 0.0,
      i = 0,
      wk = 0,
      aEnd = 0;
    s0 = +F64[c >> 3];
    s1 = +F64[(c + n8) >> 3];
    aEnd = (aAt + (depth << 4)) | 0;
    for (i = aAt, wk = wAt; (i | 0) < (aEnd | 0); i = (i + 16) | 0, wk = (wk + 8) | 0) {
      v = +F64[wk >> 3];
      s0 = s0 + +F64[i >> 3] * v;
      s1 = s1 + +F64[(i + 8) >> 3] * v;
    }
    F64[c >> 3] = s0;
    F64[(c + n8) >> 3] = s1;
  }

  /** One row at c, columns 0 … 3 of a panel. */
  function rowTile(c: number, aAt: number, wAt: number, depth: number): void {
    c = c | 0;
    aAt = aAt | 0;
    wAt = wAt | 0;
    depth = depth | 0;
    var s0 = 0.0,
      s1 = 0.0,
      s2 = 0.0,
      s3 = 0.0,
      x = 0.0,
      i = 0,
      wk = 0,
      aEnd = 0;
    s0 = +F64[c >> 3];
    s1 = +F64[(c + 8) >> 3];
    s2 = +F64[(c + 16) >> 3];
    s3 = +F64[(c + 24) >> 3];
    aEnd = (aAt + (depth << 3)) | 0;
    for (i = aAt, wk = wAt; (i | 0) < (aEnd | 0); i = (i + 8) | 0, wk = (wk + 32) | 0) {
      x = +F64[i >> 3];
      s0 = s0 + x * +F64[wk >> 3];
      s1 = s1 + x * +F64[(wk + 8) >> 3];
      s2 = s2 + x * +F64[(wk + 16) >> 3];
      s3 = s3 + x * +F64[(wk + 24) >> 3];
    }
    F64[c >> 3] = s0;
    F64[(c + 8) >> 3] = s1;
    F64[(c + 16) >> 3] = s2;
    F64[(c + 24) >> 3] = s3;
  }

  /** One row at c, one column left over. */
  function rowColumn(c: number, aAt: number, wAt: number, depth: number): void {
    c = c | 0;
    aAt = aAt | 0;
    wAt = wAt | 0;
    depth = depth | 0;
    var s = 0.0,
      i = 0,
      wk = 0,
      aEnd = 0;
    s = +F64[c >> 3];
    aEnd = (aAt + (depth << 3)) | 0;
    for (i = aAt, wk = wAt; (i | 0) < (aEnd | 0); i = (i + 8) | 0, wk = (wk + 8) | 0) {
      s = s + +F64[i >> 3] * +F64[wk >> 3];
    }
    F64[c >> 3] = s;
  }

  function product(accAt: number, aAt: number, count: number, wAt: number, depth: number, n: number): void {
    accAt = accAt | 0;
    aAt = aAt | 0;
    count = count | 0;
    wAt = wAt | 0;
    depth = depth | 0;
    n = n | 0;
    var q = 0,
      j = 0,
      nTiled = 0,
      n8 = 0,
      c = 0,
      a = 0;
    nTiled = (n - (n & 3)) | 0;
    n8 = n << 3;
    for (q = 0; ((q + 2) | 0) <= (count | 0); q = (q + 2) | 0) {
      c = (accAt + imul(q, n8)) | 0;
      a = (aAt + (imul(q, depth) << 3)) | 0;
      for (j = 0; (j | 0) < (nTiled | 0); j = (j + 4) | 0) {
        tile((c + (j << 3)) | 0, n8, a, (wAt + (imul(j, depth) << 3)) | 0, depth);
      }
      for (; (j | 0) < (n | 0); j = (j + 1) | 0) {
        column((c + (j << 3)) | 0, n8, a, (wAt + (imul(j, depth) << 3)) | 0, depth);
      }
    }
    if ((q | 0) < (count | 0)) {
      c = (accAt + imul(q, n8)) | 0;
      a = (aAt + (imul(q, depth) << 3)) | 0;
      for (j = 0; (j | 0) < (nTiled | 0); j = (j + 4) | 0) {
        rowTile((c + (j << 3)) | 0, a, (wAt + (imul(j, depth) << 3)) | 0, depth);
      }
      for (; (j | 0) < (n | 0); j = (j + 1) | 0) {
        rowColumn((c + (j << 3)) | 0, a, (wAt + (imul(j, depth) << 3)) | 0, depth);
      }
    }
  }

  return { product: product };
}

/**
 * A heap and the kernels linked to it. asm.js heaps cannot grow: a larger one is a new ArrayBuffer and a
 * new link (cheap once V8 has compiled the module: ~0.01 ms; the first link compiles, ~9 ms).
 */
export interface KernelHeap {
  readonly f64: Float64Array;
  readonly kernels: ProductKernels;
  /** The packed weights the heap holds at its start (f64[0 … weights.length)), as the last call left them. */
  weights: Float64Array | null;
}

/**
 * The smallest heap; every heap is a power of two bytes from here (asm.js takes powers of two from 2^12 to 2^24,
 * multiples of 2^24 beyond).
 */
const MIN_HEAP_BYTES = 64 * 1024;
/**
 * A heap is kept (per thread) for the next call when it is at most this size, or at most 4× the packed
 * weights it was made for (which their cache keeps anyway while the weights live); a call that needs more
 * gets a heap of its own, freed with it. 16 MiB is mid's 0.3 MiB and large's 1.4 MiB many times over. Without
 * the second rule, weights of 1024 × 1024 units (16 MiB packed) took a fresh 32 MiB heap on every call: one
 * step of such a stream took 63 ms instead of ~1. The largest heap a request within the default limits can
 * need is ~92 MiB (4096 features, 1024 units, batch 1024), with 42 MiB of weights: kept.
 */
const KEPT_HEAP_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The largest heap: byte offsets, and the ends of the loops over them, must stay int32 (below 2^31). Far above
 * what the default limits allow (~92 MiB); only raised limits can ask for more, and then the call fails.
 */
export const MAX_HEAP_BYTES = 2 ** 30;

let kept: KernelHeap | null = null;
/** The bytes the last kernelHeap call asked for: test/engine/work-memory.test.ts holds work-memory.ts to it. */
let lastRequest = 0;

export function lastHeapRequestBytes(): number {
  return lastRequest;
}

/** Bytes of the heap a call that needs `bytes` gets: the next power of two, at least MIN_HEAP_BYTES. */
export function heapBytesFor(bytes: number): number {
  let size = MIN_HEAP_BYTES;
  while (size < bytes) size *= 2;
  return size;
}

function link(bytes: number): KernelHeap {
  const buffer = new ArrayBuffer(heapBytesFor(bytes));
  return { f64: new Float64Array(buffer), kernels: productKernels(globalThis, null, buffer), weights: null };
}

/**
 * A heap of at least `bytes` with its kernels, holding `weights` (packed, immutable) at its start. They are
 * copied only when the heap does not hold them already: a pass with the previous pass's weights skips the
 * copy. That matters when the weights are large and the pass is short: one step with 256 units copied
 * 1 MiB per call and took 100 µs instead of 62. Callers must not write the weights' part of the heap. The
 * rest is whatever the last call left: fill it before reading it.
 */
export function kernelHeap(bytes: number, weights: Float64Array): KernelHeap {
  lastRequest = bytes;
  let heap = kept;
  if (heap === null || heap.f64.byteLength < bytes) {
    if (!(bytes <= MAX_HEAP_BYTES)) {
      throw new RangeError(`this forward pass needs ${bytes} bytes of kernel heap; at most ${MAX_HEAP_BYTES} (1 GiB)`);
    }
    heap = link(bytes);
    if (heap.f64.byteLength <= Math.max(KEPT_HEAP_MAX_BYTES, 4 * weights.byteLength)) kept = heap;
  }
  if (heap.weights !== weights) {
    heap.f64.set(weights);
    heap.weights = weights;
  }
  return heap;
}
