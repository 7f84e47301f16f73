/**
 * layer-plan.ts turns one inference request into a layer model's plan: it checks what the schema cannot (names,
 * shapes against the model and the limits, states, ranked outputs), counts the cost from the shapes alone, then
 * reads the tensors. Held to: the cost and answer size it counts are the hand-computed formulas (and what the
 * engine counts), the plan's fields are what the request asked for, and every refusal names the place the client
 * wrote the value with the message that says what was expected.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { computeCost } from '../../src/engine/index.js';
import { carriedSlots, planLayers, requestCost } from '../../src/inference/layer-plan.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { forwardRequest } from '../../src/protocols/forward-request.js';
import {
  LIMITS,
  asked,
  explicitModel,
  inferenceRequest,
  layer,
  limits,
  nestedTensor,
  problemOf,
  servedAs,
  softmaxHead,
  typedTensor,
} from '../helpers/inference.js';

const cache = new SeededWeightsCache(4);
const ones = (b: number, time: number, f: number) =>
  Array.from({ length: b }, () => Array.from({ length: time }, () => Array.from({ length: f }, () => 1)));

/** The plan of a /rnn/forward body (a described model). */
const described = (body: Record<string, unknown>, within = LIMITS) => {
  const parsed = ForwardRequest.parse(body);
  return planLayers(forwardRequest(parsed), within, cache, null, parsed);
};

const simple = explicitModel({ layers: [layer(5)], bidirectional: null }, 4);
const classifier = explicitModel({ layers: [layer(5)], bidirectional: null }, 4, { head: [softmaxHead(5, 3)] });
const input = (b: number, time: number, f: number) => nestedTensor('input', ones(b, time, f), 'inputs');

t.test('cost and answer size from the shapes: the hand-computed formulas', async (t) => {
  // SimpleRNN, batch 2, time 3, inputDim 4, hiddenSize 5: 2·3·(4 + 5)·5 = 270 multiply-adds; building the seeded
  // weights 6·5³ = 750; the answer 2·3·5 outputs and 2·5 state values.
  const plan = described({ inputs: ones(2, 3, 4), hiddenSize: 5, seed: 1 });
  t.equal(plan.cost, 270 + 750);
  t.same(plan.values, { input: 24, output: 30 + 10 });
  t.same(plan.shape, [2, 3, 4]);
  t.equal(plan.cost - 750, computeCost(plan.model.spec, plan.shape), 'the pass is what the engine counts');
  t.same(described({ inputs: ones(2, 3, 4), hiddenSize: 5, returnSequences: false }).values.output, 10 + 10);
  t.same(described({ inputs: ones(2, 3, 4), hiddenSize: 5, returnState: false }).values.output, 30);

  // LSTM 3 then GRU 2, batch 1, time 2, inputDim 4: 1·2·(4 + 3)·4·3 + 1·2·(3 + 2)·3·2 = 168 + 60, building
  // 6·4·3³ + 6·3·2³ = 648 + 144; the answer: 2·2 outputs, states 3 and 2, the LSTM's cell state 3.
  const gated = described({
    inputs: ones(1, 2, 4),
    layers: [
      { hiddenSize: 3, cell: 'lstm' },
      { hiddenSize: 2, cell: 'gru' },
    ],
  });
  t.equal(gated.cost, 228 + 792);
  t.same(gated.values, { input: 8, output: 4 + 3 + 2 + 3 });
  t.same(
    gated.outputs.map((o) => [o.name, o.kind, o.state]),
    [
      ['output', 'output', -1],
      ['state_0', 'state', 0],
      ['state_1', 'state', 1],
      ['cell_state_0', 'cell-state', 0],
    ],
  );

  // A served model builds nothing per request; a ranked output adds CLASS_ENTRY_VALUES (4) per class entry.
  const served = planLayers(inferenceRequest([input(1, 2, 4)], { topK: 2 }), LIMITS, cache, servedAs(classifier), null);
  t.equal(served.cost, 1 * 2 * (4 + 5) * 5);
  t.same(served.values.output, 2 * (3 + 4 * 2) + 5);
  t.same(
    requestCost(classifier, [1, 2, 4], { returnSequences: false, served: true, outputs: served.outputs }),
    { inputValues: 8, weightsBuild: 0, compute: 90, outputValues: 1 * (3 + 8) + 5 },
    'requestCost alone: the last step only',
  );
});

