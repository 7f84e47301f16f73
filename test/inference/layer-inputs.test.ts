/**
 * layer-inputs.ts measures a layer model's input tensors (texts, nested JSON, flat or binary tensors with a shape),
 * reads them once the plan allows, and turns `lengths`, `mask` or a ragged batch into the engine's mask, and the
 * initial states into one array per state. Held to: the shapes measured and the values read (one-hot texts, JSON,
 * FP32/FP64/FP16 bytes, ids), masks written out by hand, and every refusal's path and message.
 */
import t from 'tap';
import { ProblemList } from '../../src/codec/tensors.js';
import { cellStateIndices, elementsOf, inputLayout, readMask, readStates } from '../../src/inference/layer-inputs.js';
import type { RequestTensor } from '../../src/inference/request.js';
import {
  LIMITS,
  explicitModel,
  fp32Bytes,
  layer,
  limits,
  nestedTensor,
  problemOf,
  typedTensor,
} from '../helpers/inference.js';

const nested = (value: unknown[]) => nestedTensor('input', value, 'inputs');
const measured = (tensor: RequestTensor, within = LIMITS) => inputLayout(tensor, within, null, undefined);
const readAll = (tensor: RequestTensor, within = LIMITS) => {
  const problems = new ProblemList();
  const values = measured(tensor, within).read(problems);
  if (!problems.empty) throw problems.error();
  return [...values];
};

