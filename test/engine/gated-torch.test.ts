/**
 * Parity with PyTorch nn.LSTM and nn.GRU on values PyTorch computed itself (test/fixtures/torch-cells, written
 * by scripts/make-torch-cells-fixture.py): its state_dict converted by layouts.ts, run through runNetwork.
 * Bidirectional PyTorch layers concatenate, and packed sequences (lengths) are our mask with zero outputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import {
  kerasFromPytorch,
  type LayerSpec,
  type NetworkSpec,
  pytorchKey,
  type RecurrentWeights,
  runNetwork,
} from '../../src/engine/index.js';

const TOLERANCE = 1e-5;
const DIR = new URL('../fixtures/torch-cells/', import.meta.url);

interface Tensor {
  shape: number[];
  data: number[];
}

interface Fixture {
  cell: 'lstm' | 'gru';
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  stateDict: Record<string, Tensor>;
  input: Tensor;
  h0: Tensor;
  c0?: Tensor;
  lengths?: number[];
  output: Tensor;
  hN: Tensor;
  cN?: Tensor;
}

const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** [layers·directions, batch, h] → one [batch, h] per layer and direction. */
const perState = (tensor: Tensor) => {
  const [count, batch, h] = tensor.shape;
  return Array.from({ length: count }, (_, i) =>
    Float32Array.from(tensor.data.slice(i * batch * h, (i + 1) * batch * h)),
  );
};

const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

t.test('the fixtures are there', async (t) => {
  t.ok(files.length >= 4, `${files.length} fixtures`);
});

for (const file of files) {
  t.test(`agrees with PyTorch within 1e-5: ${file}`, async (t) => {
    const f = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as Fixture;
    const directions = f.bidirectional ? 2 : 1;
    const h = f.hiddenSize;
    const [batch, time] = f.input.shape;
    const layer: LayerSpec = {
      cell: f.cell,
      hiddenSize: h,
      activation: 'tanh',
      useBias: true,
      goBackwards: false,
      clip: null,
      resetAfter: true,
    };
    const spec: NetworkSpec = {
      layers: Array.from({ length: f.numLayers }, () => layer),
      bidirectional: f.bidirectional ? { mergeMode: 'concat' } : null,
    };
    const tensor = (key: string) => Float32Array.from(f.stateDict[key].data);
    let inputDim = f.inputSize;
    const weights = spec.layers.map((_, k) => {
      const perDirection: RecurrentWeights[] = [];
      for (let d = 0; d < directions; d++) {
        const tensors = {
          weightIh: tensor(pytorchKey('weight_ih', k, d)),
          weightHh: tensor(pytorchKey('weight_hh', k, d)),
          biasIh: tensor(pytorchKey('bias_ih', k, d)),
          biasHh: tensor(pytorchKey('bias_hh', k, d)),
        };
        perDirection.push(kerasFromPytorch(f.cell, tensors, inputDim, h));
      }
      inputDim = directions * h;
      return perDirection;
    });
    const lengths = f.lengths;
    const mask = lengths
      ? Uint8Array.from({ length: batch * time }, (_, i) => (i % time < lengths[Math.floor(i / time)] ? 1 : 0))
      : null;
    const result = runNetwork(Float32Array.from(f.input.data), [batch, time, f.inputSize], spec, weights, {
      initialStates: perState(f.h0),
      initialCellStates: f.c0 ? perState(f.c0) : null,
      mask,
      zeroOutputForMask: true,
    });
    t.same(result.outputShape, f.output.shape, 'output shape');
    const dOut = worst(result.outputs, f.output.data);
    t.ok(dOut <= TOLERANCE, `output (max |diff| ${dOut})`);
    const dH = worst(
      result.states.flatMap((s) => Array.from(s)),
      f.hN.data,
    );
    t.ok(dH <= TOLERANCE, `h_n (max |diff| ${dH})`);
    if (f.cN) {
      const dC = worst(
        result.cellStates.flatMap((s) => Array.from(s!)),
        f.cN.data,
      );
      t.ok(dC <= TOLERANCE, `c_n (max |diff| ${dC})`);
    }
  });
}