t.test('the plan holds what the request asked for', async (t) => {
  const plan = described({ text: ['hel', 'lo'], hiddenSize: 2, zeroOutputForMask: true, stateLayout: 'pytorch' });
  t.same(plan.vocabulary, ['h', 'e', 'l', 'o']);
  t.same(plan.shape, [2, 3, 4]);
  t.same([...plan.inputs], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  t.same([...(plan.mask ?? [])], [1, 1, 1, 1, 1, 0], 'the ragged batch is masked after each text');
  t.equal(plan.zeroOutputForMask, true);
  t.equal(plan.stateLayout, 'pytorch');
  t.equal(plan.served, false);
  t.equal(plan.servedAs, null);
  t.equal(plan.carry, false);
  t.equal(plan.model.seed, 0, 'the default seed');

  const withLengths = planLayers(
    inferenceRequest([input(2, 3, 4), typedTensor('lengths', 'INT32', [2], [3, 1], 'inputs[1]')]),
    LIMITS,
    cache,
    servedAs(simple, { labels: ['a'] }),
    null,
  );
  t.same([...(withLengths.mask ?? [])], [1, 1, 1, 1, 0, 0]);
  t.same(withLengths.servedAs, { name: 'm', version: '1' });
  t.same(withLengths.labels, ['a']);
  t.equal(withLengths.model, simple, 'the served model itself, not a copy');

  const lastStep = explicitModel(simple.spec, 4, { lastStep: true });
  const plan2 = planLayers(inferenceRequest([input(1, 2, 4)]), LIMITS, cache, servedAs(lastStep), null);
  t.equal(plan2.returnSequences, false, 'a many-to-one model answers its last step');
  t.equal(plan2.values.output, 5 + 5);

  const initial = [
    [0.5, -0.5, 0.25, 0, 1],
    [1, 1, 1, 1, 1],
  ];
  const plan3 = planLayers(
    inferenceRequest([input(2, 1, 4), nestedTensor('initial_state', initial, 'initialState')]),
    LIMITS,
    cache,
    servedAs(simple),
    null,
  );
  t.same(
    plan3.initialStates?.map((s) => [...s]),
    [initial.flat()],
  );
});

t.test('named outputs (the inference protocol): in the order asked, each ranked as asked', async (t) => {
  const plan = planLayers(
    inferenceRequest([input(1, 2, 4)], {}, [asked('state', 0), asked('output', 1, 2)]),
    LIMITS,
    cache,
    servedAs(classifier),
    null,
  );
  t.same(plan.outputs, [
    { name: 'state', kind: 'state', state: 0, classes: null },
    { name: 'output', kind: 'output', state: -1, classes: 2 },
  ]);
  t.equal(plan.returnState, true);
  const all = planLayers(inferenceRequest([input(1, 2, 4)], {}, 'all'), LIMITS, cache, servedAs(simple), null);
  t.same(
    all.outputs.map((o) => o.name),
    ['output', 'state'],
  );
});

t.test('refusals of names and shapes name the place and say what was expected', async (t) => {
  const plan = (inputs: Parameters<typeof inferenceRequest>[0], outputs?: Parameters<typeof inferenceRequest>[2]) =>
    planLayers(inferenceRequest(inputs, {}, outputs), LIMITS, cache, servedAs(simple), null);
  t.match(problemOf(() => plan([])).errors, [{ path: 'inputs', message: 'is required (or text)' }]);
  t.match(problemOf(() => plan([], 'all')).errors, [
    { path: 'inputs', message: "has no tensor named 'input' (the model's input, [batch, time, 4])" },
  ]);
  t.match(problemOf(() => plan([typedTensor('x', 'FP32', [1, 1, 4], [1, 2, 3, 4])])).errors, [
    { path: 'inputs[0].name', message: "is 'x'; the model's input is 'input' (optional: 'lengths', 'initial_state')" },
  ]);
  t.match(
    problemOf(() =>
      plan([
        typedTensor('input', 'FP32', [1, 1, 4], [1, 2, 3, 4]),
        typedTensor('input', 'FP32', [1, 1, 4], [1, 2, 3, 4], 'inputs[1]'),
      ]),
    ).errors,
    [
      {
        path: 'inputs',
        message:
          "has 2 tensors; the model takes 1, named 'input', and optionally 'lengths', 'initial_state', each once: inputs[1] is 'input' again (also inputs[0])",
      },
    ],
  );
  t.match(problemOf(() => plan([input(1, 2, 3)])).errors, [
    { path: 'inputs[0][0]', message: 'has 3 features; the model takes 4 (inputDim)' },
  ]);
  t.match(problemOf(() => plan([typedTensor('input', 'FP32', [1, 1, 3], [1, 2, 3])])).errors, [
    { path: 'inputs[0].shape[2]', message: 'is 3; the model takes 4 (inputDim)' },
  ]);
  t.match(problemOf(() => plan([input(1, 1, 4)], [asked('nope', 0)])).errors, [
    { path: 'outputs[0].name', message: "is 'nope'; the model's outputs are 'output', 'state'" },
  ]);
  t.match(problemOf(() => plan([input(1, 1, 4)], [asked('output', 0), asked('output', 1)])).errors, [
    {
      path: 'outputs[1].name',
      message: "'output' is requested again (also outputs[0]); each output may be named once",
    },
  ]);
  t.match(problemOf(() => plan([input(1, 1, 4)], [asked('state', 0, 1)])).errors, [
    {
      path: 'outputs[0].parameters.classification',
      message: "applies to 'output', not to 'state' (a state is not a classification)",
    },
  ]);
});

t.test('refusals of what a model cannot take', async (t) => {
  const onServed = (model: typeof simple, request: ReturnType<typeof inferenceRequest>, extra = {}) =>
    planLayers(request, LIMITS, cache, servedAs(model, extra), null);
  const text = {
    ...input(1, 1, 4),
    values: { kind: 'text' as const, value: ['ab'] },
    at: { tensor: 'text', shape: 'text', data: 'text' },
  };
  t.match(problemOf(() => onServed(simple, inferenceRequest([text]))).errors, [
    { path: 'text', message: "model 'm' version 1 has no vocabulary (m/1/model.json); send inputs" },
  ]);
  const lastStep = explicitModel(simple.spec, 4, { lastStep: true });
  t.match(problemOf(() => onServed(lastStep, inferenceRequest([input(1, 1, 4)], { returnSequences: true }))).errors, [
    {
      path: 'returnSequences',
      message:
        "is true, but model 'm' version 1 is many-to-one: its last recurrent layer returns the last step only (return_sequences false in m/1/model.json); drop returnSequences",
    },
  ]);
  t.match(problemOf(() => onServed(simple, inferenceRequest([input(1, 1, 4)], { topK: 2 }))).errors, [
    {
      path: 'topK',
      message:
        "applies to classifiers: the model's last layer is not softmax (its outputs are not class probabilities)",
    },
  ]);
  t.match(problemOf(() => onServed(classifier, inferenceRequest([input(1, 1, 4)], { topK: 4 }))).errors, [
    { path: 'topK', message: 'is 4; the outputs have 3 features (classes)' },
  ]);
  t.match(
    problemOf(() => onServed(classifier, inferenceRequest([input(1, 1, 4)], {}, [asked('output', 0, 4)]))).errors,
    [{ path: 'outputs[0].parameters.classification', message: "is 4; 'output' has 3 features (classes)" }],
  );
  t.match(
    problemOf(() => described({ inputs: ones(1, 1, 2), hiddenSize: 2, bidirectional: { mergeMode: null }, topK: 1 }))
      .errors,
    [
      {
        path: 'topK',
        message: 'cannot rank two sequences (bidirectional.mergeMode is null): set a merge mode, or drop topK',
      },
    ],
  );
  t.match(problemOf(() => described({ inputs: ones(1, 1, 2), hiddenSize: 2, initialCellState: [[0, 0]] })).errors, [
    {
      path: 'initialCellState',
      message: 'applies to lstm layers only, and the model has none: set cell to lstm, or drop initialCellState',
    },
  ]);
  const stack = explicitModel({ layers: [layer(2), layer(2)], bidirectional: null }, 4);
  t.match(
    problemOf(() =>
      onServed(
        stack,
        inferenceRequest([input(1, 1, 4), typedTensor('initial_state_0', 'FP32', [1, 2], [0, 0], 'inputs[1]')]),
      ),
    ).errors,
    [
      {
        path: 'inputs',
        message:
          "has 'initial_state_0' but not 'initial_state_1': send every initial state (one per layer and direction) or none",
      },
    ],
  );
  // An Embedding model takes ids: integers below its input_dim.
  const spec = { layers: [layer(2)], bidirectional: null };
  const embedded = explicitModel(spec, 2, {
    inputDim: 1,
    embedding: { inputDim: 5, outputDim: 2, embeddings: new Float32Array(10), maskZero: false },
  });
  t.match(
    problemOf(() => onServed(embedded, inferenceRequest([nestedTensor('input', [[[1], [5]]], 'inputs')]))).errors,
    [{ path: 'inputs[0][1][0]', message: "is 5; expected an id, an integer in [0, 5) (the Embedding's input_dim)" }],
  );
  t.same([...onServed(embedded, inferenceRequest([nestedTensor('input', [[[1], [4]]], 'inputs')])).inputs], [1, 4]);
});

t.test('the limits, each naming what it counts, the value, the limit and its variable', async (t) => {
  const body = { inputs: ones(2, 3, 4), hiddenSize: 5, seed: 1 };
  const inputs = problemOf(() => described(body, limits({ maxInputValues: 23 })));
  t.equal(inputs.kind, 'limit-exceeded');
  t.match(inputs.errors, [
    {
      path: 'inputs',
      message: 'the input values batch·time·features = 2·3·4 is 24; the limit is 23 (MAX_INPUT_VALUES)',
    },
  ]);
  t.match(problemOf(() => described(body, limits({ maxCompute: 1019 }))).errors, [
    {
      path: '$',
      message:
        'the compute cost batch·time·(inputDim + hiddenSize)·hiddenSize = 2·3·(4 + 5)·5, plus 750 to build the seeded weights (6·hiddenSize³ per layer and direction) is 1020; the limit is 1019 (MAX_COMPUTE)',
    },
  ]);
  t.ok(described(body, limits({ maxCompute: 1020 })), 'the limit itself is allowed');
  t.match(problemOf(() => described(body, limits({ maxOutputValues: 39 }))).errors, [
    {
      path: '$',
      message:
        "the answer's values (outputs and states; returnSequences true) is 40; the limit is 39 (MAX_OUTPUT_VALUES)",
    },
  ]);
  t.match(
    problemOf(() =>
      described(
        { inputs: ones(1, 1, 2), layers: [{ hiddenSize: 2, cell: 'lstm' }, { hiddenSize: 2 }] },
        limits({ maxCompute: 10 }),
      ),
    ).errors,
    [
      {
        message:
          /^the compute cost Σ over layers and directions of batch·time·\(inputDim \+ hiddenSize\)·G·hiddenSize \(G gates: 1 simpleRNN, 4 lstm, 3 gru\), plus 240 to build/,
      },
    ],
  );
});

t.test('sequences: a chunk is one row, continues from the carried state, and carries every state', async (t) => {
  const lstm = explicitModel({ layers: [layer(3, { cell: 'lstm' }), layer(2)], bidirectional: null }, 4);
  t.same(carriedSlots(servedAs(lstm), 'sequenceId'), [3, 2, 3], "h of each layer, then the LSTM layer's c");
  const wrapped = explicitModel({ layers: [layer(2)], bidirectional: { mergeMode: 'concat' } }, 4);
  t.match(problemOf(() => carriedSlots(servedAs(wrapped), 'sequenceId')).errors, [
    {
      path: 'sequenceId',
      message: /^model 'm' version 1 cannot carry a sequence's state from chunk to chunk: layer 0 is bidirectional/,
    },
  ]);

  const step = (inputs: Parameters<typeof inferenceRequest>[0], carried: Float32Array[] | null) =>
    planLayers(inferenceRequest(inputs), LIMITS, cache, servedAs(lstm), null, { carried, named: 'sequence 42' });
  t.match(problemOf(() => step([input(2, 1, 4)], null)).errors, [
    {
      path: 'inputs',
      message:
        "has 2 sequences; a chunk of sequence 42 carries one (a batch of 1): send each sequence's chunks in requests of their own",
    },
  ]);
  const carried = [Float32Array.of(1, 2, 3), Float32Array.of(4, 5), Float32Array.of(6, 7, 8)];
  const plan = step([input(1, 1, 4)], carried);
  t.equal(plan.carry, true);
  t.same(
    plan.initialStates?.map((s) => [...s]),
    [
      [1, 2, 3],
      [4, 5],
    ],
  );
  t.same(
    plan.initialCellStates?.map((s) => (s === null ? null : [...s])),
    [[6, 7, 8], null],
  );
  t.match(
    problemOf(() =>
      step([input(1, 1, 4), nestedTensor('initial_state', [[[0, 0, 0]], [[0, 0]]], 'initialState')], carried),
    ).errors,
    [{ path: 'initialState', message: /^is given to sequence 42, which is in progress/ }],
  );
  const first = step([input(1, 1, 4)], null);
  t.equal(first.initialStates, null, 'the first chunk starts from zeros');
});
