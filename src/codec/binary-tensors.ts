/**
 * Tensors as the Open Inference Protocol's binary tensor data extension carries them: little-endian, row-major,
 * no padding, each element in its datatype's native size. Reads FP32, FP64 and FP16 into float32 (what the
 * engine computes in) and INT32/INT64 token ids into float32 ids, refusing what float32 cannot hold; writes
 * float32 answers as little-endian bytes.
 *
 * Conversions: FP32 is taken as it is (a view of the body's bytes when they sit 4-aligned in memory, else one
 * copy); FP64 is rounded to the nearest float32 (Math.fround, ties to even); FP16 is decoded by hand, exactly
 * (every half value is a float32 value). Non-finite values are refused: the engine's answer could not be written
 * as JSON, and no model here means anything by them.
 */
import { invalidAt } from '../errors/problem-error.js';

/** Bytes per element of the datatypes read here. */
export const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { FP32: 4, FP64: 8, FP16: 2, INT32: 4, INT64: 8 };

/** Whether this machine stores numbers little-endian (then typed arrays are the wire format as they are). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The float32 value of IEEE 754 half-precision bits: sign, 5 exponent bits (bias 15), 10 fraction bits. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals: fraction · 2^-14 · 2^-10
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25); // (1 + fraction/1024) · 2^(exponent - 15)
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function notFinite(path: string, i: number, value: number): never {
  return invalidAt(`${path}[${i}]`, `is ${value}; expected a finite number within float32 range`);
}

/**
 * `count` FP32, FP64 or FP16 elements → float32. `bytes` holds exactly count × the element size (the caller
 * checked it against binary_data_size and the shape). `path` names the tensor in errors (`inputs[0]`).
 */
export function readFloats(bytes: Uint8Array, datatype: string, count: number, path: string): Float32Array {
  let out: Float32Array;
  if (datatype === 'FP32') {
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) out = new Float32Array(bytes.buffer, bytes.byteOffset, count);
    else if (LITTLE_ENDIAN) {
      // Not 4-aligned in memory (the JSON header before it has any length): one copy into an array of its own.
      out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes);
    } else {
      out = new Float32Array(count);
      const data = view(bytes);
      for (let i = 0; i < count; i++) out[i] = data.getFloat32(4 * i, true);
    }
    // Non-finite float32s are those whose exponent bits are all ones: an integer test, faster than isFinite.
    const bits = new Int32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) notFinite(path, i, out[i]);
    return out;
  }
  out = new Float32Array(count);
  const data = view(bytes);
  if (datatype === 'FP64') {
    for (let i = 0; i < count; i++) {
      const value = data.getFloat64(8 * i, true);
      const f = Math.fround(value);
      if (!Number.isFinite(f)) notFinite(path, i, value);
      out[i] = f;
    }
    return out;
  }
  if (datatype === 'FP16') {
    for (let i = 0; i < count; i++) {
      const value = float16ToNumber(data.getUint16(2 * i, true));
      if (!Number.isFinite(value)) notFinite(path, i, value);
      out[i] = value;
    }
    return out;
  }
  throw new Error(`readFloats: datatype ${datatype}`);
}

/**
 * `count` INT32 or INT64 elements → non-negative integers below `below` (token ids, lengths), as float32 (exact:
 * `below` is far under 2^24 for ids; lengths are bounded by MAX_TIME_STEPS). An INT64 beyond 2^53 cannot be
 * told apart from its neighbours as a JavaScript number and is refused as such; `what` says what the range is.
 */
export function readIntegers(
  bytes: Uint8Array,
  datatype: string,
  count: number,
  below: number,
  path: string,
  what: string,
): Float32Array {
  const out = new Float32Array(count);
  const data = view(bytes);
  for (let i = 0; i < count; i++) {
    let value: number;
    if (datatype === 'INT32') value = data.getInt32(4 * i, true);
    else if (datatype === 'INT64') {
      const high = data.getInt32(8 * i + 4, true);
      const low = data.getUint32(8 * i, true);
      if (high >= 0x200000 || high < -0x200000)
        invalidAt(
          `${path}[${i}]`,
          `is ${data.getBigInt64(8 * i, true)}; beyond ±2^53, which this server does not read (${what})`,
        );
      value = high * 0x100000000 + low;
    } else throw new Error(`readIntegers: datatype ${datatype}`);
    if (value < 0 || value >= below) invalidAt(`${path}[${i}]`, `is ${value}; expected ${what}`);
    out[i] = value;
  }
  return out;
}

/** Checks JSON numbers are integers in [0, below) (INT32/INT64 data sent as JSON). */
export function checkIntegers(values: readonly number[], below: number, path: string, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isSafeInteger(value))
      invalidAt(
        `${path}[${i}]`,
        Number.isInteger(value)
          ? `is ${value}; beyond 2^53, which this server does not read (${what})`
          : `is ${value}; expected an integer (${what})`,
      );
    if (value < 0 || value >= below) invalidAt(`${path}[${i}]`, `is ${value}; expected ${what}`);
  }
}

/** Float32 values as little-endian bytes: a view of the same memory on a little-endian machine, else a copy. */
export function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const target = view(out);
  for (let i = 0; i < data.length; i++) target.setFloat32(4 * i, data[i], true);
  return out;
}
