/**
 * What crosses between the event loop and a worker by transfer instead of by copy: the typed arrays of a job going
 * out, and of its answers coming back. Only an array that spans its whole buffer is transferred as it is; a view into
 * a larger buffer (a small array carved out of the shared slab, engine/arrays.ts; a slice of h_n) would take its
 * whole buffer along, so it is copied into a buffer of its own first, and so is an array over a buffer the sender
 * keeps (an ONNX program's initializers: `held`).
 */
import * as workerThreads from 'node:worker_threads';
import type { Job } from './jobs.js';

/**
 * Whether Node refuses to transfer a buffer (its Buffer pool's, among others): Node 21 and later throw "Cannot
 * transfer object of unsupported type" for one in a transfer list. Node 20 has no such test (and copies them).
 */
const untransferable: (buffer: ArrayBufferLike) => boolean =
  (workerThreads as { isMarkedAsUntransferable?: (value: unknown) => boolean }).isMarkedAsUntransferable ??
  (() => false);

const spansBuffer = (array: ArrayBufferView): boolean =>
  array.buffer instanceof ArrayBuffer &&
  array.byteOffset === 0 &&
  array.byteLength === array.buffer.byteLength &&
  !untransferable(array.buffer);

/** A copy of `array` in a buffer of its own, of the same kind (a Buffer's `slice()` would be a view, not a copy). */
function copyOf<T extends ArrayBufferView>(array: T): T {
  const bytes = array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength) as ArrayBuffer;
  if (Buffer.isBuffer(array)) return Buffer.from(bytes) as unknown as T;
  return new (array.constructor as new (buffer: ArrayBuffer) => T)(bytes);
}

/** An array the request owns, in a buffer of its own (copied when it is a view), and its buffer listed. */
function own<T extends ArrayBufferView | null>(array: T, buffers: Set<ArrayBuffer>): T {
  if (array === null) return array;
  const mine = spansBuffer(array) ? array : copyOf(array);
  buffers.add((mine as ArrayBufferView).buffer as ArrayBuffer);
  return mine;
}

/**
 * The job as it goes to a worker, and the buffers to transfer: the request's own arrays (inputs, masks, initial
 * states, request bytes), each in a buffer of its own. A model's weights are never transferred (the model keeps
 * them): they go by copy.
 */
export function outgoing(job: Job): { job: Job; transfer: ArrayBuffer[] } {
  const buffers = new Set<ArrayBuffer>();
  switch (job.kind) {
    case 'layers': {
      const { plan } = job;
      const moved = {
        ...plan,
        inputs: own(plan.inputs, buffers),
        mask: own(plan.mask, buffers),
        initialStates: plan.initialStates?.map((s) => own(s, buffers)) ?? null,
        initialCellStates: plan.initialCellStates?.map((s) => own(s, buffers)) ?? null,
      };
      return { job: { ...job, plan: moved }, transfer: [...buffers] };
    }
    case 'onnx': {
      const inputs = new Map([...job.run.inputs].map(([name, t]) => [name, { ...t, data: own(t.data, buffers) }]));
      const { local: _local, ...rest } = job;
      return { job: { ...rest, run: { ...job.run, inputs } }, transfer: [...buffers] };
    }
    case 'forward-json':
      return { job: { ...job, bytes: own(job.bytes, buffers) }, transfer: [...buffers] };
    default:
      return { job, transfer: [] };
  }
}

/**
 * `value` with every typed array in a buffer of its own (copied when it is a view, or over a `held` buffer), and
 * the buffers to transfer. Walks plain objects, arrays and Maps; strings and numbers go by clone.
 */
export function owned(
  value: unknown,
  held: ReadonlySet<ArrayBufferLike> = new Set(),
): { value: unknown; buffers: ArrayBuffer[] } {
  const buffers = new Set<ArrayBuffer>();
  const walk = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    if (ArrayBuffer.isView(node)) {
      const own = spansBuffer(node) && !held.has(node.buffer) ? node : copyOf(node);
      buffers.add(own.buffer as ArrayBuffer);
      return own;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node instanceof Map) return new Map([...node].map(([k, v]) => [k, walk(v)]));
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return { value: walk(value), buffers: [...buffers] };
}
