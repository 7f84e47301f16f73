/**
 * A sequence's state as bytes: the layout both stores keep (count, lengths, little-endian float32 bits), read back
 * from any offset, and refused when it is not a state this module wrote.
 */
import t from 'tap';
import { encodeState, readState, stateByteLength, writeState } from '../../../src/core/sequences/state-bytes.js';
import { awkwardState, bitsOf } from '../../helpers/sequence-store-contract.js';

t.test('the layout: u32 count, u32 lengths, then the float32 bits, little-endian', async (t) => {
  const bytes = encodeState([new Float32Array([1, -2]), new Float32Array([0.5])]);
  t.same([...bytes], [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f]);
  t.equal(stateByteLength([new Float32Array(3), new Float32Array(0)]), 4 + 8 + 12);
  t.same([...encodeState([])], [0, 0, 0, 0]);
});

t.test('every bit back, from bytes at any offset, as arrays of their own', async (t) => {
  const state = awkwardState();
  const encoded = encodeState(state);
  for (const offset of [0, 1, 3, 5]) {
    const shifted = new Uint8Array(encoded.byteLength + offset);
    shifted.set(encoded, offset);
    const read = readState(shifted.subarray(offset));
    t.same(bitsOf(read), bitsOf(state), `offset ${offset}`);
    shifted.fill(0);
    t.same(bitsOf(read), bitsOf(state), 'not views of the bytes read');
  }
  // Arrays that are views into a larger buffer are written from their own offset.
  const big = new Float32Array([9, 1, 2, 3, 9]);
  const view = big.subarray(1, 4);
  const into = new Uint8Array(stateByteLength([view]));
  writeState([view], into);
  t.same([...readState(into)[0]], [1, 2, 3]);
});

t.test('bytes that are not a state are refused with what is wrong', async (t) => {
  t.throws(() => readState(new Uint8Array(3)), /a sequence state of 3 bytes has no header/);
  t.throws(() => readState(new Uint8Array([9, 0, 0, 0])), /a sequence state of 4 bytes cannot list 9 arrays/);
  t.throws(
    () => readState(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])),
    /a sequence state of 12 bytes lists 2 values in 1 arrays/,
  );
  t.throws(() => readState(new Uint8Array([0xff, 0xff, 0xff, 0xff])), /cannot list 4294967295 arrays/);
});
