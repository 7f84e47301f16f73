/**
 * The LSTM and GRU operators (src/models/onnx/gated-op.ts) against onnxruntime-node on hand-built one-node graphs:
 * the activation combinations, clip, bias, initial states, the optional outputs and the zero peepholes that
 * neither torch's exports nor the fixtures reach, each graph decoded, checked, planned and run as the server does.
 */
import t from 'tap';
import { decodeOnnx } from '../../../src/models/onnx/decode.js';
import { planProgram, prepareProgram, runProgram } from '../../../src/models/onnx/program.js';
import type { Tensor, TensorMeta } from '../../../src/models/onnx/tensor.js';
import { type FixtureTensor, type GraphSpec, type NodeSpec, graphModel, maxDiff, runOrt } from '../../helpers/onnx.js';

const TOLERANCE = 1e-5;
const values = (n: number, scale: number, phase = 0) =>
  Array.from({ length: n }, (_, i) => (Math.round(Math.sin(i * 1.7 + phase) * 1000) / 1000) * scale);
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const float = (shape: number[], scale = 1.5, phase = 0): FixtureTensor => ({
  datatype: 'FP32',
  shape,
  data: values(count(shape), scale, phase),
});

/** A one-node LSTM or GRU graph: hidden 4, input 3, weights from `seed`; `inputs` names the node's extra inputs. */
function cellGraph(
  op: 'LSTM' | 'GRU',
  dirs: 1 | 2,
  node: Omit<NodeSpec, 'op' | 'outputs' | 'inputs'> & { inputs: string[]; outputs?: string[] },
  graphInputs: GraphSpec['inputs'],
  extraNodes: NodeSpec[] = [],
): GraphSpec {
  const g = op === 'LSTM' ? 4 : 3;
  const outputs = node.outputs ?? (op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']);
  return {
    inputs: graphInputs,
    outputs: outputs.filter((o) => o !== '').map((o) => [o, o === 'Y' ? 4 : 3]),
    nodes: [...extraNodes, { op, ...node, outputs }],
    initializers: [
      { name: 'W', dims: [dirs, g * 4, 3], values: values(dirs * g * 12, 0.6, 0.3) },
      { name: 'R', dims: [dirs, g * 4, 4], values: values(dirs * g * 16, 0.4, 1.1) },
      { name: 'B', dims: [dirs, 2 * g * 4], values: values(dirs * g * 8, 0.3, 2.3) },
    ],
  };
}

/** Runs `spec` here and in onnxruntime on the same bytes; returns both outputs by name, and our plan. */
async function both(spec: GraphSpec, inputs: Record<string, FixtureTensor>) {
  const bytes = graphModel(spec);
  const program = prepareProgram(decodeOnnx(bytes));
  const metas = new Map<string, TensorMeta>();
  const tensors = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(inputs)) {
    const type = v.datatype === 'FP32' ? 'float' : 'int';
    metas.set(name, { type, shape: v.shape });
    tensors.set(name, {
      type,
      shape: v.shape,
      data: type === 'float' ? Float32Array.from(v.data) : Float64Array.from(v.data),
    });
  }
  const plan = planProgram(program, metas);
  const ours = runProgram(program, plan, tensors);
  const ort = await runOrt(bytes, inputs);
  return { ours, ort, plan };
}

const CASES: [string, GraphSpec, Record<string, FixtureTensor>][] = [
  [
    'bidirectional LSTM: HardSigmoid gates and Relu forward, Sigmoid gates and Softsign backward, clip, lengths',
    cellGraph(
      'LSTM',
      2,
      {
        inputs: ['X', 'W', 'R', 'B', 'lens'],
        attributes: {
          hidden_size: 4,
          direction: 'bidirectional',
          activations: ['HardSigmoid', 'Relu', 'Relu', 'Sigmoid', 'Softsign', 'Softsign'],
          clip: 2.5,
        },
        floats: ['clip'],
      },
      [
        { name: 'X', shape: ['time', 'batch', 3] },
        { name: 'lens', elemType: 6, shape: ['batch'] },
      ],
    ),
    { X: float([5, 3, 3]), lens: { datatype: 'INT32', shape: [3], data: [5, 2, 4] } },
  ],
  [
    'LSTM: Elu for g and h (alpha 1 given), initial_c without initial_h, only Y_h named, zero peepholes',
    cellGraph(
      'LSTM',
      1,
      {
        inputs: ['X', 'W', 'R', 'B', '', '', 'c0', 'P'],
        outputs: ['', 'Y_h'],
        attributes: { hidden_size: 4, activations: ['Sigmoid', 'Elu', 'Elu'], activation_alpha: [1, 1] },
        floats: ['activation_alpha'],
      },
      [
        { name: 'X', shape: ['time', 'batch', 3] },
        { name: 'c0', shape: [1, 'batch', 4] },
      ],
    ),
    { X: float([4, 2, 3], 1.5, 0.7), c0: float([1, 2, 4], 0.8, 0.2) },
  ],
  [
    'bidirectional GRU, linear_before_reset 0: Relu candidate forward, HardSigmoid gates backward, initial_h',
    cellGraph(
      'GRU',
      2,
      {
        inputs: ['X', 'W', 'R', 'B', '', 'h0'],
        attributes: {
          hidden_size: 4,
          direction: 'bidirectional',
          activations: ['Sigmoid', 'Relu', 'HardSigmoid', 'Tanh'],
        },
      },
      [
        { name: 'X', shape: ['time', 'batch', 3] },
        { name: 'h0', shape: [2, 'batch', 4] },
      ],
    ),
    { X: float([4, 2, 3], 1.2, 0.4), h0: float([2, 2, 4], 0.5, 0.9) },
  ],
  [
    'reverse GRU, linear_before_reset 1: Affine (alpha 1, beta 0) candidate, clip',
    cellGraph(
      'GRU',
      1,
      {
        inputs: ['X', 'W', 'R', 'B'],
        attributes: {
          hidden_size: 4,
          direction: 'reverse',
          linear_before_reset: 1,
          activations: ['Sigmoid', 'Affine'],
          activation_alpha: [1],
          activation_beta: [0],
          clip: 1.5,
        },
        floats: ['activation_alpha', 'activation_beta', 'clip'],
      },
      [{ name: 'X', shape: ['time', 'batch', 3] }],
    ),
    { X: float([6, 2, 3], 1.0, 1.9) },
  ],
];
// All-zero peepholes [1, 3 · hidden]: accepted, and onnxruntime computes with them.
(CASES[1][1].initializers ?? []).push({ name: 'P', dims: [1, 12], values: new Array(12).fill(0) });

