/**
 * operator.ts: what every operator shares while planning: ShapeError (with the node input at fault), required
 * inputs, int values known while planning, axes in [-rank, rank), and the type and rank checks. Held to the
 * values returned and each message.
 */
import t from 'tap';
import {
  ShapeError,
  knownInts,
  mismatch,
  normaliseAxis,
  rankIs,
  required,
  sameType,
} from '../../../src/models/onnx/operator.js';
import type { TensorMeta } from '../../../src/models/onnx/tensor.js';

const shapeError = (fn: () => unknown): ShapeError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ShapeError) return error;
    throw error;
  }
  throw new Error('no ShapeError');
};

const floatMeta: TensorMeta = { type: 'float', shape: [2, 3] };
const known: TensorMeta = { type: 'int', shape: [2], known: { type: 'int', shape: [2], data: Float64Array.of(4, -1) } };

t.test('mismatch throws a ShapeError naming the input at fault', async (t) => {
  const error = shapeError(() => mismatch('no fit', 2));
  t.equal(error.message, 'no fit');
  t.equal(error.input, 2);
  t.equal(shapeError(() => mismatch('no fit')).input, null);
});

t.test('required and knownInts', async (t) => {
  t.equal(required([floatMeta], 0, 'X'), floatMeta);
  t.equal(shapeError(() => required([floatMeta, null], 1, 'B')).message, 'input 1 (B) is required');
  t.equal(shapeError(() => required([floatMeta], 3, 'axes')).message, 'input 3 (axes) is required');
  t.same(knownInts([floatMeta, known], 1, 'shape'), [4, -1]);
  t.equal(shapeError(() => knownInts([floatMeta], 0, 'shape')).message, 'input 0 (shape) is float; expected integers');
  t.equal(
    shapeError(() => knownInts([{ type: 'int', shape: [2] }], 0, 'shape')).message,
    'input 0 (shape) must be computable from shapes and constants; here it depends on request data',
  );
});

t.test('normaliseAxis, sameType, rankIs', async (t) => {
  t.equal(normaliseAxis(-1, 3), 2);
  t.equal(normaliseAxis(0, 3), 0);
  t.equal(normaliseAxis(-3, 3), 0);
  t.equal(shapeError(() => normaliseAxis(3, 3)).message, 'axis 3 is outside [-3, 3) for rank 3');
  t.equal(shapeError(() => normaliseAxis(-2, 1, 'axes')).message, 'axes -2 is outside [-1, 1) for rank 1');
  t.doesNotThrow(() => sameType(floatMeta, floatMeta, 'A and B'));
  t.equal(
    shapeError(() => sameType(floatMeta, known, 'A and B')).message,
    'A and B: inputs are float and int; expected one type',
  );
  t.doesNotThrow(() => rankIs(floatMeta, 2, 'A'));
  t.equal(
    shapeError(() => rankIs(floatMeta, 3, 'input 0 (A)')).message,
    'input 0 (A) has shape [2, 3]; expected 3 dimensions',
  );
});
