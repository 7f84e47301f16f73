/**
 * Zeroed typed arrays for the short-lived tensors of a request (inputs, pre-activations, outputs), small
 * ones carved out of a shared slab as Node pools small Buffers. A typed array over more than 64 bytes gets a
 * backing store of its own: ~1.2 µs each (malloc, zeroing, GC accounting), more than a hello-sized forward
 * pass computes in, and a hello request made three of them. A view into the slab costs ~0.05 µs.
 *
 * The slab is only ever bumped, never reused, so every array starts zeroed (a new ArrayBuffer is), and a
 * slab is freed once no array in it is alive. An array from the slab shares its `buffer`, so it must not be
 * transferred (src/runtime/pool.ts transfers only arrays that span their whole buffer); the weights, which live long,
 * are allocated as usual.
 */

/** Arrays above this many bytes get their own buffer (their allocation is small next to the work on them). */
const SMALL_MAX_BYTES = 16 * 1024;
const SLAB_BYTES = 256 * 1024;
/** Arrays up to this size are allocated inside V8's heap already, as cheaply as a slab view. */
const ON_HEAP_MAX_BYTES = 64;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** `bytes` of the slab, 8-byte aligned (so any element type fits), or -1 when an array of its own is better. */
function carve(bytes: number): number {
  if (bytes <= ON_HEAP_MAX_BYTES || bytes > SMALL_MAX_BYTES) return -1;
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const at = used;
  used += (bytes + 7) & ~7;
  return at;
}

export function float32Array(length: number): Float32Array {
  const at = carve(length * 4);
  return at < 0 ? new Float32Array(length) : new Float32Array(slab, at, length);
}

export function float64Array(length: number): Float64Array {
  const at = carve(length * 8);
  return at < 0 ? new Float64Array(length) : new Float64Array(slab, at, length);
}

export function int32Array(length: number): Int32Array {
  const at = carve(length * 4);
  return at < 0 ? new Int32Array(length) : new Int32Array(slab, at, length);
}

export function uint8Array(length: number): Uint8Array {
  const at = carve(length);
  return at < 0 ? new Uint8Array(length) : new Uint8Array(slab, at, length);
}
