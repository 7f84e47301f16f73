/**
 * shape-ops.ts: the operators that move values (Constant, Identity, Shape, Gather, Unsqueeze, Squeeze, Concat,
 * ConstantOfShape, Transpose, Reshape, Slice). Held to outputs worked by hand (including negative indices and
 * steps, reshape's 0 and -1, the default transpose), values known while planning, and each refusal's message.
 */
import t from 'tap';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import { ShapeError } from '../../../src/models/onnx/operator.js';
import {
  Concat,
  Constant,
  ConstantOfShape,
  Gather,
  Identity,
  Reshape,
  Shape,
  Slice,
  Squeeze,
  Transpose,
  Unsqueeze,
  checkIndices,
} from '../../../src/models/onnx/shape-ops.js';
import {
  float,
  floatTensor,
  floats,
  int,
  intTensor,
  ints,
  metaOf,
  onnxNode,
  runOperator,
} from '../../helpers/onnx-ops.js';

const one = (outputs: ReturnType<typeof runOperator>) => [outputs[0].shape, outputs[0].values];
const shapeMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ShapeError) return error.message;
    throw error;
  }
  throw new Error('no ShapeError');
};
/** x: [2, 3], 0..5. */
const x = floatTensor([2, 3], [0, 1, 2, 3, 4, 5]);

t.test('Constant: each value attribute; exactly one', async (t) => {
  const tensor = { type: 'float' as const, shape: [2], data: Float32Array.of(1, 2) };
  t.same(one(runOperator(Constant, onnxNode('Constant', { value: { kind: 'tensor', value: tensor } }), [])), [
    [2],
    [1, 2],
  ]);
  t.same(one(runOperator(Constant, onnxNode('Constant', { value_float: float(0.5) }), [])), [[], [0.5]]);
  t.same(one(runOperator(Constant, onnxNode('Constant', { value_floats: floats([1, 2, 3]) }), [])), [[3], [1, 2, 3]]);
  const [intValues] = runOperator(Constant, onnxNode('Constant', { value_ints: ints([4, -1]) }), []);
  t.same([intValues.type, intValues.values], ['int', [4, -1]]);
  t.same(one(runOperator(Constant, onnxNode('Constant', { value_int: int(7) }), [])), [[], [7]]);
  t.throws(() => Constant.prepare(onnxNode('Constant', {}, [], ['y'], 'c')), {
    constructor: OnnxModelError,
    message: "node 'c' (Constant): expected exactly one value attribute; has 0",
  });
  t.throws(() => Constant.prepare(onnxNode('Constant', { value_int: int(1), value_float: float(1) }, [], ['y'], 'c')), {
    message: "node 'c' (Constant): expected exactly one value attribute; has 2",
  });
});

t.test('Identity and Shape (with start and end)', async (t) => {
  t.same(one(runOperator(Identity, onnxNode('Identity'), [x])), [
    [2, 3],
    [0, 1, 2, 3, 4, 5],
  ]);
  const data = floatTensor([4, 5, 6], new Array(120).fill(0));
  t.same(one(runOperator(Shape, onnxNode('Shape'), [data])), [[3], [4, 5, 6]]);
  t.same(one(runOperator(Shape, onnxNode('Shape', { start: int(1) }), [data])), [[2], [5, 6]]);
  t.same(one(runOperator(Shape, onnxNode('Shape', { start: int(-2), end: int(-1) }), [data])), [[1], [5]]);
  const settings = Shape.prepare(onnxNode('Shape'));
  const [meta] = Shape.infer(settings, [{ type: 'float', shape: [4, 5, 6] }]);
  t.same([...(meta.known?.data ?? [])], [4, 5, 6], 'known while planning, from the shape alone');
});

t.test('Gather: along an axis, negative indices from the end', async (t) => {
  t.same(one(runOperator(Gather, onnxNode('Gather'), [x, intTensor([1], [-1])])), [
    [1, 3],
    [3, 4, 5],
  ]);
  t.same(one(runOperator(Gather, onnxNode('Gather', { axis: int(1) }), [x, intTensor([2], [2, 0])])), [
    [2, 2],
    [2, 0, 5, 3],
  ]);
  t.same(one(runOperator(Gather, onnxNode('Gather'), [x, intTensor([], [1])])), [[3], [3, 4, 5]], 'a scalar index');
  t.equal(
    shapeMessage(() => runOperator(Gather, onnxNode('Gather'), [x, intTensor([1], [2])])),
    'indices[0] is 2; expected an integer in [-2, 2)',
  );
  t.equal(
    shapeMessage(() => Gather.infer({ axis: 0 }, [metaOf(x), metaOf(floatTensor([1], [0]))])),
    'input 1 (indices) is float; expected integers',
  );
  t.doesNotThrow(() => checkIndices(Float64Array.of(-3, 2), 3, 'i'));
  t.equal(
    shapeMessage(() => checkIndices(Float64Array.of(0, -4), 3, 'i')),
    'i[1] is -4; expected an integer in [-3, 3)',
  );
});

t.test('Unsqueeze and Squeeze', async (t) => {
  t.same(one(runOperator(Unsqueeze, onnxNode('Unsqueeze'), [x, intTensor([2], [0, -1])])), [
    [1, 2, 3, 1],
    [0, 1, 2, 3, 4, 5],
  ]);
  const column = floatTensor([1, 3, 1], [7, 8, 9]);
  t.same(one(runOperator(Squeeze, onnxNode('Squeeze'), [column])), [[3], [7, 8, 9]], 'every axis of 1');
  t.same(one(runOperator(Squeeze, onnxNode('Squeeze'), [column, intTensor([1], [-1])])), [
    [1, 3],
    [7, 8, 9],
  ]);
  t.equal(
    shapeMessage(() => runOperator(Squeeze, onnxNode('Squeeze'), [column, intTensor([1], [1])])),
    'axis 1 of shape [1, 3, 1] is not 1; it cannot be squeezed',
  );
  t.equal(
    shapeMessage(() => runOperator(Unsqueeze, onnxNode('Unsqueeze'), [x, intTensor([2], [0, 0])])),
    'axes [0, 0] repeat an axis',
  );
});

