/**
 * backend.ts plans and runs one inference request on an ONNX graph. Held to: torch's outputs for a torch export
 * (test/fixtures/onnx cases), named inputs and outputs and the forward view (h_n split into its states), the token
 * ids of the TF.js convention, the state pairs a sequence carries, the limits, and each refusal's path and message.
 */
import t from 'tap';
import { type OnnxModel, onnxCarry, onnxStatePairs, planOnnx, runOnnx } from '../../../src/models/onnx/backend.js';
import { loadOnnxProgram } from '../../../src/models/onnx/program.js';
import { fixtureBytes, fixtureCases, maxDiff } from '../../helpers/onnx.js';
import {
  LIMITS,
  asked,
  inferenceRequest,
  limits,
  nestedTensor,
  problemOf,
  typedTensor,
} from '../../helpers/inference.js';

const model = (fixture: string, labels: string[] | null = null): OnnxModel => ({
  name: fixture,
  version: '1',
  program: loadOnnxProgram(fixtureBytes(fixture)),
  labels,
});
const answer = (m: OnnxModel, request: ReturnType<typeof inferenceRequest>, within = LIMITS) => {
  const planned = planOnnx(m, request, within);
  return runOnnx(m.program, planned.plan, planned.runInputs());
};

t.test("named inputs and outputs: torch's own outputs, in the order asked", async (t) => {
  const gru = model('gru-2-bf-h0');
  const [first] = fixtureCases('gru-2-bf-h0');
  const { x, h0 } = first.inputs;
  const request = inferenceRequest(
    [typedTensor('h0', 'FP32', h0.shape, h0.data, 'inputs[0]'), typedTensor('x', 'FP32', x.shape, x.data, 'inputs[1]')],
    {},
    [asked('h_n', 0), asked('y', 1)],
  );
  const planned = planOnnx(gru, request, LIMITS);
  t.same(planned.shape, [x.shape[0], x.shape[1]], '[batch, time] of the GRU node');
  t.ok(planned.bytes >= planned.plan.bytes + (x.data.length + h0.data.length) * 8);
  const result = runOnnx(gru.program, planned.plan, planned.runInputs());
  t.same(
    result.tensors.map((tensor) => [tensor.name, tensor.role, tensor.shape]),
    [
      ['h_n', 'other', first.outputs.h_n.shape],
      ['y', 'other', first.outputs.y.shape],
    ],
  );
  t.ok(maxDiff(result.tensors[0].data, first.outputs.h_n.data) < 1e-5);
  t.ok(maxDiff(result.tensors[1].data, first.outputs.y.data) < 1e-5);
  t.same(result.facts.model, { name: 'gru-2-bf-h0', version: '1' });
  t.same(result.facts.inputShape, x.shape, "the graph's first input, x, whatever the request's order");
  t.same(JSON.parse(result.facts.graph ?? 'null').opset, 14);
  t.same(result.carried, []);
  // Binary FP64 in: the same answer as JSON FP32 (the values are float32 already).
  const bytes = new Uint8Array(Float64Array.from(x.data).buffer);
  const binary = answer(
    gru,
    inferenceRequest(
      [
        typedTensor('x', 'FP64', x.shape, bytes, 'inputs[0]'),
        typedTensor('h0', 'FP32', h0.shape, h0.data, 'inputs[1]'),
      ],
      {},
      'all',
    ),
  );
  t.same(
    binary.tensors.map((tensor) => tensor.name),
    ['y', 'h_n'],
    'all: in graph order',
  );
  t.same([...binary.tensors[0].data], [...result.tensors[1].data]);
});

t.test('the forward view: the one input, the first output and h_n split into its states', async (t) => {
  const rnn = model('rnn-1-tanh-bf');
  const [first] = fixtureCases('rnn-1-tanh-bf');
  const { x } = first.inputs;
  const nested = Array.from({ length: x.shape[0] }, (_, b) =>
    Array.from({ length: x.shape[1] }, (_, s) => x.data.slice((b * x.shape[1] + s) * 3, (b * x.shape[1] + s + 1) * 3)),
  );
  const result = answer(rnn, inferenceRequest([nestedTensor('input', nested, 'inputs')]));
  t.same(
    result.tensors.map((tensor) => [tensor.name, tensor.role, tensor.shape]),
    [
      ['y', 'output', [2, 5, 4]],
      ['h_n', 'state', [2, 4]],
    ],
  );
  t.ok(maxDiff(result.tensors[0].data, first.outputs.y.data) < 1e-5);
  t.ok(maxDiff(result.tensors[1].data, first.outputs.h_n.data) < 1e-5);
  const noState = answer(rnn, inferenceRequest([nestedTensor('input', nested, 'inputs')], { returnState: false }));
  t.same(
    noState.tensors.map((tensor) => tensor.name),
    ['y'],
  );
  // Token ids as [batch][time][1] (the TF.js Embedding convention) for a [batch, time] graph input.
  const classifier = model('embedding-classifier', ['neg', 'pos']);
  const [ids] = fixtureCases('embedding-classifier');
  const rows = Array.from({ length: 2 }, (_, b) => ids.inputs.ids.data.slice(b * 6, b * 6 + 6).map((id) => [id]));
  const ranked = answer(classifier, inferenceRequest([nestedTensor('input', rows, 'inputs')], { topK: 1 }));
  t.same(
    ranked.tensors.map((tensor) => [tensor.name, tensor.shape, tensor.classes]),
    [['probs', [2, 2], 1]],
  );
  t.ok(maxDiff(ranked.tensors[0].data, ids.outputs.probs.data) < 1e-5);
  t.same(ranked.facts.labels, ['neg', 'pos']);
});