t.test('a nested batch: its shape from the values, ragged sequences zero-padded', async (t) => {
  const tensor = nested([
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    [[7, 8]],
  ]);
  const layout = measured(tensor);
  t.same(layout.shape, [2, 3, 2]);
  t.same(layout.lengths, [3, 1]);
  t.equal(layout.ragged, true);
  t.equal(layout.sizeAt, 'inputs');
  t.same(layout.featuresAt, ['inputs[0][0]', 'has 2 features']);
  t.equal(elementsOf(layout), 12);
  t.same(readAll(tensor), [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
  t.same([...(readMask(undefined, undefined, layout, tensor) ?? [])], [1, 1, 1, 1, 0, 0], 'the padding is masked');
  t.equal(readMask(undefined, undefined, measured(nested([[[1]], [[2]]])), tensor), null, 'even: no mask');
  t.same(readAll(nested([[[0.1]]])), [Math.fround(0.1)], 'stored as float32');
});

t.test('nested refusals: empty, the limits, features that differ', async (t) => {
  t.match(problemOf(() => measured(nested([]))).errors, [
    { path: 'inputs', message: 'is empty; expected at least 1 sequence' },
  ]);
  t.match(problemOf(() => measured(nested([[[1]], []]))).errors, [
    { path: 'inputs[1]', message: 'has no time steps; expected at least 1' },
  ]);
  t.match(problemOf(() => measured(nested([[[]]]))).errors, [
    { path: 'inputs[0][0]', message: 'has no features; expected at least 1' },
  ]);
  const small = limits({ maxBatch: 1, maxTimeSteps: 2, maxFeatures: 2 });
  t.match(problemOf(() => measured(nested([[[1]], [[1]]]), small)).errors, [
    { path: 'inputs', message: 'the batch size is 2; the limit is 1 (MAX_BATCH)' },
  ]);
  t.match(problemOf(() => measured(nested([[[1], [1], [1]]]), small)).errors, [
    { path: 'inputs[0]', message: 'the number of time steps is 3; the limit is 2 (MAX_TIME_STEPS)' },
  ]);
  t.match(problemOf(() => measured(nested([[[1, 2, 3]]]), small)).errors, [
    { path: 'inputs[0][0]', message: 'the number of features is 3; the limit is 2 (MAX_FEATURES)' },
  ]);
  const uneven = problemOf(() => measured(nested([[[1, 2], [3]], [[4, 5, 6]]])));
  t.match(uneven.errors, [
    { path: 'inputs[0][1]', message: 'has 1 feature; expected 2 (inputs[0][0])' },
    { path: 'inputs[1][0]', message: 'has 3 features; expected 2 (inputs[0][0])' },
  ]);
  t.equal(uneven.errorCount, 2);
  t.match(problemOf(() => readAll(nested([[[1, 4e38]]]))).errors, [
    { path: 'inputs[0][0][1]', message: '4e+38 is outside the float32 range (±3.4028234663852886e+38)' },
  ]);
});

t.test('a tensor with a shape: flat or nested JSON, or bytes of FP32, FP64, FP16', async (t) => {
  t.same(readAll(typedTensor('input', 'FP32', [1, 2, 2], [1, 2, 3, 4])), [1, 2, 3, 4]);
  t.same(readAll(typedTensor('input', null, [1, 1, 2], [0.5, -1])), [0.5, -1], 'our flat tensor, no datatype');
  const json = {
    ...typedTensor('input', 'FP32', [1, 2, 1], []),
    values: { kind: 'nested' as const, value: [[[1], [2]]] },
  };
  t.same(readAll(json), [1, 2], 'nested data following the shape');
  t.same(readAll(typedTensor('input', 'FP32', [1, 1, 2], fp32Bytes([0.25, -3]))), [0.25, -3]);
  const fp64 = new Uint8Array(Float64Array.of(0.1, 2).buffer);
  t.same(readAll(typedTensor('input', 'FP64', [1, 1, 2], fp64)), [Math.fround(0.1), 2], 'FP64 rounded to float32');
  const fp16 = new Uint8Array(Uint16Array.of(0x3c00, 0xc000).buffer);
  t.same(readAll(typedTensor('input', 'FP16', [1, 2, 1], fp16)), [1, -2]);
  const layout = measured(typedTensor('input', 'FP32', [2, 3, 1], [1, 2, 3, 4, 5, 6]));
  t.same([layout.shape, layout.lengths, layout.ragged, layout.sizeAt], [[2, 3, 1], [3, 3], false, 'inputs[0].shape']);
  t.same(layout.featuresAt, ['inputs[0].shape[2]', 'is 1']);
});

t.test('shaped refusals name the shape, the data or the byte count', async (t) => {
  t.match(problemOf(() => measured(typedTensor('input', 'FP32', [1, 2], [1, 2]))).errors, [
    { path: 'inputs[0].shape', message: 'has 2 dimensions; expected 3 ([batch, time, inputDim])' },
  ]);
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 5);
  t.match(
    problemOf(() => inputLayout(typedTensor('input', 'FP32', [5], [1, 2, 3, 4, 5]), LIMITS, model, undefined)).errors,
    [{ path: 'inputs[0].shape', message: 'has 1 dimension; expected 3 ([batch, time, 5])' }],
  );
  t.match(problemOf(() => measured(typedTensor('input', 'FP32', [1, 0, 2], []))).errors, [
    { path: 'inputs[0].shape[1]', message: 'is 0; time must be at least 1' },
  ]);
  t.match(problemOf(() => measured(typedTensor('input', 'FP32', [1, 1, 3], [1, 2]))).errors, [
    {
      path: 'inputs[0].data',
      message: 'has 2 elements; expected 3 (the product of inputs[0].shape [1, 1, 3])',
    },
  ]);
  t.match(problemOf(() => measured(typedTensor('input', 'FP32', [1, 1, 3], fp32Bytes([1, 2])))).errors, [
    {
      path: 'inputs[0].parameters.binary_data_size',
      message: 'is 8; shape [1, 1, 3] of FP32 takes 12 bytes (3 elements of 4 bytes)',
    },
  ]);
  t.match(problemOf(() => measured(typedTensor('input', 'INT32', [1, 1, 1], [1]))).errors, [
    { path: 'inputs[0].datatype', message: "is 'INT32'; input 'input' is FP32 (also accepted: FP64, FP16)" },
  ]);
  const small = limits({ maxBatch: 1, maxTimeSteps: 1, maxFeatures: 1 });
  t.match(problemOf(() => measured(typedTensor('input', 'FP32', [1, 2, 1], [1, 2]), small)).errors, [
    { path: 'inputs[0].shape[1]', message: 'the number of time steps is 2; the limit is 1 (MAX_TIME_STEPS)' },
  ]);
  t.match(problemOf(() => readAll(typedTensor('input', 'FP32', [1, 1, 1], fp32Bytes([Number.NaN])))).errors, [
    { path: 'inputs[0][0]', message: 'is NaN; expected a finite number within float32 range' },
  ]);
});

t.test('token ids for an Embedding model: INT32/INT64 accepted, each in [0, input_dim)', async (t) => {
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 3, {
    inputDim: 1,
    embedding: { inputDim: 4, outputDim: 3, embeddings: new Float32Array(12), maskZero: false },
  });
  const ids = (tensor: RequestTensor) => {
    const problems = new ProblemList();
    return [...inputLayout(tensor, LIMITS, model, undefined).read(problems)];
  };
  t.same(ids(typedTensor('input', 'INT32', [1, 2, 1], new Uint8Array(Int32Array.of(3, 0).buffer))), [3, 0]);
  t.same(ids(typedTensor('input', 'INT64', [1, 2, 1], [1, 2])), [1, 2]);
  t.match(problemOf(() => ids(typedTensor('input', 'INT64', [1, 1, 1], [4]))).errors, [
    {
      path: 'inputs[0].data[0]',
      message: "is 4; expected a token id, an integer in [0, 4) (the Embedding's input_dim)",
    },
  ]);
  t.match(problemOf(() => ids(typedTensor('input', 'BYTES', [1, 1, 1], [4]))).errors, [
    {
      path: 'inputs[0].datatype',
      message:
        "is 'BYTES'; input 'input' is FP32 (also accepted: FP64, FP16, INT64, INT32); token ids for INT32/INT64, in [0, 4)",
    },
  ]);
});

