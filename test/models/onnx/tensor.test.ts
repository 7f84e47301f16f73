/**
 * tensor.ts: the interpreter's tensors (flat typed arrays with a shape). Held to element counts, zero-filled
 * arrays of the right type, row-major strides and the shape text messages quote.
 */
import t from 'tap';
import { elementsOf, formatShape, makeTensor, stridesOf } from '../../../src/models/onnx/tensor.js';

t.test('elements, strides and the shape text', async (t) => {
  t.equal(elementsOf([2, 3, 4]), 24);
  t.equal(elementsOf([]), 1, 'a scalar');
  t.equal(elementsOf([3, 0]), 0);
  t.same(stridesOf([2, 3, 4]), [12, 4, 1]);
  t.same(stridesOf([5]), [1]);
  t.same(stridesOf([]), []);
  t.equal(formatShape([2, -1, 3]), '[2, -1, 3]');
  t.equal(formatShape([]), '[]');
});

t.test('makeTensor: float32 or float64 zeros, or the data given', async (t) => {
  const f = makeTensor('float', [2, 3]);
  t.ok(f.data instanceof Float32Array);
  t.same([...f.data], [0, 0, 0, 0, 0, 0]);
  const i = makeTensor('int', [2]);
  t.ok(i.data instanceof Float64Array, 'ints are float64: exact up to 2^53');
  t.equal(i.data.length, 2);
  const data = Float32Array.of(1, 2);
  t.equal(makeTensor('float', [2], data).data, data, 'the array given, not a copy');
  t.same(makeTensor('float', []).data.length, 1, 'a scalar holds one value');
});