t.test('refusals name the tensor and what fits', async (t) => {
  const gru = model('gru-2-bf-h0');
  const x = typedTensor('x', 'FP32', [1, 2, 2], [1, 2, 3, 4], 'inputs[0]');
  const h0 = typedTensor('h0', 'FP32', [2, 1, 5], new Array(10).fill(0), 'inputs[1]');
  const errors = (request: ReturnType<typeof inferenceRequest>, within = LIMITS) =>
    problemOf(() => planOnnx(gru, request, within)).errors;
  t.same(errors(inferenceRequest([x], {}, 'all')), [
    { path: 'inputs', message: "has no tensor named 'h0' (the model's inputs are 'x', 'h0')" },
  ]);
  t.same(errors(inferenceRequest([x, { ...h0, name: 'h1' }], {}, 'all')), [
    { path: 'inputs[1].name', message: "is 'h1'; the model's inputs are 'x', 'h0'" },
  ]);
  t.same(errors(inferenceRequest([x, { ...x, at: h0.at }], {}, 'all')), [
    { path: 'inputs[1].name', message: "'x' is given again (also inputs[0]); send each input once" },
  ]);
  t.same(errors(inferenceRequest([typedTensor('x', 'FP32', [1, 2, 3], [1, 2, 3, 4, 5, 6]), h0], {}, 'all')), [
    { path: 'inputs[0].shape', message: "is [1, 2, 3]; input 'x' is [-1, -1, 2] (-1: any size)" },
  ]);
  t.same(errors(inferenceRequest([x, h0], {}, [asked('z', 0)])), [
    { path: 'outputs[0].name', message: "is 'z'; the model's outputs are 'y', 'h_n'" },
  ]);
  t.same(errors(inferenceRequest([x, h0], {}, [asked('y', 0, 1)])), [
    {
      path: 'outputs[0].parameters.classification',
      message:
        "applies to classifier outputs (an output written by Softmax or LogSoftmax over its last axis, of a fixed size); 'y' is not one (its values are not class scores)",
    },
  ]);
  t.same(errors(inferenceRequest([nestedTensor('input', [[[1, 2]]], 'inputs')])), [
    {
      path: 'inputs',
      message:
        "feeds one input; model 'gru-2-bf-h0' is an ONNX graph with inputs 'x', 'h0': name them in the inference protocol",
    },
  ]);
  t.same(errors(inferenceRequest([typedTensor('x', 'FP32', [1, 1, 2], [1e39, 0]), h0], {}, 'all')), [
    { path: 'inputs[0].data[0]', message: '1e+39 is outside the float32 range (±3.4028234663852886e+38)' },
  ]);
  const limit = problemOf(() => planOnnx(gru, inferenceRequest([x, h0], {}, 'all'), limits({ maxInputValues: 13 })));
  t.equal(limit.kind, 'limit-exceeded');
  t.same(limit.errors, [
    { path: 'inputs', message: 'the elements of all inputs is 14; the limit is 13 (MAX_INPUT_VALUES)' },
  ]);
  t.same(errors(inferenceRequest([x, h0], {}, 'all'), limits({ maxTimeSteps: 1 })), [
    { path: 'inputs', message: 'the time steps of an RNN node is 2; the limit is 1 (MAX_TIME_STEPS)' },
  ]);
  t.same(errors(inferenceRequest([x, h0], {}, 'all'), limits({ maxOutputValues: 19 })), [
    { path: 'outputs', message: 'the values of the answered outputs is 20; the limit is 19 (MAX_OUTPUT_VALUES)' },
  ]);
  const lengths = model('node-lengths');
  const run = planOnnx(
    lengths,
    inferenceRequest(
      [
        typedTensor('X', 'FP32', [1, 1, 3], [1, 2, 3], 'inputs[0]'),
        typedTensor('sequence_lens', 'INT32', [1], new Uint8Array(Int32Array.of(2).buffer), 'inputs[1]'),
        typedTensor('initial_h', 'FP32', [1, 1, 4], [0, 0, 0, 0], 'inputs[2]'),
      ],
      {},
      'all',
    ),
    LIMITS,
  );
  t.same(problemOf(() => runOnnx(lengths.program, run.plan, run.runInputs())).errors, [
    {
      path: 'inputs[1].data',
      message: "node 'rnn' (RNN): sequence_lens[0] is 2; expected an integer in [0, 1] (the sequence length)",
    },
  ]);
});

