/**
 * math-ops.ts: MatMul, Add, Gemm, Softmax and LogSoftmax as ONNX defines them. Held to products and sums worked by
 * hand (shared and batched B, numpy broadcasting, Gemm's transposes, alpha and beta), softmax values of known
 * logits, the costs the plan counts, and each shape refusal's message.
 */
import t from 'tap';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import { Add, Gemm, LogSoftmax, MatMul, Softmax } from '../../../src/models/onnx/math-ops.js';
import { ShapeError } from '../../../src/models/onnx/operator.js';
import { float, floatTensor, int, intTensor, metaOf, onnxNode, runOperator } from '../../helpers/onnx-ops.js';

const values = (outputs: ReturnType<typeof runOperator>) => outputs.map((o) => [o.shape, o.values]);
const shapeMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ShapeError) return error.message;
    throw error;
  }
  throw new Error('no ShapeError');
};

t.test('MatMul: [M, K] × [K, N], B shared by a batch or batched', async (t) => {
  const a = floatTensor([2, 2], [1, 2, 3, 4]);
  const b = floatTensor([2, 3], [1, 0, 2, 0, 1, 3]);
  t.same(values(runOperator(MatMul, onnxNode('MatMul'), [a, b])), [
    [
      [2, 3],
      [1, 2, 8, 3, 4, 18],
    ],
  ]);
  // [2, 1, 2] × [2, 2]: each row by the same B.
  const rows = floatTensor([2, 1, 2], [1, 0, 0, 1]);
  const identityish = floatTensor([2, 2], [5, 6, 7, 8]);
  t.same(values(runOperator(MatMul, onnxNode('MatMul'), [rows, identityish])), [
    [
      [2, 1, 2],
      [5, 6, 7, 8],
    ],
  ]);
  // [2, 1, 2] × [2, 2, 1]: each batch by its own B.
  const own = floatTensor([2, 2, 1], [1, 1, 10, 100]);
  t.same(values(runOperator(MatMul, onnxNode('MatMul'), [floatTensor([2, 1, 2], [1, 2, 3, 4]), own])), [
    [
      [2, 1, 1],
      [3, 430],
    ],
  ]);
  const cost = MatMul.cost?.(null, [metaOf(a), metaOf(b)], [{ type: 'float', shape: [2, 3] }]);
  t.equal(cost, 2 * 3 * 2, 'M·N·K');
  t.equal(
    shapeMessage(() => MatMul.infer(null, [metaOf(a), metaOf(floatTensor([3, 1], [0, 0, 0]))])),
    'A [2, 2] and B [3, 1] do not agree on K',
  );
  t.equal(
    shapeMessage(() => MatMul.infer(null, [metaOf(floatTensor([2], [0, 0])), metaOf(b)])),
    'input 0 (A) has shape [2]; expected at least 2 dimensions',
  );
  t.equal(
    shapeMessage(() => MatMul.infer(null, [metaOf(a), metaOf(intTensor([2, 2], [0, 0, 0, 0]))])),
    'input 1 (B) is int; expected float',
  );
  t.equal(
    shapeMessage(() => MatMul.infer(null, [metaOf(rows), metaOf(floatTensor([3, 2, 1], [0, 0, 0, 0, 0, 0]))])),
    "input 1 (B) has shape [3, 2, 1]; expected [K, N] or A's leading dimensions then [K, N]",
  );
});

t.test('Add: numpy broadcasting, float or int', async (t) => {
  const x = floatTensor([2, 3], [1, 2, 3, 4, 5, 6]);
  t.same(values(runOperator(Add, onnxNode('Add'), [x, floatTensor([3], [10, 20, 30])])), [
    [
      [2, 3],
      [11, 22, 33, 14, 25, 36],
    ],
  ]);
  t.same(values(runOperator(Add, onnxNode('Add'), [floatTensor([2, 1], [100, 200]), x])), [
    [
      [2, 3],
      [101, 102, 103, 204, 205, 206],
    ],
  ]);
  t.same(values(runOperator(Add, onnxNode('Add'), [intTensor([], [1]), intTensor([2], [2, 3])])), [[[2], [3, 4]]]);
  t.equal(
    shapeMessage(() => Add.infer(null, [metaOf(x), metaOf(floatTensor([2], [0, 0]))])),
    'shapes [2, 3] and [2] do not broadcast',
  );
  t.equal(
    shapeMessage(() => Add.infer(null, [metaOf(x), metaOf(intTensor([3], [0, 0, 0]))])),
    'A and B: inputs are float and int; expected one type',
  );
});