t.test('LSTM and GRU nodes answer as onnxruntime does, within 1e-5', async (t) => {
  for (const [what, spec, inputs] of CASES) {
    const { ours, ort } = await both(spec, inputs);
    t.ok(Object.keys(ort).length > 0, `${what}: onnxruntime answered`);
    for (const [name] of spec.outputs) {
      const got = ours.get(name) as Tensor;
      t.same([...got.shape], ort[name].shape, `${what}: ${name} shape ${JSON.stringify(ort[name].shape)}`);
      const diff = maxDiff(got.data, ort[name].data);
      t.ok(diff <= TOLERANCE, `${what}: ${name} |ours - onnxruntime| = ${diff}`);
    }
  }
});

t.test('the plan: G times the RNN products, time steps and batch, before any float data exists', async (t) => {
  const [, lstm, lstmInputs] = CASES[0];
  const { plan } = await both(lstm, lstmInputs);
  // 4 gates · 2 directions · 5 steps · 3 sequences · 4 units · (3 + 4).
  t.equal(plan.compute, 4 * 2 * 5 * 3 * 4 * 7);
  t.equal(plan.timeSteps, 5);
  t.equal(plan.batch, 3);
  // Y [5, 2, 3, 4], Y_h and Y_c [2, 3, 4]: 168 floats. While the node runs: X batch-major (45 floats), per
  // direction the engine's sequence (60) with h and c (24), and the smallest kernel heap (64 KiB). W is an
  // initializer: its converted weights and panels stay with the model and are not charged.
  t.equal(plan.bytes, 168 * 4 + 45 * 4 + 2 * (60 + 24) * 4 + 64 * 1024);
  const [, gru, gruInputs] = CASES[2];
  t.equal((await both(gru, gruInputs)).plan.compute, 3 * 2 * 4 * 2 * 4 * 7);
});

t.test(
  'converted weights are reused across requests of other sizes: a sequence answers the same in any batch',
  async (t) => {
    const [, spec, inputs] = CASES[0];
    const program = prepareProgram(decodeOnnx(graphModel(spec)));
    const run = (x: FixtureTensor, lens: number[]) => {
      const metas = new Map<string, TensorMeta>([
        ['X', { type: 'float', shape: x.shape }],
        ['lens', { type: 'int', shape: [lens.length] }],
      ]);
      const tensors = new Map<string, Tensor>([
        ['X', { type: 'float', shape: x.shape, data: Float32Array.from(x.data) }],
        ['lens', { type: 'int', shape: [lens.length], data: Float64Array.from(lens) }],
      ]);
      return runProgram(program, planProgram(program, metas), tensors);
    };
    const whole = run(inputs.X, [5, 2, 4]);
    // Sequence 1 of the batch of 3, alone: X[:, 1, :].
    const x1 = {
      datatype: 'FP32',
      shape: [5, 1, 3],
      data: [0, 1, 2, 3, 4].flatMap((s) => inputs.X.data.slice((s * 3 + 1) * 3, (s * 3 + 2) * 3)),
    };
    const alone = run(x1, [2]);
    for (const name of ['Y_h', 'Y_c']) {
      const all = (whole.get(name) as Tensor).data;
      const one = (alone.get(name) as Tensor).data;
      for (let d = 0; d < 2; d++)
        t.same(
          Array.from(one.subarray(d * 4, d * 4 + 4)),
          Array.from(all.subarray((d * 3 + 1) * 4, (d * 3 + 2) * 4)),
          `${name}[${d}]`,
        );
    }
  },
);