t.test('sequences: the state pairs h0 → h_n, c0 → c_n; a backwards graph carries none', async (t) => {
  const lstm = model('lstm-2-bf-h0');
  t.same(onnxStatePairs(lstm.program), [
    { input: 'h0', output: 'h_n' },
    { input: 'c0', output: 'c_n' },
  ]);
  t.same(onnxStatePairs(lstm.program, [{ input: 'x', output: 'y' }]), [{ input: 'x', output: 'y' }], 'as declared');
  t.same(onnxStatePairs(model('rnn-1-tanh-bf').program), [], 'no h0 input');
  t.same(problemOf(() => onnxCarry(model('rnn-1-tanh-bf'), 'sequence_id')).errors, [
    {
      path: 'sequence_id',
      message:
        "model 'rnn-1-tanh-bf' version 1 cannot carry a sequence's state: the graph has no state inputs and outputs it recognises (PyTorch's h0 → h_n, c0 → c_n, each pair of one declared shape), and its configuration declares none",
    },
  ]);
  t.match(problemOf(() => onnxCarry(model('gru-2-bi-h0-nobias'), 'sequence_id')).errors, [
    { path: 'sequence_id', message: /^model 'gru-2-bi-h0-nobias' version 1 cannot carry .* runs bidirectional/ },
  ]);
  // Two chunks carry the state: the second continues where the first ended, as one whole pass does.
  const pairs = onnxCarry(lstm, 'sequence_id');
  const steps = [0.5, -1, 0.25, 2];
  const chunk = (from: number, carried: Float32Array[] | null) => {
    const request = inferenceRequest([typedTensor('x', 'FP32', [1, 1, 2], steps.slice(from, from + 2))], {}, [
      asked('y', 0),
    ]);
    const planned = planOnnx(lstm, request, LIMITS, { carried, named: 'sequence 7', pairs, at: 'sequence_id' });
    return runOnnx(lstm.program, planned.plan, planned.runInputs());
  };
  const one = chunk(0, null);
  t.same(
    one.carried.map((c) => c.length),
    [10, 10],
    'h_n and c_n, [2, 1, 5] each',
  );
  const two = chunk(2, one.carried);
  const zeros = new Array(10).fill(0);
  const whole = answer(
    lstm,
    inferenceRequest(
      [
        typedTensor('x', 'FP32', [1, 2, 2], steps),
        typedTensor('h0', 'FP32', [2, 1, 5], zeros, 'inputs[1]'),
        typedTensor('c0', 'FP32', [2, 1, 5], zeros, 'inputs[2]'),
      ],
      {},
      [asked('y', 0)],
    ),
  );
  t.same([...two.tensors[0].data], [...whole.tensors[0].data.subarray(5, 10)], 'bit for bit');
  // A first chunk that gives its own states of a batch of 2 plans, and is refused for its batch.
  const two2 = typedTensor('h0', 'FP32', [2, 2, 5], new Array(20).fill(0), 'inputs[1]');
  const c2 = typedTensor('c0', 'FP32', [2, 2, 5], new Array(20).fill(0), 'inputs[2]');
  const batchOfTwo = inferenceRequest([typedTensor('x', 'FP32', [2, 1, 2], [1, 2, 3, 4]), two2, c2], {}, [
    asked('y', 0),
  ]);
  t.same(
    problemOf(() =>
      planOnnx(lstm, batchOfTwo, LIMITS, { carried: null, named: 'sequence 7', pairs, at: 'sequence_id' }),
    ).errors,
    [
      {
        path: 'inputs',
        message:
          "has 2 sequences; a chunk of sequence 7 carries one (a batch of 1): send each sequence's chunks in requests of their own",
      },
    ],
  );
  // Without states of its own, a batch of 2 meets the states sized for one sequence: told as its batch too.
  const onlyInputs = inferenceRequest([typedTensor('x', 'FP32', [2, 1, 2], [1, 2, 3, 4])], {}, [asked('y', 0)]);
  for (const carried of [null, one.carried])
    t.same(
      problemOf(() => planOnnx(lstm, onlyInputs, LIMITS, { carried, named: 'sequence 7', pairs, at: 'sequence_id' }))
        .errors,
      [
        {
          path: 'inputs',
          message:
            "has 2 sequences; a chunk of sequence 7 carries one (a batch of 1): send each sequence's chunks in requests of their own",
        },
      ],
      carried === null ? 'a first chunk' : 'a chunk in progress',
    );
  t.same(
    problemOf(() =>
      planOnnx(lstm, batchOfTwo, LIMITS, { carried: one.carried, named: 'sequence 7', pairs, at: 'sequence_id' }),
    ).errors,
    [
      {
        path: 'inputs[1]',
        message:
          'is given to sequence 7, which is in progress: its state is the one its previous chunk left; send initial states only with the chunk that starts it',
      },
    ],
  );
});
