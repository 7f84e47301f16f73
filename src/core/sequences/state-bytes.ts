/**
 * A sequence's state as bytes: how both stores keep it (one Uint8Array in this process, one Redis string value).
 *
 *   u32 count · count × u32 length (elements of each array) · the float32 values of each array, in order
 *
 * all little-endian, whatever the host, so replicas on different machines read each other's entries. The values
 * are copied as bits, never read as numbers: a NaN keeps its payload and -0 its sign.
 */
import type { SequenceState } from './sequence-store.js';

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Bytes `state` takes once written. */
export function stateByteLength(state: SequenceState): number {
  let bytes = 4 + 4 * state.length;
  for (let i = 0; i < state.length; i++) bytes += state[i].byteLength;
  return bytes;
}

/** Writes `state` into `target`, which holds exactly `stateByteLength(state)` bytes. */
export function writeState(state: SequenceState, target: Uint8Array): void {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  view.setUint32(0, state.length, true);
  let at = 4;
  for (let i = 0; i < state.length; i++, at += 4) view.setUint32(at, state[i].length, true);
  for (let i = 0; i < state.length; i++) {
    const values = state[i];
    if (HOST_IS_LITTLE_ENDIAN) target.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    else {
      const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
      for (let j = 0; j < bits.length; j++) view.setUint32(at + 4 * j, bits[j], true);
    }
    at += values.byteLength;
  }
}

/** `state` written into a new array of its own. */
export function encodeState(state: SequenceState): Uint8Array {
  const bytes = new Uint8Array(stateByteLength(state));
  writeState(state, bytes);
  return bytes;
}

/**
 * The arrays `bytes` holds, copied into one new buffer (aligned, whatever `bytes`'s offset), so the caller may keep
 * or change them. Throws when `bytes` is not a state this module wrote.
 */
export function readState(bytes: Uint8Array): Float32Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new Error(`a sequence state of ${bytes.byteLength} bytes has no header`);
  const count = view.getUint32(0, true);
  const headerBytes = 4 + 4 * count;
  if (headerBytes > bytes.byteLength)
    throw new Error(`a sequence state of ${bytes.byteLength} bytes cannot list ${count} arrays`);
  let values = 0;
  for (let i = 0; i < count; i++) values += view.getUint32(4 + 4 * i, true);
  if (headerBytes + 4 * values !== bytes.byteLength)
    throw new Error(`a sequence state of ${bytes.byteLength} bytes lists ${values} values in ${count} arrays`);
  const data = new Uint8Array(4 * values);
  if (HOST_IS_LITTLE_ENDIAN) data.set(bytes.subarray(headerBytes));
  else {
    const bits = new Uint32Array(data.buffer);
    for (let j = 0; j < values; j++) bits[j] = view.getUint32(headerBytes + 4 * j, true);
  }
  const state: Float32Array[] = new Array(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(4 + 4 * i, true);
    state[i] = new Float32Array(data.buffer, offset, length);
    offset += 4 * length;
  }
  return state;
}
