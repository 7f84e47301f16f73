/**
 * The gated cells' PyTorch and ONNX layouts (exact gate reorders), and parity with onnxruntime-node running
 * one-node LSTM and GRU models (both linear_before_reset values) built from our weights.
 */
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { onnxGatedModel, swapLeadingAxes } from '../../bench/onnx-model.js';
import {
  type CellName,
  type GatedResult,
  gruForward,
  kerasFromOnnx,
  kerasFromPytorch,
  lstmForward,
  onnxFromKeras,
  pytorchFromKeras,
  type RecurrentWeights,
  reorderGates,
} from '../../src/engine/index.js';
import { flat, randomNested, rng } from '../helpers/random.js';

const TOLERANCE = 1e-5;

function randomWeights(seed: number, cell: 'lstm' | 'gru', inputDim: number, h: number, resetAfter = true) {
  const random = rng(seed);
  const g = cell === 'lstm' ? 4 : 3;
  return {
    inputDim,
    hiddenSize: h,
    kernel: flat(randomNested(random, [inputDim, g * h], 0.7)),
    recurrentKernel: flat(randomNested(random, [h, g * h], 0.7)),
    bias: flat(randomNested(random, [cell === 'gru' && resetAfter ? 6 * h : g * h], 0.4)),
  } satisfies RecurrentWeights;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

t.test('gate orders: each block lands where its framework keeps it', async (t) => {
  // Keras LSTM kernel [1, 4·1]: the gate's index as its value.
  const lstm: RecurrentWeights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.of(0, 1, 2, 3), // i, f, c, o
    recurrentKernel: Float32Array.of(10, 11, 12, 13),
    bias: Float32Array.of(20, 21, 22, 23),
  };
  t.same(Array.from(onnxFromKeras('lstm', lstm).W), [0, 3, 1, 2], 'ONNX LSTM W is i, o, f, c');
  t.same(Array.from(onnxFromKeras('lstm', lstm).B!), [20, 23, 21, 22, 0, 0, 0, 0], 'ONNX B = [Wb, Rb = 0]');
  t.same(Array.from(pytorchFromKeras('lstm', lstm).weightIh), [0, 1, 2, 3], 'PyTorch LSTM is i, f, g, o');
  const gru: RecurrentWeights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.of(0, 1, 2), // z, r, h
    recurrentKernel: Float32Array.of(10, 11, 12),
    bias: Float32Array.of(20, 21, 22, 30, 31, 32),
  };
  const torch = pytorchFromKeras('gru', gru);
  t.same(Array.from(torch.weightHh), [11, 10, 12], 'PyTorch GRU is r, z, n');
  t.same([...torch.biasIh!, ...torch.biasHh!], [21, 20, 22, 31, 30, 32], 'both biases kept, reordered');
  t.same(Array.from(onnxFromKeras('gru', gru).B!), [20, 21, 22, 30, 31, 32], 'ONNX GRU is z, r, h');
  t.throws(() => pytorchFromKeras('gru', { ...gru, bias: Float32Array.of(1, 2, 3) }, false), /only resetAfter true/);
  t.same(
    Array.from(reorderGates(Float32Array.of(1, 2, 3, 4, 5, 6), ['a', 'b', 'c'], ['c', 'a', 'b'], 2)),
    [5, 6, 1, 2, 3, 4],
  );
});

t.test('Keras → PyTorch → Keras and Keras → ONNX → Keras are exact, and answer identically', async (t) => {
  const x = flat(randomNested(rng(1), [2, 5, 3], 1.5));
  const cases: [CellName, boolean][] = [
    ['simpleRNN', true],
    ['lstm', true],
    ['gru', true],
    ['gru', false],
  ];
  for (const [cell, resetAfter] of cases) {
    const g = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
    const random = rng(2);
    const weights: RecurrentWeights = {
      inputDim: 3,
      hiddenSize: 4,
      kernel: flat(randomNested(random, [3, g * 4])),
      recurrentKernel: flat(randomNested(random, [4, g * 4])),
      bias: flat(randomNested(random, [cell === 'gru' && resetAfter ? 6 * 4 : g * 4])),
    };
    const name = `${cell}${cell === 'gru' ? ` resetAfter ${resetAfter}` : ''}`;
    const viaOnnx = kerasFromOnnx(cell, onnxFromKeras(cell, weights, resetAfter), 3, 4, resetAfter);
    const trips = [['ONNX', viaOnnx]] as [string, RecurrentWeights][];
    if (!(cell === 'gru' && !resetAfter))
      trips.push(['PyTorch', kerasFromPytorch(cell, pytorchFromKeras(cell, weights, resetAfter), 3, 4)]);
    for (const [via, back] of trips) {
      t.ok(
        same(back.kernel, weights.kernel) &&
          same(back.recurrentKernel, weights.recurrentKernel) &&
          same(back.bias, weights.bias),
        `${name} via ${via}: the same weights`,
      );
      if (cell === 'simpleRNN') continue;
      const run = (w: RecurrentWeights) =>
        cell === 'lstm' ? lstmForward(x, [2, 5, 3], w).outputs : gruForward(x, [2, 5, 3], w, { resetAfter }).outputs;
      t.ok(same(run(back), run(weights)), `${name} via ${via}: the same answers`);
    }
  }
});

