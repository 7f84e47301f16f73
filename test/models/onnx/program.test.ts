/**
 * program.ts: the load-time check of a decoded graph, and the interpreter's plan and run. Held to: fixtures exported
 * by torch run to torch's own outputs (test/fixtures/onnx, cases.json) within 1e-5; the plan's shapes, folded int
 * tensors, multiply-adds, time steps and batch from the input shapes alone; and each load-time refusal's one line
 * naming the node.
 */
import t from 'tap';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import {
  NodeShapeError,
  OPERATORS,
  loadOnnxProgram,
  planProgram,
  runProgram,
} from '../../../src/models/onnx/program.js';
import type { Tensor, TensorMeta } from '../../../src/models/onnx/tensor.js';
import {
  type FixtureTensor,
  type GraphSpec,
  fixtureBytes,
  fixtureCases,
  graphModel,
  maxDiff,
} from '../../helpers/onnx.js';

const tensorOf = (f: FixtureTensor): Tensor =>
  f.datatype === 'FP32'
    ? { type: 'float', shape: f.shape, data: Float32Array.from(f.data) }
    : { type: 'int', shape: f.shape, data: Float64Array.from(f.data) };
const metasOf = (inputs: Record<string, FixtureTensor>) =>
  new Map(
    Object.entries(inputs).map(([name, f]): [string, TensorMeta] => [name, { type: tensorOf(f).type, shape: f.shape }]),
  );

const refusal = (spec: GraphSpec): string => {
  try {
    loadOnnxProgram(graphModel(spec));
  } catch (error) {
    if (error instanceof OnnxModelError) return error.message;
    throw error;
  }
  throw new Error('the graph loaded');
};

t.test("torch's exports run to torch's outputs", async (t) => {
  for (const name of ['rnn-1-tanh-bf', 'lstm-2-bf-h0', 'gru-2-bi-h0-nobias', 'embedding-classifier', 'node-lengths']) {
    const program = loadOnnxProgram(fixtureBytes(name));
    for (const [i, { inputs, outputs }] of fixtureCases(name).entries()) {
      const plan = planProgram(program, metasOf(inputs));
      const values = runProgram(program, plan, new Map(Object.entries(inputs).map(([n, f]) => [n, tensorOf(f)])));
      for (const [output, expected] of Object.entries(outputs)) {
        const got = values.get(output) as Tensor;
        t.same(got.shape, expected.shape, `${name} case ${i}: ${output}'s shape`);
        t.same(plan.metas.get(output)?.shape, expected.shape, `${name} case ${i}: ${output}'s planned shape`);
        t.ok(maxDiff(got.data, expected.data) < 1e-5, `${name} case ${i}: ${output} within 1e-5`);
      }
    }
  }
});

t.test('the plan: shapes, folded shape arithmetic, cost, time steps and batch', async (t) => {
  // rnn-1-tanh-bf: nn.RNN(3, 4, batch_first) — x [batch, time, 3]; torch builds h0 from Shape → Gather → ... .
  const program = loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'));
  t.same(program.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, -1, 3] }]);
  t.same(
    program.outputs.map((o) => [o.name, o.shape]),
    [
      ['y', [-1, -1, 4]],
      ['h_n', [1, -1, 4]],
    ],
  );
  const plan = planProgram(program, new Map([['x', { type: 'float', shape: [2, 5, 3] }]]));
  t.equal(plan.timeSteps, 5);
  t.equal(plan.batch, 2);
  t.same(plan.metas.get('y')?.shape, [2, 5, 4]);
  t.same(plan.metas.get('h_n')?.shape, [1, 2, 4]);
  // The RNN node: seq·batch·hidden·(input + hidden) = 5·2·4·7 multiply-adds; the rest moves values.
  t.ok(plan.compute >= 280, `at least the RNN's 280 multiply-adds (${plan.compute})`);
  const folded = [...plan.metas.values()].filter((m) => m.type === 'int' && m.known !== undefined);
  t.ok(folded.length > 0, 'the shape arithmetic torch writes is known while planning');
  t.ok(plan.bytes >= (2 * 5 * 4 + 1 * 2 * 4) * 4, 'at least y and h_n as float32');
  const longer = planProgram(program, new Map([['x', { type: 'float', shape: [2, 10, 3] }]]));
  t.equal(longer.timeSteps, 10);
  t.ok(longer.compute - plan.compute >= 280, 'twice the steps, twice the RNN');
});