t.test('texts: measured against the limits, one-hot in vocabulary order', async (t) => {
  const text = {
    ...nested([]),
    values: { kind: 'text' as const, value: ['ab', 'b'] },
    at: { tensor: 'text', shape: 'text', data: 'text' },
  };
  const layout = inputLayout(text, LIMITS, null, 'bca');
  t.same(layout.shape, [2, 2, 3]);
  t.same(layout.vocabulary, ['b', 'c', 'a']);
  t.same(layout.featuresAt, ['vocabulary', 'has 3 tokens']);
  t.same([...layout.read(new ProblemList())], [0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0]);
});

t.test('readMask: lengths, mask or the ragged batch; each refusal named', async (t) => {
  const input = nested([
    [[1], [2], [3]],
    [[4], [5], [6]],
  ]);
  const layout = measured(input);
  const lengths = (values: number[]) => typedTensor('lengths', null, [values.length], values, 'lengths');
  const lengthsAt = (values: number[]) => ({
    ...lengths(values),
    at: { tensor: 'lengths', shape: 'lengths', data: 'lengths' },
  });
  t.same([...(readMask(lengthsAt([2, 0]), undefined, layout, input) ?? [])], [1, 1, 0, 0, 0, 0]);
  const mask = nestedTensor('mask', [
    [true, false, true],
    [false, false, true],
  ]);
  t.same([...(readMask(undefined, mask, layout, input) ?? [])], [1, 0, 1, 0, 0, 1]);
  t.match(problemOf(() => readMask(lengthsAt([3, 3]), mask, layout, input)).errors, [
    { path: 'mask', message: 'cannot be combined with lengths; send one or the other' },
  ]);
  t.match(problemOf(() => readMask(lengthsAt([3]), undefined, layout, input)).errors, [
    { path: 'lengths', message: 'has 1 entry; expected 2 (one per sequence in inputs)' },
  ]);
  t.match(problemOf(() => readMask(lengthsAt([3, 4]), undefined, layout, input)).errors, [
    { path: 'lengths[1]', message: 'is 4, longer than the sequence (inputs[1] has 3 time steps)' },
  ]);
  t.match(problemOf(() => readMask(undefined, nestedTensor('mask', [[true, true, true]]), layout, input)).errors, [
    { path: 'mask', message: 'has 1 row; expected 2 (one per sequence in inputs)' },
  ]);
  t.match(
    problemOf(() => readMask(undefined, nestedTensor('mask', [[true], [true, true, true]]), layout, input)).errors,
    [{ path: 'mask[0]', message: 'has 1 entry; expected 3 (the time steps of inputs[0])' }],
  );
  const ragged = nested([[[1], [2], [3]], [[4]]]);
  t.match(problemOf(() => readMask(lengthsAt([3, 1]), undefined, measured(ragged), ragged)).errors, [
    {
      path: 'lengths',
      message:
        'cannot be combined with a ragged batch (inputs[1] has 1 time step, inputs has up to 3): pad the sequences yourself, or drop lengths',
    },
  ]);
  // The inference protocol's lengths: INT32 or INT64, [batch], named as the protocol places them.
  const shaped = typedTensor('input', 'FP32', [2, 3, 1], [1, 2, 3, 4, 5, 6]);
  const shapedLayout = measured(shaped);
  const int32 = typedTensor('lengths', 'INT32', [2], new Uint8Array(Int32Array.of(1, 3).buffer), 'inputs[1]');
  t.same([...(readMask(int32, undefined, shapedLayout, shaped) ?? [])], [1, 0, 0, 1, 1, 1]);
  t.match(
    problemOf(() =>
      readMask(typedTensor('lengths', 'INT64', [2], [1, 4], 'inputs[1]'), undefined, shapedLayout, shaped),
    ).errors,
    [
      {
        path: 'inputs[1].data[1]',
        message: 'is 4, longer than the sequence (sequence 1 of inputs[0] has 3 time steps)',
      },
    ],
  );
  t.match(
    problemOf(() =>
      readMask(typedTensor('lengths', 'INT64', [2], [1, -1], 'inputs[1]'), undefined, shapedLayout, shaped),
    ).errors,
    [{ path: 'inputs[1].data[1]', message: 'is -1; expected a number of time steps' }],
  );
  t.match(
    problemOf(() => readMask(typedTensor('lengths', 'FP32', [2], [1, 1], 'inputs[1]'), undefined, shapedLayout, shaped))
      .errors,
    [
      {
        path: 'inputs[1].datatype',
        message: "is 'FP32'; input 'lengths' is INT64 (also accepted: INT32): the valid steps of each sequence",
      },
    ],
  );
  t.match(
    problemOf(() =>
      readMask(typedTensor('lengths', 'INT64', [2, 1], [1, 1], 'inputs[1]'), undefined, shapedLayout, shaped),
    ).errors,
    [{ path: 'inputs[1].shape', message: 'has 2 dimensions; expected 1 ([batch])' }],
  );
});