t.test('Gemm: alpha·A′·B′ + beta·C, with transposes', async (t) => {
  const a = floatTensor([1, 2], [1, 2]);
  const b = floatTensor([2, 2], [1, 2, 3, 4]);
  const c = floatTensor([2], [10, 20]);
  t.same(values(runOperator(Gemm, onnxNode('Gemm'), [a, b, c])), [
    [
      [1, 2],
      [17, 30],
    ],
  ]);
  // B transposed: [[1, 3], [2, 4]] as B′; alpha 2, beta 0.5.
  const node = onnxNode('Gemm', { transB: int(1), alpha: float(2), beta: float(0.5) });
  t.same(values(runOperator(Gemm, node, [a, b, c])), [
    [
      [1, 2],
      [15, 32],
    ],
  ]);
  // A transposed: [2, 1] read as [1, 2].
  t.same(values(runOperator(Gemm, onnxNode('Gemm', { transA: int(1) }), [floatTensor([2, 1], [1, 2]), b])), [
    [
      [1, 2],
      [7, 10],
    ],
  ]);
  const settings = Gemm.prepare(onnxNode('Gemm'));
  t.equal(Gemm.cost?.(settings, [metaOf(a), metaOf(b)], [{ type: 'float', shape: [1, 2] }]), 4, 'M·N·K');
  t.throws(() => Gemm.prepare(onnxNode('Gemm', { transA: int(2) }, [], ['y'], 'fc')), {
    constructor: OnnxModelError,
    message: "node 'fc' (Gemm): attribute 'transA' is 2; expected 0 or 1",
  });
  t.equal(
    shapeMessage(() => Gemm.infer(settings, [metaOf(a), metaOf(b), metaOf(floatTensor([3], [0, 0, 0]))])),
    'shapes [3] and [1, 2] do not broadcast',
  );
  t.equal(
    shapeMessage(() => Gemm.infer(settings, [metaOf(floatTensor([1, 3], [0, 0, 0])), metaOf(b)])),
    'A [1, 3] and B [2, 2] do not agree on K',
  );
  t.equal(
    shapeMessage(() => Gemm.infer(settings, [metaOf(floatTensor([2], [0, 0])), metaOf(b)])),
    'input 0 (A) has shape [2]; expected 2 dimensions',
  );
});

t.test('Softmax and LogSoftmax over an axis', async (t) => {
  // logits 0 and ln 3: probabilities 1/4 and 3/4, whatever constant is added to both.
  const logits = floatTensor([2, 2], [0, Math.log(3), 2, 2 + Math.log(3)]);
  const [soft] = runOperator(Softmax, onnxNode('Softmax'), [logits]);
  soft.values.forEach((v, i) => t.ok(Math.abs(v - [0.25, 0.75][i % 2]) < 1e-6, `softmax[${i}] ${v}`));
  const [log] = runOperator(LogSoftmax, onnxNode('LogSoftmax'), [logits]);
  log.values.forEach((v, i) => t.ok(Math.abs(v - Math.log([0.25, 0.75][i % 2])) < 1e-6, `log softmax[${i}] ${v}`));
  // Over axis 0: each column.
  const [columns] = runOperator(Softmax, onnxNode('Softmax', { axis: int(0) }), [
    floatTensor([2, 2], [0, 5, Math.log(3), 5]),
  ]);
  columns.values.forEach((v, i) => t.ok(Math.abs(v - [0.25, 0.5, 0.75, 0.5][i]) < 1e-6, `column softmax[${i}]`));
  const settings = Softmax.prepare(onnxNode('Softmax'));
  t.equal(Softmax.cost?.(settings, [], [{ type: 'float', shape: [2, 3] }]), 18, '3 per element');
  t.equal(
    shapeMessage(() => Softmax.infer({ axis: 2 }, [metaOf(logits)])),
    'axis 2 is outside [-2, 2) for rank 2',
  );
});