t.test('a plan that does not fit throws a NodeShapeError naming the node and the input at fault', async (t) => {
  const program = loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'));
  let error: unknown = null;
  try {
    planProgram(program, new Map([['x', { type: 'float', shape: [2, 5, 7] }]]));
  } catch (thrown) {
    error = thrown;
  }
  t.ok(error instanceof NodeShapeError);
  t.equal((error as NodeShapeError).label, "node '/rnn/RNN' (RNN)");
  t.equal((error as NodeShapeError).message, 'W is float [1, 4, 3]; expected float [1, 4, 7]');
});

const identity = (extra: Partial<GraphSpec> = {}): GraphSpec => ({
  inputs: [{ name: 'x', shape: ['b', 2] }],
  outputs: [['y', 2]],
  nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  ...extra,
});

t.test('load-time refusals, one line each', async (t) => {
  t.ok(loadOnnxProgram(graphModel(identity())), 'the graph itself loads');
  t.same(Object.keys(OPERATORS).length, 19);
  t.equal(
    refusal(identity({ nodes: [{ op: 'Cos', inputs: ['x'], outputs: ['y'] }] })),
    `node 'n0' (Cos): operator Cos is not supported (supported: ${Object.keys(OPERATORS).join(', ')})`,
  );
  t.equal(
    refusal(identity({ nodes: [{ op: 'Identity', inputs: ['z'], outputs: ['y'] }] })),
    "node 'n0' (Identity): reads 'z', which no earlier node, input or initializer defines",
  );
  t.equal(
    refusal(
      identity({
        nodes: [
          { op: 'Identity', inputs: ['x'], outputs: ['y'] },
          { op: 'Identity', inputs: ['x'], outputs: ['y'] },
        ],
      }),
    ),
    "node 'n1' (Identity): writes 'y', which is already defined",
  );
  t.equal(
    refusal(identity({ nodes: [{ op: 'Add', inputs: ['x'], outputs: ['y'] }] })),
    "node 'n0' (Add): has 1 inputs; expected 2",
  );
  t.equal(
    refusal(identity({ nodes: [{ op: 'Slice', inputs: ['x', 'x'], outputs: ['y'] }] })),
    "node 'n0' (Slice): has 2 inputs; expected 3 to 5",
  );
  t.equal(
    refusal(identity({ nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y', 'z'] }] })),
    "node 'n0' (Identity): has 2 outputs; expected 1 to 1",
  );
  t.equal(refusal(identity({ outputs: [['w', 2]] })), "output 'w' is not computed by any node");
  t.equal(
    refusal(identity({ inputs: [{ name: 'x', shape: [0, 2] }] })),
    "input 'x' has shape [0, 2]; dimensions must be positive or dynamic",
  );
  t.equal(
    refusal(identity({ inputs: [{ name: 'x', elemType: 11, shape: ['b', 2] }] })),
    "input 'x' is DOUBLE; rnn-serve serves FLOAT, INT64 and INT32 inputs",
  );
  t.equal(
    refusal({
      inputs: [{ name: 'x', shape: ['b', 2] }],
      outputs: [['y', 2]],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dims: [3, 1], values: [1, 2, 3] }],
    }),
    "node 'n0' (MatMul): A [2, 2] and B [3, 1] do not agree on K (planned with every dynamic axis 2)",
  );
});
