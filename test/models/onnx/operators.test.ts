/**
 * The interpreter's operators against onnxruntime-node on hand-built graphs: the attribute and input
 * combinations torch's exports do not reach (negative slice steps, negative gather indices, reshape's 0 and -1,
 * Gemm's transposes, alpha and beta, batched MatMul, broadcasting, softmax on other axes, shape arithmetic),
 * each graph decoded, checked, planned and run as the server does, and its outputs compared within 1e-6 of
 * max(1, |value|).
 */
import t from 'tap';
import { decodeOnnx } from '../../../src/models/onnx/decode.js';
import { planProgram, prepareProgram, runProgram } from '../../../src/models/onnx/program.js';
import type { Tensor, TensorMeta } from '../../../src/models/onnx/tensor.js';
import { type FixtureTensor, type GraphSpec, graphModel, maxDiff, runOrt } from '../../helpers/onnx.js';

const values = (n: number) => Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 1.7) * 1000) / 250);
const x = (shape: number[]): FixtureTensor => ({
  datatype: 'FP32',
  shape,
  data: values(shape.reduce((a, b) => a * b, 1)),
});

/** Runs `spec` here and in onnxruntime on the same bytes; returns both outputs by name. */
async function both(spec: GraphSpec, inputs: Record<string, FixtureTensor>) {
  const bytes = graphModel(spec);
  const program = prepareProgram(decodeOnnx(bytes));
  const metas = new Map<string, TensorMeta>();
  const tensors = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(inputs)) {
    metas.set(name, { type: 'float', shape: v.shape });
    tensors.set(name, { type: 'float', shape: v.shape, data: Float32Array.from(v.data) });
  }
  const plan = planProgram(program, metas);
  const ours = runProgram(program, plan, tensors);
  const ort = await runOrt(bytes, inputs);
  return { ours, ort, plan };
}

