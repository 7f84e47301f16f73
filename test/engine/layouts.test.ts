/**
 * layouts.ts converts weights between Keras, PyTorch and ONNX. Held to hand-worked conversions of one-unit cells
 * (every gate block in its framework's order: LSTM i f c o / i f g o / i o f c; GRU z r h / r z n / z r h), the
 * bias rules (summed in float32; a GRU with resetAfter keeping both), round trips that are exact, and the refusals.
 */
import t from 'tap';
import {
  GATE_ORDERS,
  addBiases,
  kerasFromOnnx,
  kerasFromPytorch,
  onnxFromKeras,
  pytorchFromKeras,
  pytorchKey,
  reorderGates,
  transpose,
} from '../../src/engine/layouts.js';

const arr = (...v: number[]) => Float32Array.from(v);
const list = (a: Float32Array | null) => (a === null ? null : [...a]);

t.test('transpose, sums, keys and gate orders', async (t) => {
  t.same([...transpose(arr(1, 2, 3, 4, 5, 6), 2, 3)], [1, 4, 2, 5, 3, 6]);
  t.same([...addBiases(arr(0.1, 1), arr(0.2, -1))], [Math.fround(Math.fround(0.1) + Math.fround(0.2)), 0]);
  t.same([pytorchKey('weight_ih', 0, 0), pytorchKey('bias_hh', 2, 1)], ['weight_ih_l0', 'bias_hh_l2_reverse']);
  t.same(GATE_ORDERS.lstm.onnx, ['i', 'o', 'f', 'c']);
  t.same(GATE_ORDERS.gru.pytorch, ['r', 'z', 'h']);
  t.same(
    [...reorderGates(arr(1, 1, 2, 2, 3, 3, 4, 4), ['i', 'f', 'c', 'o'], ['i', 'o', 'f', 'c'], 2)],
    [1, 1, 4, 4, 2, 2, 3, 3],
  );
  t.throws(() => reorderGates(arr(1, 2, 3), ['a', 'b'], ['b', 'a'], 2), {
    message: '3 elements are not 2 gate blocks of 2',
  });
});

t.test('LSTM, one unit over two features: each framework’s order', async (t) => {
  // Keras kernel [2, 4]: row x0 = i f c o = 1 2 3 4, row x1 = 5 6 7 8.
  const keras = {
    inputDim: 2,
    hiddenSize: 1,
    kernel: arr(1, 2, 3, 4, 5, 6, 7, 8),
    recurrentKernel: arr(10, 20, 30, 40),
    bias: arr(0.5, 1, 0, -0.5),
  };
  const torch = pytorchFromKeras('lstm', keras);
  t.same([...torch.weightIh], [1, 5, 2, 6, 3, 7, 4, 8], '[4h, inputDim] = Wᵀ, gates i f g o');
  t.same(list(torch.biasIh), [0.5, 1, 0, -0.5]);
  t.same(list(torch.biasHh), [0, 0, 0, 0], 'the whole bias in b_ih');
  const onnx = onnxFromKeras('lstm', keras);
  t.same([...onnx.W], [1, 5, 4, 8, 2, 6, 3, 7], 'gates i o f c');
  t.same([...onnx.R], [10, 40, 20, 30]);
  t.same(list(onnx.B), [0.5, -0.5, 1, 0, 0, 0, 0, 0]);
  const back = kerasFromOnnx('lstm', onnx, 2, 1);
  t.same(
    [[...back.kernel], [...back.recurrentKernel], [...back.bias]],
    [[...keras.kernel], [...keras.recurrentKernel], [...keras.bias]],
  );
  const fromTorch = kerasFromPytorch('lstm', { ...torch, biasHh: arr(1, 1, 1, 1) }, 2, 1);
  t.same([...fromTorch.bias], [1.5, 2, 1, 0.5], 'b_ih + b_hh');
  t.same([...kerasFromPytorch('lstm', { ...torch, biasIh: null, biasHh: null }, 2, 1).bias], [0, 0, 0, 0]);
});

t.test('GRU: PyTorch r z n; resetAfter keeps both biases; without it they are summed', async (t) => {
  const keras = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: arr(1, 2, 3),
    recurrentKernel: arr(4, 5, 6),
    bias: arr(0.1, 0.2, 0.3, 1, 2, 3),
  };
  const torch = pytorchFromKeras('gru', keras);
  t.same(
    [[...torch.weightIh], [...torch.weightHh]],
    [
      [2, 1, 3],
      [5, 4, 6],
    ],
  );
  t.same([list(torch.biasIh), list(torch.biasHh)], [[0.2, 0.1, 0.3].map(Math.fround), [2, 1, 3]]);
  const back = kerasFromPytorch('gru', torch, 1, 1);
  t.same([...back.bias], [...keras.bias], 'exact both ways');
  t.throws(() => pytorchFromKeras('gru', keras, false), /only resetAfter true converts/);
  const onnx = onnxFromKeras('gru', keras);
  t.same(list(onnx.B), [0.1, 0.2, 0.3, 1, 2, 3].map(Math.fround), 'z r h: [Wb, Rb]');
  t.same([...kerasFromOnnx('gru', onnx, 1, 1, true).bias], [...keras.bias], 'linear_before_reset 1');
  const before = kerasFromOnnx('gru', onnx, 1, 1, false);
  t.same([...before.bias], [0.1 + 1, 0.2 + 2, 0.3 + 3].map(Math.fround), 'linear_before_reset 0: Wb + Rb');
  const noReset = onnxFromKeras('gru', { ...keras, bias: arr(0.1, 0.2, 0.3) }, false);
  t.same(list(noReset.B), [0.1, 0.2, 0.3, 0, 0, 0].map(Math.fround));
});

t.test('SimpleRNN: transposes only', async (t) => {
  const keras = {
    inputDim: 2,
    hiddenSize: 2,
    kernel: arr(1, 2, 3, 4),
    recurrentKernel: arr(5, 6, 7, 8),
    bias: arr(9, 10),
  };
  const onnx = onnxFromKeras('simpleRNN', keras);
  t.same(
    [[...onnx.W], [...onnx.R], list(onnx.B)],
    [
      [1, 3, 2, 4],
      [5, 7, 6, 8],
      [9, 10, 0, 0],
    ],
  );
  const back = kerasFromPytorch('simpleRNN', pytorchFromKeras('simpleRNN', keras), 2, 2);
  t.same(
    [[...back.kernel], [...back.recurrentKernel], [...back.bias]],
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ],
  );
});