t.test('Concat along an axis; ConstantOfShape', async (t) => {
  const y = floatTensor([2, 1], [10, 20]);
  t.same(one(runOperator(Concat, onnxNode('Concat', { axis: int(1) }), [x, y])), [
    [2, 4],
    [0, 1, 2, 10, 3, 4, 5, 20],
  ]);
  t.same(
    one(runOperator(Concat, onnxNode('Concat', { axis: int(0) }), [intTensor([1], [1]), intTensor([2], [2, 3])])),
    [[3], [1, 2, 3]],
  );
  t.equal(
    shapeMessage(() => runOperator(Concat, onnxNode('Concat', { axis: int(0) }), [x, y])),
    'input 1 has shape [2, 1]; it must equal [2, 3] except on axis 0',
  );
  t.throws(() => Concat.prepare(onnxNode('Concat', {}, [], ['y'], 'cat')), {
    message: "node 'cat' (Concat): attribute 'axis' is required",
  });
  t.same(one(runOperator(ConstantOfShape, onnxNode('ConstantOfShape'), [intTensor([2], [2, 1])])), [
    [2, 1],
    [0, 0],
  ]);
  const seven = { kind: 'tensor' as const, value: { type: 'int' as const, shape: [1], data: Float64Array.of(7) } };
  const [sevens] = runOperator(ConstantOfShape, onnxNode('ConstantOfShape', { value: seven }), [intTensor([1], [3])]);
  t.same([sevens.type, sevens.values], ['int', [7, 7, 7]]);
  t.equal(
    shapeMessage(() => runOperator(ConstantOfShape, onnxNode('ConstantOfShape'), [intTensor([1], [-2])])),
    'shape [-2] is not a shape',
  );
});

t.test('Transpose: a permutation, or the axes reversed', async (t) => {
  t.same(one(runOperator(Transpose, onnxNode('Transpose'), [x])), [
    [3, 2],
    [0, 3, 1, 4, 2, 5],
  ]);
  const cube = floatTensor([2, 1, 3], [0, 1, 2, 3, 4, 5]);
  t.same(one(runOperator(Transpose, onnxNode('Transpose', { perm: ints([1, 2, 0]) }), [cube])), [
    [1, 3, 2],
    [0, 3, 1, 4, 2, 5],
  ]);
  t.equal(
    shapeMessage(() => runOperator(Transpose, onnxNode('Transpose', { perm: ints([0, 0]) }), [x])),
    'perm [0, 0] is not a permutation of the 2 axes',
  );
});

t.test('Reshape: 0 copies an axis, -1 takes the rest', async (t) => {
  t.same(one(runOperator(Reshape, onnxNode('Reshape'), [x, intTensor([2], [3, -1])])), [
    [3, 2],
    [0, 1, 2, 3, 4, 5],
  ]);
  t.same(one(runOperator(Reshape, onnxNode('Reshape'), [x, intTensor([3], [0, 1, -1])])), [
    [2, 1, 3],
    [0, 1, 2, 3, 4, 5],
  ]);
  t.equal(
    shapeMessage(() => runOperator(Reshape, onnxNode('Reshape'), [x, intTensor([1], [4])])),
    'cannot reshape [2, 3] to [4]',
  );
  t.equal(
    shapeMessage(() => runOperator(Reshape, onnxNode('Reshape'), [x, intTensor([2], [-1, -1])])),
    'shape [-1, -1] is not a shape',
  );
  t.equal(
    shapeMessage(() => Reshape.infer({ allowZero: false }, [metaOf(x), { type: 'int', shape: [2] }])),
    'input 1 (shape) must be computable from shapes and constants; here it depends on request data',
  );
});

t.test('Slice: bounds from the end, clamped, negative steps', async (t) => {
  const row = floatTensor([6], [0, 1, 2, 3, 4, 5]);
  const slice = (starts: number[], ends: number[], axes?: number[], steps?: number[], data = row) =>
    one(
      runOperator(Slice, onnxNode('Slice'), [
        data,
        intTensor([starts.length], starts),
        intTensor([ends.length], ends),
        axes === undefined ? null : intTensor([axes.length], axes),
        steps === undefined ? null : intTensor([steps.length], steps),
      ]),
    );
  t.same(slice([1], [4]), [[3], [1, 2, 3]]);
  t.same(slice([-2], [2 ** 63]), [[2], [4, 5]], "torch's INT64_MAX: to the end");
  t.same(slice([-1], [-1000], [0], [-2]), [[3], [5, 3, 1]]);
  t.same(slice([0], [100], [0], [4]), [[2], [0, 4]]);
  t.same(slice([4], [2]), [[0], []], 'an empty slice');
  t.same(
    slice([-1], [0], [-1], [-1], x),
    [
      [2, 2],
      [2, 1, 5, 4],
    ],
    'the last axis of [2, 3], backwards to 1',
  );
  t.equal(
    shapeMessage(() => slice([0], [1], [0], [0])),
    'steps has a 0',
  );
  t.equal(
    shapeMessage(() => slice([0, 1], [1])),
    'starts, ends, axes and steps must have one value per sliced axis',
  );
});
