/**
 * binary-tensors.ts reads and writes tensors as the binary tensor data extension carries them. Held to bytes
 * written here with DataView (little-endian): FP32 as it is (aligned or not), FP64 rounded to float32, FP16 decoded
 * exactly (normals, subnormals, signed zero, infinities), INT32 and INT64 ids in range, the limits of 2^53, each
 * refusal's path and message, and float32 answers written back as the same bytes.
 */
import t from 'tap';
import {
  BYTES_PER_ELEMENT,
  checkIntegers,
  float16ToNumber,
  littleEndianBytes,
  readFloats,
  readIntegers,
} from '../../src/codec/binary-tensors.js';
import { problemOf } from '../helpers/inference.js';

/** `values` written with `set` (DataView, little-endian), `size` bytes each, from byte `offset` of a buffer. */
function bytesOf(size: number, values: readonly (number | bigint)[], set: string, offset = 0): Uint8Array {
  const buffer = new ArrayBuffer(offset + size * values.length);
  const view = new DataView(buffer) as unknown as Record<
    string,
    (at: number, value: number | bigint, le: boolean) => void
  >;
  values.forEach((v, i) => view[set](offset + i * size, v, true));
  return new Uint8Array(buffer, offset);
}

t.test('float16: exact values of the bits', async (t) => {
  t.equal(float16ToNumber(0x3c00), 1);
  t.equal(float16ToNumber(0xc000), -2);
  t.equal(float16ToNumber(0x3555), 0.333251953125);
  t.equal(float16ToNumber(0x7bff), 65504, 'the largest half');
  t.equal(float16ToNumber(0x0001), 2 ** -24, 'the smallest subnormal');
  t.equal(float16ToNumber(0x0400), 2 ** -14, 'the smallest normal');
  t.ok(Object.is(float16ToNumber(0x8000), -0), 'negative zero');
  t.equal(float16ToNumber(0x7c00), Infinity);
  t.ok(Number.isNaN(float16ToNumber(0x7e00)));
  t.same(BYTES_PER_ELEMENT, { FP32: 4, FP64: 8, FP16: 2, INT32: 4, INT64: 8 });
});

t.test('readFloats: FP32, FP64 rounded, FP16; aligned or not', async (t) => {
  const fp32 = bytesOf(4, [1.5, -0.25], 'setFloat32');
  t.same([...readFloats(fp32, 'FP32', 2, 'x')], [1.5, -0.25]);
  const unaligned = bytesOf(4, [1.5, -0.25], 'setFloat32', 1);
  t.equal(unaligned.byteOffset % 4, 1);
  t.same([...readFloats(unaligned, 'FP32', 2, 'x')], [1.5, -0.25], 'copied when not 4-aligned');
  t.same([...readFloats(bytesOf(8, [0.1, 1e-50], 'setFloat64'), 'FP64', 2, 'x')], [Math.fround(0.1), 0]);
  t.same([...readFloats(bytesOf(2, [0x3c00, 0xb800], 'setUint16'), 'FP16', 2, 'x')], [1, -0.5]);
  t.same(problemOf(() => readFloats(bytesOf(4, [0, Number.NaN], 'setFloat32'), 'FP32', 2, 'inputs[0]')).errors, [
    { path: 'inputs[0][1]', message: 'is NaN; expected a finite number within float32 range' },
  ]);
  t.same(problemOf(() => readFloats(bytesOf(8, [1e39], 'setFloat64'), 'FP64', 1, 'inputs[0]')).errors, [
    { path: 'inputs[0][0]', message: 'is 1e+39; expected a finite number within float32 range' },
  ]);
  t.same(problemOf(() => readFloats(bytesOf(2, [0xfc00], 'setUint16'), 'FP16', 1, 'x')).errors, [
    { path: 'x[0]', message: 'is -Infinity; expected a finite number within float32 range' },
  ]);
  t.throws(() => readFloats(new Uint8Array(4), 'INT8', 1, 'x'), /readFloats: datatype INT8/);
});

t.test('readIntegers: ids in [0, below), INT64 within 2^53', async (t) => {
  t.same([...readIntegers(bytesOf(4, [0, 7], 'setInt32'), 'INT32', 2, 8, 'ids', 'an id')], [0, 7]);
  t.same([...readIntegers(bytesOf(8, [3n, 2n ** 40n], 'setBigInt64'), 'INT64', 2, 2 ** 41, 'ids', 'x')], [3, 2 ** 40]);
  t.same(problemOf(() => readIntegers(bytesOf(4, [8], 'setInt32'), 'INT32', 1, 8, 'ids', 'an id in [0, 8)')).errors, [
    { path: 'ids[0]', message: 'is 8; expected an id in [0, 8)' },
  ]);
  t.same(problemOf(() => readIntegers(bytesOf(8, [-1n], 'setBigInt64'), 'INT64', 1, 8, 'ids', 'an id')).errors, [
    { path: 'ids[0]', message: 'is -1; expected an id' },
  ]);
  t.same(problemOf(() => readIntegers(bytesOf(8, [2n ** 53n], 'setBigInt64'), 'INT64', 1, 8, 'ids', 'an id')).errors, [
    { path: 'ids[0]', message: 'is 9007199254740992; beyond ±2^53, which this server does not read (an id)' },
  ]);
  t.throws(() => readIntegers(new Uint8Array(2), 'INT16', 1, 8, 'x', 'y'), /readIntegers: datatype INT16/);
});

t.test('checkIntegers: JSON numbers as integers in range', async (t) => {
  t.doesNotThrow(() => checkIntegers([0, 4], 5, 'lengths', 'a length'));
  t.same(problemOf(() => checkIntegers([1, 2.5], 5, 'lengths', 'a length')).errors, [
    { path: 'lengths[1]', message: 'is 2.5; expected an integer (a length)' },
  ]);
  t.same(problemOf(() => checkIntegers([2 ** 60], 5, 'ids', 'an id')).errors, [
    { path: 'ids[0]', message: 'is 1152921504606847000; beyond 2^53, which this server does not read (an id)' },
  ]);
  t.same(problemOf(() => checkIntegers([5], 5, 'ids', 'an id below 5')).errors, [
    { path: 'ids[0]', message: 'is 5; expected an id below 5' },
  ]);
});

t.test('littleEndianBytes: the float32 bytes, a view of the same memory', async (t) => {
  const data = Float32Array.of(1.5, -0.25);
  const bytes = littleEndianBytes(data);
  t.same(Buffer.from(bytes), Buffer.from(bytesOf(4, [1.5, -0.25], 'setFloat32')));
  t.equal(bytes.buffer, data.buffer, 'no copy on a little-endian machine');
  t.same([...readFloats(littleEndianBytes(data.subarray(1)), 'FP32', 1, 'x')], [-0.25]);
});