const CASES: [string, GraphSpec, Record<string, FixtureTensor>][] = [
  [
    'Slice: negative steps, negative and clamped bounds, axes out of order',
    {
      inputs: [{ name: 'x', shape: ['a', 5, 6] }],
      outputs: [['y', 3]],
      nodes: [{ op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes', 'steps'], outputs: ['y'] }],
      initializers: [
        { name: 'starts', dims: [2], values: [-1, 4], int: true },
        { name: 'ends', dims: [2], values: [-1000, 0], int: true },
        { name: 'axes', dims: [2], values: [2, -2], int: true },
        { name: 'steps', dims: [2], values: [-2, -1], int: true },
      ],
    },
    { x: x([3, 5, 6]) },
  ],
  [
    'Slice: positive steps past the end',
    {
      inputs: [{ name: 'x', shape: [4, 'b'] }],
      outputs: [['y', 2]],
      nodes: [{ op: 'Slice', inputs: ['x', 'starts', 'ends', '', 'steps'], outputs: ['y'] }],
      initializers: [
        { name: 'starts', dims: [2], values: [1, 0], int: true },
        { name: 'ends', dims: [2], values: [100, 9], int: true },
        { name: 'steps', dims: [2], values: [2, 3], int: true },
      ],
    },
    { x: x([4, 7]) },
  ],
  [
    'Gather on axis 1 with negative indices of rank 2',
    {
      inputs: [{ name: 'x', shape: [3, 4, 2] }],
      outputs: [['y', 4]],
      nodes: [{ op: 'Gather', inputs: ['x', 'i'], outputs: ['y'], attributes: { axis: 1 } }],
      initializers: [{ name: 'i', dims: [2, 2], values: [-1, 0, 2, 1], int: true }],
    },
    { x: x([3, 4, 2]) },
  ],
  [
    'Transpose with a permutation, then the default (reversed axes)',
    {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      outputs: [
        ['y', 3],
        ['z', 3],
      ],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: { perm: [2, 0, 1] } },
        { op: 'Transpose', inputs: ['x'], outputs: ['z'] },
      ],
    },
    { x: x([2, 3, 4]) },
  ],
  [
    "Reshape's 0 and -1, Unsqueeze on a negative axis, Squeeze without axes, Identity",
    {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      outputs: [
        ['y', 3],
        ['z', 2],
      ],
      nodes: [
        { op: 'Reshape', inputs: ['x', 's'], outputs: ['r'] },
        { op: 'Unsqueeze', inputs: ['r', 'a'], outputs: ['y'] },
        { op: 'Squeeze', inputs: ['y'], outputs: ['q'] },
        { op: 'Identity', inputs: ['q'], outputs: ['z'] },
      ],
      initializers: [
        { name: 's', dims: [2], values: [0, -1], int: true },
        { name: 'a', dims: [1], values: [-1], int: true },
      ],
    },
    { x: x([2, 3, 4]) },
  ],
  [
    'Gemm with both transposes, alpha, beta and a broadcast C',
    {
      inputs: [
        { name: 'a', shape: [4, 3] },
        { name: 'b', shape: [5, 4] },
      ],
      outputs: [['y', 2]],
      nodes: [
        {
          op: 'Gemm',
          inputs: ['a', 'b', 'c'],
          outputs: ['y'],
          attributes: { transA: 1, transB: 1, alpha: 0.5, beta: 2 },
          floats: ['alpha', 'beta'],
        },
      ],
      initializers: [{ name: 'c', dims: [5], values: [1, -1, 0.5, 0.25, 2] }],
    },
    { a: x([4, 3]), b: x([5, 4]) },
  ],
  [
    'MatMul batched, and with a shared [K, N]',
    {
      inputs: [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [2, 4, 5] },
      ],
      outputs: [
        ['y', 3],
        ['z', 3],
      ],
      nodes: [
        { op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] },
        { op: 'MatMul', inputs: ['a', 'w'], outputs: ['z'] },
      ],
      initializers: [{ name: 'w', dims: [4, 2], values: [1, 2, 3, 4, -1, -2, -3, 0.5] }],
    },
    { a: x([2, 3, 4]), b: x([2, 4, 5]) },
  ],
  [
    'Add broadcasting both ways, Concat on a negative axis',
    {
      inputs: [
        { name: 'a', shape: [3, 1, 4] },
        { name: 'b', shape: [2, 1] },
      ],
      outputs: [['y', 3]],
      nodes: [
        { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        { op: 'Concat', inputs: ['s', 's'], outputs: ['y'], attributes: { axis: -1 } },
      ],
    },
    { a: x([3, 1, 4]), b: x([2, 1]) },
  ],
  [
    'Softmax on axis 0, LogSoftmax on axis 1',
    {
      inputs: [{ name: 'x', shape: [3, 4, 5] }],
      outputs: [
        ['y', 3],
        ['z', 3],
      ],
      nodes: [
        { op: 'Softmax', inputs: ['x'], outputs: ['y'], attributes: { axis: 0 } },
        { op: 'LogSoftmax', inputs: ['x'], outputs: ['z'], attributes: { axis: 1 } },
      ],
    },
    { x: x([3, 4, 5]) },
  ],
  [
    'shape arithmetic: Shape with start and end, Gather, Unsqueeze, Concat, ConstantOfShape, Reshape',
    {
      opset: 15, // Shape's start and end
      inputs: [{ name: 'x', shape: ['a', 'b', 6] }],
      outputs: [
        ['y', 2],
        ['z', 3],
      ],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'], attributes: { start: 1, end: 3 } },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['time'], attributes: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['time', 'zeroAxis'], outputs: ['time1'] },
        { op: 'Concat', inputs: ['minusOne', 'time1'], outputs: ['shape'], attributes: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y0'] },
        { op: 'Transpose', inputs: ['y0'], outputs: ['y'] },
        { op: 'Shape', inputs: ['x'], outputs: ['all'] },
        { op: 'ConstantOfShape', inputs: ['all'], outputs: ['ones'] },
        { op: 'Add', inputs: ['x', 'ones'], outputs: ['z'] },
      ],
      initializers: [
        { name: 'zero', dims: [], values: [0], int: true },
        { name: 'zeroAxis', dims: [1], values: [0], int: true },
        { name: 'minusOne', dims: [1], values: [-1], int: true },
      ],
    },
    { x: x([2, 3, 6]) },
  ],
];

t.test('each operator answers as onnxruntime does', async (t) => {
  for (const [what, spec, inputs] of CASES) {
    const { ours, ort } = await both(spec, inputs);
    for (const [name] of spec.outputs) {
      const got = ours.get(name) as Tensor;
      t.same([...got.shape], ort[name].shape, `${what}: ${name} shape ${JSON.stringify(ort[name].shape)}`);
      // Relative to the value: onnxruntime sums in float32, we in float64 (a product sum of 64 differs by 4e-6).
      const expected = ort[name].data;
      const diff = maxDiff(
        Array.from(got.data, (v, i) => v / Math.max(1, Math.abs(expected[i]))),
        expected.map((v) => v / Math.max(1, Math.abs(v))),
      );
      t.ok(diff <= 1e-6, `${what}: ${name} |ours - onnxruntime| / max(1, |onnxruntime|) = ${diff}`);
    }
  }
});

t.test('the plan knows every size and folds the shape arithmetic before any float data exists', async (t) => {
  const [, spec] = CASES[CASES.length - 1];
  const program = prepareProgram(decodeOnnx(graphModel(spec)));
  const plan = planProgram(program, new Map([['x', { type: 'float', shape: [2, 3, 6] }]]));
  t.same(Array.from(plan.metas.get('shape')?.known?.data ?? []), [-1, 3], 'Concat of the shape: known');
  t.same(Array.from(plan.metas.get('all')?.known?.data ?? []), [2, 3, 6], 'Shape: known');
  t.same(plan.metas.get('y')?.shape, [3, 12]);
  t.equal(plan.metas.get('z')?.known, undefined, 'float data is not computed while planning');
  // Float tensors written: y0 and y (36 each), ones and z (36 each): 144 floats.
  t.equal(plan.bytes, 144 * 4);
});