t.test('initial states: one tensor in any of its forms, or one tensor per state', async (t) => {
  const stack = explicitModel({ layers: [layer(2, { cell: 'lstm' }), layer(3)], bidirectional: null }, 1);
  t.same(cellStateIndices(stack), [0]);
  const bi = explicitModel({ layers: [layer(2)], bidirectional: { mergeMode: 'concat' } }, 1);
  t.same(cellStateIndices(bi), []);
  const single = explicitModel({ layers: [layer(2)], bidirectional: null }, 1);
  const states = (tensor: RequestTensor, model = single, batch = 1, indices = [0], cell = false) =>
    readStates([tensor], cell, model, indices, batch).map((s) => [...s]);
  const state = (value: unknown[]) => nestedTensor('initial_state', value, 'initialState');

  t.same(states(state([[1, 2]])), [[1, 2]], '[batch, hiddenSize] for one layer');
  t.same(states(state([[[1, 2]]])), [[1, 2]], "PyTorch's h0 [1, batch, hiddenSize]");
  t.same(
    states(state([[[1, 2]], [[3, 4, 5]]]), stack, 1, [0, 1]),
    [
      [1, 2],
      [3, 4, 5],
    ],
    'a list, one per state',
  );
  t.same(
    states(nestedTensor('initial_cell_state', [[7, 8]], 'initialCellState'), stack, 1, [0], true),
    [[7, 8]],
    'the one LSTM layer: its c alone',
  );
  const perState = [
    typedTensor('initial_state_0', 'FP32', [1, 2], [1, 2], 'inputs[1]'),
    typedTensor('initial_state_1', 'FP64', [1, 3], new Uint8Array(Float64Array.of(3, 4, 5).buffer), 'inputs[2]'),
  ];
  t.same(
    readStates(perState, false, stack, [0, 1], 1).map((s) => [...s]),
    [
      [1, 2],
      [3, 4, 5],
    ],
    'one tensor per state',
  );

  t.match(problemOf(() => states(state([[1, 2]]), stack, 1, [0, 1])).errors, [
    {
      path: 'initialState',
      message: 'is one state, but the model has 2 (layers × directions): send a list of 2 [batch, hiddenSize] states',
    },
  ]);
  t.match(problemOf(() => states(state([[[1, 2]]]), bi, 1, [0, 1])).errors, [
    { path: 'initialState', message: 'has 1 state; expected 2 (layer 0 forward, layer 0 backward, ...)' },
  ]);
  t.match(problemOf(() => states(state([[1, 2]]), single, 2)).errors, [
    { path: 'initialState', message: 'has 1 row; expected 2 (the batch size)' },
  ]);
  t.match(problemOf(() => states(state([[1, 2, 3]]))).errors, [
    { path: 'initialState[0]', message: 'has 3 entries; expected 2 (hiddenSize of layer 0)' },
  ]);
  t.match(problemOf(() => states(state([[[1, 2]], [[3, 4]]]), stack, 1, [0, 1])).errors, [
    { path: 'initialState[1][0]', message: 'has 2 entries; expected 3 (hiddenSize of layer 1)' },
  ]);
  t.match(
    problemOf(() =>
      readStates([typedTensor('initial_state_1', 'FP32', [1, 2], [1, 2], 'inputs[2]')], false, stack, [1], 1),
    ).errors,
    [
      {
        path: 'inputs[2].shape',
        message:
          "is [1, 2]; input 'initial_state_1' is [batch, hiddenSize] = [1, 3] (the batch size, and the hiddenSize of layer 1)",
      },
    ],
  );
  t.match(
    problemOf(() => readStates([typedTensor('initial_state', 'FP32', [2], [1, 2], 'inputs[1]')], false, single, [0], 1))
      .errors,
    [{ path: 'inputs[1].shape', message: 'has 1 dimensions; expected 2 ([batch, hiddenSize])' }],
  );
});
