import t from 'tap';
import { float32Array, float64Array, int32Array, uint8Array } from '../../src/engine/arrays.js';

t.test('small arrays: zeroed, disjoint, aligned, from a shared slab; others with a buffer of their own', async (t) => {
  const arrays = [];
  // Enough of them to fill several slabs, each written right away as a request's tensors are.
  for (let i = 0; i < 3000; i++) {
    const length = 17 + (i % 200);
    const array = [float32Array, float64Array, int32Array, uint8Array][i % 4](length);
    if (array.length !== length || array.some((x) => x !== 0)) t.fail(`array ${i} is not ${length} zeros`);
    array.fill(i % 4 === 3 ? (i % 250) + 1 : i + 1);
    arrays.push(array);
  }
  const bad = arrays.findIndex((array, i) => array.some((x) => x !== (i % 4 === 3 ? (i % 250) + 1 : i + 1)));
  t.equal(bad, -1, 'no array was written through another one');
  t.ok(
    arrays.every((a) => a.byteOffset % 8 === 0),
    'every array starts 8-byte aligned',
  );
  const carved = arrays.filter((a) => a.byteLength < a.buffer.byteLength);
  const slabs = new Set(carved.map((a) => a.buffer));
  t.ok(
    carved.length > 2000 && slabs.size > 1 && slabs.size < 20,
    `${slabs.size} slabs for ${carved.length} arrays above 64 bytes`,
  );

  const tiny = float32Array(4);
  t.equal(tiny.byteLength, tiny.buffer.byteLength, 'a 16-byte array is a plain one (V8 keeps it on its heap)');
  const large = float64Array(100_000);
  t.equal(large.byteLength, large.buffer.byteLength, 'a large array has its own buffer');
});
