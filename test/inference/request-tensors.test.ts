/**
 * request-tensors.ts holds the tensor checks every backend shares: the datatype against the model's, a binary
 * tensor's byte count against its shape, JSON data against its shape (flat, or nested level by level), and the
 * tensors by name. Held to the values read and each refusal's path and message.
 */
import t from 'tap';
import {
  FLOAT_DATATYPES,
  INTEGER_DATATYPES,
  checkByteSize,
  checkDatatype,
  jsonValues,
  product,
  sentShape,
  tensorsByName,
} from '../../src/inference/request-tensors.js';
import type { RequestTensor } from '../../src/inference/request.js';
import { fp32Bytes, nestedTensor, problemOf, typedTensor } from '../helpers/inference.js';

t.test('product and the sent shape', async (t) => {
  t.equal(product([2, 3, 4]), 24);
  t.equal(product([]), 1, 'a scalar holds one value');
  t.equal(product([5, 0]), 0);
  t.same(sentShape(typedTensor('x', 'FP32', [1, 2], [1, 2])), [1, 2]);
  t.throws(() => sentShape(nestedTensor('x', [[1]])), /tensor 'x' has no shape/);
});

t.test('checkDatatype: the declared type first, the others accepted listed', async (t) => {
  t.same(FLOAT_DATATYPES, ['FP32', 'FP64', 'FP16']);
  t.same(INTEGER_DATATYPES, ['INT64', 'INT32']);
  t.doesNotThrow(() => checkDatatype(typedTensor('input', 'FP16', [1], [1]), FLOAT_DATATYPES, ''));
  t.doesNotThrow(() => checkDatatype(nestedTensor('input', [1]), ['INT64'], ''), 'JSON numbers take the model type');
  t.same(problemOf(() => checkDatatype(typedTensor('input', 'INT8', [1], [1]), FLOAT_DATATYPES, '')).errors, [
    { path: 'inputs[0].datatype', message: "is 'INT8'; input 'input' is FP32 (also accepted: FP64, FP16)" },
  ]);
  t.same(
    problemOf(() => checkDatatype(typedTensor('ids', 'FP32', [1], [1], 'inputs[2]'), ['INT64'], ', the token ids'))
      .errors,
    [{ path: 'inputs[2].datatype', message: "is 'FP32'; input 'ids' is INT64, the token ids" }],
  );
});

t.test('checkByteSize: elements × bytes per element, named where the size was given', async (t) => {
  t.doesNotThrow(() => checkByteSize(typedTensor('x', 'FP32', [2, 2], fp32Bytes([1, 2, 3, 4]))));
  t.doesNotThrow(() => checkByteSize(typedTensor('x', 'FP32', [2, 2], [1, 2, 3])), 'JSON data is not checked here');
  t.same(problemOf(() => checkByteSize(typedTensor('x', 'FP32', [2, 2], fp32Bytes([1, 2, 3])))).errors, [
    {
      path: 'inputs[0].parameters.binary_data_size',
      message: 'is 12; shape [2, 2] of FP32 takes 16 bytes (4 elements of 4 bytes)',
    },
  ]);
  const noSize: RequestTensor = {
    ...typedTensor('x', 'FP16', [3], new Uint8Array(4)),
    at: { tensor: 'inputs[0]', shape: 'inputs[0].shape', data: 'inputs[0].contents' },
  };
  t.same(problemOf(() => checkByteSize(noSize)).errors, [
    { path: 'inputs[0].contents', message: 'is 4; shape [3] of FP16 takes 6 bytes (3 elements of 2 bytes)' },
  ]);
});

t.test('jsonValues: flat or nested data, as many values as the shape holds', async (t) => {
  t.same(jsonValues(typedTensor('x', 'FP32', [2, 2], [1, 2, 3, 4])), [1, 2, 3, 4]);
  const nested = (data: unknown[], shape: number[]): RequestTensor => ({
    ...typedTensor('x', 'FP32', shape, []),
    values: { kind: 'nested', value: data },
  });
  t.same(
    jsonValues(
      nested(
        [
          [1, 2],
          [3, 4],
        ],
        [2, 2],
      ),
    ),
    [1, 2, 3, 4],
  );
  t.same(problemOf(() => jsonValues(typedTensor('x', 'FP32', [2, 2], [1, 2, 3]))).errors, [
    { path: 'inputs[0].data', message: 'has 3 elements; expected 4 (the product of shape [2, 2])' },
  ]);
  t.same(problemOf(() => jsonValues(nested([[1, 2], [3]], [2, 2]))).errors, [
    { path: 'inputs[0].data[1]', message: 'has 1 entries; expected 2 (dimension 1 of shape)' },
  ]);
  t.same(problemOf(() => jsonValues(nested([[1, 2], 3], [2, 2]))).errors, [
    { path: 'inputs[0].data[1]', message: 'is a number; expected 2 entries (dimension 1 of shape)' },
  ]);
  t.same(problemOf(() => jsonValues(nested([[[1], 2]], [1, 2]))).errors, [
    { path: 'inputs[0].data[0][0]', message: 'is an array; expected a number (shape has 2 dimensions)' },
  ]);
  t.same(problemOf(() => jsonValues(nested([['a', 2]], [1, 2]))).errors, [
    { path: 'inputs[0].data[0][0]', message: 'is string; expected a number (shape has 2 dimensions)' },
  ]);
  t.throws(() => jsonValues(typedTensor('x', 'FP32', [1], fp32Bytes([1]))), /tensor 'x' is not JSON/);
});

t.test('tensorsByName: each known, each once', async (t) => {
  const a = typedTensor('input', 'FP32', [1], [1]);
  const b = typedTensor('lengths', 'INT32', [1], [1], 'inputs[1]');
  const byName = tensorsByName(
    [a, b],
    ['input', 'lengths'],
    () => t.fail('unknown') as never,
    () => {
      throw new Error('repeated');
    },
  );
  t.same([...byName.keys()], ['input', 'lengths']);
  t.equal(byName.get('lengths'), b);
  const unknown = (tensor: RequestTensor): never => {
    throw new Error(`unknown ${tensor.at.tensor}`);
  };
  const repeated = (tensor: RequestTensor, first: RequestTensor): never => {
    throw new Error(`${tensor.at.tensor} repeats ${first.at.tensor}`);
  };
  t.throws(() => tensorsByName([a, { ...b, name: 'x' }], ['input'], unknown, repeated), /unknown inputs\[1\]/);
  t.throws(
    () => tensorsByName([a, { ...a, at: b.at }], ['input'], unknown, repeated),
    /inputs\[1\] repeats inputs\[0\]/,
  );
});