interface OrtCase {
  name: string;
  cell: 'lstm' | 'gru';
  resetAfter?: boolean;
  clip?: number;
  initialState?: boolean;
  lengths?: number[];
  hardSigmoid?: boolean;
}

t.test('agrees with onnxruntime one-node LSTM and GRU models within 1e-5', async (t) => {
  const [batch, time, inputDim, h] = [3, 8, 5, 6];
  const cases: OrtCase[] = [
    { name: 'LSTM', cell: 'lstm' },
    { name: 'LSTM with initial h and c', cell: 'lstm', initialState: true },
    { name: 'LSTM with clip 0.5', cell: 'lstm', clip: 0.5 },
    { name: 'LSTM with lengths', cell: 'lstm', lengths: [8, 3, 5], initialState: true },
    { name: 'LSTM with HardSigmoid gates', cell: 'lstm', hardSigmoid: true },
    { name: 'GRU linear_before_reset 1', cell: 'gru', resetAfter: true },
    { name: 'GRU linear_before_reset 0', cell: 'gru', resetAfter: false },
    {
      name: 'GRU linear_before_reset 1, clip, initial h',
      cell: 'gru',
      resetAfter: true,
      clip: 0.4,
      initialState: true,
    },
    { name: 'GRU linear_before_reset 0, clip, lengths', cell: 'gru', resetAfter: false, clip: 0.4, lengths: [2, 8, 6] },
    { name: 'GRU with HardSigmoid gates', cell: 'gru', resetAfter: false, hardSigmoid: true },
  ];
  let seed = 50;
  for (const c of cases) {
    const random = rng(seed++);
    const resetAfter = c.resetAfter ?? true;
    const weights = randomWeights(seed++, c.cell, inputDim, h, resetAfter);
    const x = flat(randomNested(random, [batch, time, inputDim], 2));
    const h0 = flat(randomNested(random, [batch, h]));
    const c0 = flat(randomNested(random, [batch, h], 2));
    const lengths = c.lengths ? Int32Array.from(c.lengths) : undefined;
    const activations = c.hardSigmoid ? ['HardSigmoid', 'Tanh', ...(c.cell === 'lstm' ? ['Tanh'] : [])] : undefined;
    const model = onnxGatedModel(c.cell, weights, {
      batch,
      time,
      resetAfter,
      initialState: c.initialState,
      lengths,
      clip: c.clip,
      activations,
    });
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
    const feeds: Record<string, ort.Tensor> = {
      X: new ort.Tensor('float32', swapLeadingAxes(x, batch, time, inputDim), [time, batch, inputDim]),
    };
    if (c.initialState) {
      feeds.initial_h = new ort.Tensor('float32', h0, [1, batch, h]);
      if (c.cell === 'lstm') feeds.initial_c = new ort.Tensor('float32', c0, [1, batch, h]);
    }
    const result = await session.run(feeds);
    // ONNX lengths: valid steps from the start, zeros in Y after them: our mask with zeroOutputForMask.
    const mask = lengths
      ? Uint8Array.from({ length: batch * time }, (_, i) => (i % time < lengths[Math.floor(i / time)] ? 1 : 0))
      : null;
    const options = {
      clip: c.clip ?? null,
      mask,
      zeroOutputForMask: true,
      recurrentActivation: c.hardSigmoid ? ('hardSigmoid' as const) : undefined,
      initialState: c.initialState ? h0 : null,
    };
    const ours: GatedResult & { cellStates?: Float32Array } =
      c.cell === 'lstm'
        ? lstmForward(x, [batch, time, inputDim], weights, { ...options, initialCellState: c.initialState ? c0 : null })
        : gruForward(x, [batch, time, inputDim], weights, { ...options, resetAfter });
    const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const dY = worst(swapLeadingAxes(result.Y.data as Float32Array, time, batch, h), ours.outputs);
    const dH = worst(result.Y_h.data as Float32Array, ours.states);
    t.ok(dY <= TOLERANCE, `${c.name}: Y (max |diff| ${dY})`);
    t.ok(dH <= TOLERANCE, `${c.name}: Y_h (max |diff| ${dH})`);
    if (ours.cellStates) {
      const dC = worst(result.Y_c.data as Float32Array, ours.cellStates);
      t.ok(dC <= TOLERANCE, `${c.name}: Y_c (max |diff| ${dC})`);
    }
    await session.release();
  }
});
