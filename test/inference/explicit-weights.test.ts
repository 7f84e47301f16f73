/**
 * explicit-weights.ts reads the weights a request (or model.json) gives, in Keras, PyTorch or ONNX layout, into Keras
 * layout cells grouped [layer][direction], then checks each against its layer's spec. Held to: hand-worked
 * conversions (transposes, gate blocks reordered, biases summed or kept apart for a resetAfter GRU), the cells
 * grouped by direction, and every refusal's JSON path and message, for each layout and each cell.
 */
import t from 'tap';
import { ProblemList } from '../../src/codec/tensors.js';
import type { NetworkSpec } from '../../src/engine/index.js';
import { checkedWeights, describedCell, optionPath, readExplicitCells } from '../../src/inference/explicit-weights.js';
import type { ModelDescription } from '../../src/inference/model.js';
import { layer, problemOf } from '../helpers/inference.js';

/** The cells, each as [kernel, recurrentKernel, bias] flat arrays (null bias: none given). */
function read(model: ModelDescription, directions = 1) {
  const problems = new ProblemList();
  const cells = readExplicitCells(model, directions, problems);
  if (!problems.empty) throw problems.error();
  return cells?.map((l) => l.map((c) => [[...c.kernel.data], [...c.recurrentKernel.data], c.bias && [...c.bias]]));
}
const refusal = (model: ModelDescription, directions = 1) => problemOf(() => read(model, directions)).errors;

t.test('the cell and option path of a layer: per layer in a stack, else the single-layer fields', async (t) => {
  t.same(describedCell({ cell: 'gru', resetAfter: false }, 3), { cell: 'gru', resetAfter: false });
  t.same(describedCell({ layers: [{ hiddenSize: 1 }, { hiddenSize: 1, cell: 'lstm' }] }, 1), {
    cell: 'lstm',
    resetAfter: true,
  });
  t.same(describedCell({ layers: [{ hiddenSize: 1 }] }, 4), { cell: 'simpleRNN', resetAfter: true }, 'past the stack');
  t.equal(optionPath({}, 2, 'resetAfter'), 'resetAfter');
  t.equal(optionPath({ layers: [] }, 2, 'resetAfter'), 'layers[2].resetAfter');
  t.equal(read({ hiddenSize: 2 }), undefined, 'seeded: no explicit cells');
});

t.test('Keras weights: as sent, one cell per layer and direction in order', async (t) => {
  const a = {
    kernel: [[1, 2]],
    recurrentKernel: [
      [3, 4],
      [5, 6],
    ],
    bias: [7, 8],
  };
  const b = {
    kernel: [[9, 10]],
    recurrentKernel: [
      [11, 12],
      [13, 14],
    ],
  };
  t.same(read({ weights: a }), [
    [
      [
        [1, 2],
        [3, 4, 5, 6],
        [7, 8],
      ],
    ],
  ]);
  t.same(read({ weights: [a, b] }, 2), [
    [
      [
        [1, 2],
        [3, 4, 5, 6],
        [7, 8],
      ],
      [[9, 10], [11, 12, 13, 14], null],
    ],
  ]);
  t.same(read({ weights: [a, b] }, 1)?.length, 2, 'two layers when unidirectional');
  const problems = new ProblemList();
  const gru = readExplicitCells(
    {
      weights: {
        kernel: [[0, 0, 0]],
        recurrentKernel: [[0, 0, 0]],
        bias: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    },
    1,
    problems,
  );
  t.same(gru?.[0][0].biasShape, [2, 3], "a GRU's [2, 3·h] bias keeps its shape");
  t.same([...(gru?.[0][0].bias ?? [])], [1, 2, 3, 4, 5, 6]);
  t.match(refusal({ weights: [] }), [
    { path: 'weights', message: 'is empty; expected one cell per layer and direction' },
  ]);
  t.match(refusal({ weights: [a, b, a] }, 2), [
    { path: 'weights', message: 'has 3 cells; a bidirectional model needs 2 per layer (forward, backward)' },
  ]);
  t.match(refusal({ weights: [a, { ...b, recurrentKernel: [[1, 2], [3]] }] }), [
    {
      path: 'weights[1].recurrentKernel[1]',
      message: 'has 1 entry; expected 2 (the width of weights[1].recurrentKernel[0])',
    },
  ]);
  t.match(refusal({ weights: { ...a, bias: [1e39, 0] } }), [
    { path: 'weights.bias[0]', message: '1e+39 is outside the float32 range (±3.4028234663852886e+38)' },
  ]);
});

t.test('PyTorch nn.RNN: transposed, b_ih + b_hh; nn.LSTM and nn.GRU in Keras gate order', async (t) => {
  t.same(
    read({
      pytorchWeights: {
        weight_ih_l0: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        weight_hh_l0: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 2],
        ],
        bias_ih_l0: [1, 2, 3],
        bias_hh_l0: [0.5, 0.5, 0.5],
      },
    }),
    [
      [
        [
          [1, 3, 5, 2, 4, 6],
          [1, 0, 0, 0, 1, 0, 0, 0, 2],
          [1.5, 2.5, 3.5],
        ],
      ],
    ],
  );
  t.same(
    read(
      {
        pytorchWeights: {
          weight_ih_l0: [[1]],
          weight_hh_l0: [[2]],
          weight_ih_l0_reverse: [[3]],
          weight_hh_l0_reverse: [[4]],
        },
      },
      2,
    ),
    [
      [
        [[1], [2], null],
        [[3], [4], null],
      ],
    ],
    '_reverse is the backward direction; no biases: none',
  );
  // LSTM: PyTorch i, f, g, o is Keras i, f, c, o; hidden 1, input 1.
  t.same(
    read({
      cell: 'lstm',
      pytorchWeights: {
        weight_ih_l0: [[1], [2], [3], [4]],
        weight_hh_l0: [[5], [6], [7], [8]],
        bias_ih_l0: [1, 1, 1, 1],
        bias_hh_l0: [0, 1, 2, 3],
      },
    }),
    [
      [
        [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
          [1, 2, 3, 4],
        ],
      ],
    ],
  );
  // GRU: PyTorch r, z, n is Keras z, r, h; both biases kept, as [b_ih; b_hh].
  t.same(
    read({
      cell: 'gru',
      pytorchWeights: {
        weight_ih_l0: [[1], [2], [3]],
        weight_hh_l0: [[4], [5], [6]],
        bias_ih_l0: [10, 20, 30],
        bias_hh_l0: [1, 2, 3],
      },
    }),
    [
      [
        [
          [2, 1, 3],
          [5, 4, 6],
          [20, 10, 30, 2, 1, 3],
        ],
      ],
    ],
  );
});

t.test('PyTorch refusals name the state_dict key', async (t) => {
  const w = { weight_ih_l0: [[1]], weight_hh_l0: [[1]] };
  t.match(refusal({ pytorchWeights: { ...w, 'rnn.weight': [[1]] } }), [
    { path: 'pytorchWeights.rnn.weight', message: /^is not an nn.RNN parameter/ },
  ]);
  t.match(refusal({ pytorchWeights: { ...w, weight_ih_l0_reverse: [[1]] } }), [
    {
      path: 'pytorchWeights.weight_ih_l0_reverse',
      message: 'is a backward-direction parameter but the model is not bidirectional',
    },
  ]);
  t.match(refusal({ pytorchWeights: {} }), [
    { path: 'pytorchWeights', message: 'has no parameters; expected weight_ih_l0, weight_hh_l0, ...' },
  ]);
  t.match(refusal({ pytorchWeights: { weight_ih_l1: [[1]], ...w } }), [
    { path: 'pytorchWeights.weight_hh_l1', message: 'is missing' },
  ]);
  t.match(refusal({ pytorchWeights: { ...w, weight_hh_l0: [1] } }), [
    { path: 'pytorchWeights.weight_hh_l0', message: 'is a vector; expected a matrix' },
  ]);
  t.match(refusal({ pytorchWeights: { ...w, bias_ih_l0: [[1]], bias_hh_l0: [1] } }), [
    { path: 'pytorchWeights.bias_ih_l0', message: 'is a matrix; expected a vector' },
  ]);
  t.match(refusal({ pytorchWeights: { ...w, bias_ih_l0: [1] } }), [
    {
      path: 'pytorchWeights.bias_hh_l0',
      message: 'is missing; nn.RNN has both biases or neither (bias_ih_l0 is present)',
    },
  ]);
  t.match(refusal({ pytorchWeights: { ...w, bias_ih_l0: [1], bias_hh_l0: [1, 2] } }), [
    { path: 'pytorchWeights.bias_hh_l0', message: 'has 2 entries; expected 1 (bias_ih_l0)' },
  ]);
  t.match(refusal({ cell: 'gru', resetAfter: false, pytorchWeights: w }), [
    { path: 'resetAfter', message: /^is false, but PyTorch nn.GRU applies the reset gate after the recurrent product/ },
  ]);
  const lstm = { weight_ih_l0: [[1], [2], [3], [4]], weight_hh_l0: [[1], [2], [3], [4]] };
  t.match(refusal({ cell: 'lstm', pytorchWeights: { ...lstm, weight_hh_l0: [[1], [2], [3]] } }), [
    {
      path: 'pytorchWeights.weight_hh_l0',
      message: 'is [3, 1]; expected [4, 1] (lstm: 4·hiddenSize, gates i, f, g, o)',
    },
  ]);
  t.match(refusal({ cell: 'lstm', pytorchWeights: { ...lstm, weight_ih_l0: [[1, 2]] } }), [
    {
      path: 'pytorchWeights.weight_ih_l0',
      message:
        'is [1, 2]; expected [4, inputDim] (lstm: 4·hiddenSize, gates i, f, g, o, hiddenSize 1 from weight_hh_l0)',
    },
  ]);
  t.match(
    refusal({
      layers: [{ hiddenSize: 1, cell: 'gru' }],
      pytorchWeights: {
        weight_ih_l0: [[1], [2], [3]],
        weight_hh_l0: [[1], [2], [3]],
        bias_ih_l0: [1, 2],
        bias_hh_l0: [1, 2, 3],
      },
    }),
    [{ path: 'pytorchWeights.bias_ih_l0', message: 'has 2 entries; expected 3 (gru: 3·hiddenSize, gates r, z, n)' }],
  );
  t.match(refusal({ cell: 'lstm', pytorchWeights: { ...lstm, bias_hh_l0: [1, 2, 3, 4] } }), [
    {
      path: 'pytorchWeights.bias_ih_l0',
      message: 'is missing; nn.LSTM has both biases or neither (bias_hh_l0 is present)',
    },
  ]);
});

t.test('ONNX nodes: W and R transposed per direction, B = Wb + Rb; gated nodes in Keras gate order', async (t) => {
  t.same(
    read({
      onnxWeights: [
        {
          W: [
            [
              [1, 2],
              [3, 4],
            ],
          ],
          R: [
            [
              [1, 0],
              [0, 1],
            ],
          ],
          B: [[1, 2, 10, 20]],
        },
      ],
    }),
    [
      [
        [
          [1, 3, 2, 4],
          [1, 0, 0, 1],
          [11, 22],
        ],
      ],
    ],
  );
  t.same(
    read({ onnxWeights: [{ W: [[[1]], [[2]]], R: [[[3]], [[4]]] }] }, 2),
    [
      [
        [[1], [3], null],
        [[2], [4], null],
      ],
    ],
    'one node, both directions; no B',
  );
  // LSTM: ONNX i, o, f, c is Keras i, f, c, o.
  t.same(
    read({
      cell: 'lstm',
      onnxWeights: [
        { W: [[[1], [2], [3], [4]]], R: [[[5], [6], [7], [8]]], B: [[1, 2, 3, 4, 1, 1, 1, 1]], P: [[0, 0, 0]] },
      ],
    }),
    [
      [
        [
          [1, 3, 4, 2],
          [5, 7, 8, 6],
          [2, 4, 5, 3],
        ],
      ],
    ],
  );
  // GRU z, r, h in both; linear_before_reset (resetAfter) keeps Wb and Rb apart, else sums them.
  const gru = { W: [[[1], [2], [3]]], R: [[[4], [5], [6]]], B: [[1, 2, 3, 10, 20, 30]] };
  t.same(read({ cell: 'gru', onnxWeights: [gru] }), [
    [
      [
        [1, 2, 3],
        [4, 5, 6],
        [1, 2, 3, 10, 20, 30],
      ],
    ],
  ]);
  t.same(read({ cell: 'gru', resetAfter: false, onnxWeights: [gru] }), [
    [
      [
        [1, 2, 3],
        [4, 5, 6],
        [11, 22, 33],
      ],
    ],
  ]);
});

t.test('ONNX refusals name the node input and direction', async (t) => {
  const node = { W: [[[1]]], R: [[[1]]] };
  t.match(refusal({ onnxWeights: [] }), [
    { path: 'onnxWeights', message: 'is empty; expected one RNN node per layer' },
  ]);
  t.match(refusal({ onnxWeights: [{ ...node, P: [[0, 0, 0]] }] }), [
    { path: 'onnxWeights[0].P', message: 'is given, but peepholes belong to ONNX LSTM nodes and layer 0 is simpleRNN' },
  ]);
  t.match(refusal({ onnxWeights: [node, { ...node, R: [[[1]], [[1]]] }] }), [
    { path: 'onnxWeights[1].R', message: 'has 2 directions; expected 1 (forward)' },
  ]);
  t.match(refusal({ onnxWeights: [node] }, 2), [
    { path: 'onnxWeights[0].W', message: 'has 1 directions; expected 2 (bidirectional)' },
  ]);
  t.match(refusal({ onnxWeights: [{ ...node, B: [[1]] }] }), [
    { path: 'onnxWeights[0].B[0]', message: 'has 1 entry; expected 2 (2·hiddenSize: Wb then Rb)' },
  ]);
  const lstm = { W: [[[1], [2], [3], [4]]], R: [[[5], [6], [7], [8]]] };
  t.match(
    refusal({
      cell: 'lstm',
      onnxWeights: [
        {
          ...lstm,
          R: [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        },
      ],
    }),
    [{ path: 'onnxWeights[0].R[0]', message: 'is [2, 2]; expected [8, 2] (lstm: 4·hiddenSize, gates i, o, f, c)' }],
  );
  t.match(refusal({ cell: 'lstm', onnxWeights: [{ ...lstm, W: [[[1]]] }] }), [
    {
      path: 'onnxWeights[0].W[0]',
      message: 'is [1, 1]; expected [4, inputDim] (lstm: 4·hiddenSize, gates i, o, f, c, hiddenSize 1 from R)',
    },
  ]);
  t.match(refusal({ cell: 'lstm', onnxWeights: [{ ...lstm, B: [[1, 2, 3, 4]] }] }), [
    { path: 'onnxWeights[0].B[0]', message: 'has 4 entries; expected 8 (2·4·hiddenSize: Wb then Rb)' },
  ]);
  t.match(refusal({ cell: 'lstm', onnxWeights: [{ ...lstm, P: [[0, 0]] }] }), [
    { path: 'onnxWeights[0].P[0]', message: 'has 2 entries; expected 3 (3·hiddenSize)' },
  ]);
  t.match(refusal({ cell: 'lstm', onnxWeights: [{ ...lstm, P: [[0, 0.5, 0]] }] }), [
    { path: 'onnxWeights[0].P[0][1]', message: /^is 0.5: peepholes have no Keras counterpart and are not supported/ },
  ]);
});

t.test('checkedWeights: each cell against its layer, every problem listed with its path', async (t) => {
  const spec = (extra = {}, h = 2): NetworkSpec => ({ layers: [layer(h, extra)], bidirectional: null });
  const cells = (model: ModelDescription) => {
    const problems = new ProblemList();
    const read = readExplicitCells(model, 1, problems);
    if (read === null || !problems.empty) throw new Error('not read');
    return read;
  };
  const r2 = [
    [1, 0],
    [0, 1],
  ];
  const good = cells({
    weights: {
      kernel: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      recurrentKernel: r2,
      bias: [1, 2],
    },
  });
  const weights = checkedWeights(spec(), good, 3);
  t.same(weights[0][0].inputDim, 3);
  t.same([...weights[0][0].bias], [1, 2]);
  const noBias = cells({ weights: { kernel: [[1, 2]], recurrentKernel: r2 } });
  t.same([...checkedWeights(spec({ useBias: false }), noBias, 1)[0][0].bias], [0, 0], 'no bias: zeros');

  const checked = (model: ModelDescription, s: NetworkSpec, inputDim: number) =>
    problemOf(() => checkedWeights(s, cells(model), inputDim)).errors;
  t.match(checked({ weights: { kernel: [[1, 2]], recurrentKernel: r2, bias: [1, 2] } }, spec(), 3), [
    { path: 'weights.kernel', message: 'is [1, 2]; expected [3, 2] (inputDim, the features of inputs)' },
  ]);
  t.match(checked({ weights: { kernel: [[1, 2, 3]], recurrentKernel: [[1, 2, 3]], bias: [1, 2] } }, spec(), 1), [
    { path: 'weights.kernel', message: 'is [1, 3]; expected [1, 2] (hiddenSize 2)' },
    { path: 'weights.recurrentKernel', message: 'is [1, 3]; expected [2, 2]' },
  ]);
  t.match(checked({ weights: { kernel: [[1, 2]], recurrentKernel: r2 } }, spec(), 1), [
    { path: 'weights.bias', message: 'is missing; the layer uses a bias (useBias is true), expected [2]' },
  ]);
  t.match(checked({ weights: { kernel: [[1, 2]], recurrentKernel: r2, bias: [1, 2] } }, spec({ useBias: false }), 1), [
    { path: 'weights.bias', message: 'is given but useBias is false; send no bias' },
  ]);
  t.match(checked({ weights: { kernel: [[1, 2]], recurrentKernel: r2, bias: [1] } }, spec(), 1), [
    { path: 'weights.bias', message: 'has 1 entry; expected 2 (hiddenSize)' },
  ]);
  t.match(checked({ pytorchWeights: { weight_ih_l0: [[1], [2]], weight_hh_l0: r2 } }, spec(), 1), [
    {
      path: 'pytorchWeights.bias_ih_l0',
      message: /^is missing, and useBias is true: a state_dict without bias entries is nn.RNN\(bias=False\)/,
    },
  ]);
  const gru = { kernel: [[1, 2, 3]], recurrentKernel: [[1, 2, 3]] };
  t.match(checked({ weights: { ...gru, bias: [1, 2, 3] } }, spec({ cell: 'gru', resetAfter: true }, 1), 1), [
    { path: 'weights.bias', message: 'is [3]; expected [2, 3] (gru with resetAfter true)' },
  ]);
  t.match(checked({ weights: { ...gru, kernel: [[1, 2]] } }, spec({ cell: 'gru', resetAfter: false }, 1), 1), [
    { path: 'weights.kernel', message: 'is [1, 2]; expected [1, 3] (gru: 3·hiddenSize, gates z, r, h, hiddenSize 1)' },
  ]);
  const stack: NetworkSpec = { layers: [layer(2), layer(1)], bidirectional: { mergeMode: 'concat' } };
  const two = cells({
    weights: [
      { kernel: [[1, 2]], recurrentKernel: r2, bias: [0, 0] },
      { kernel: [[1, 2]], recurrentKernel: r2, bias: [0, 0] },
      { kernel: [[1], [2]], recurrentKernel: [[1]], bias: [0] },
      { kernel: [[1], [2], [3], [4]], recurrentKernel: [[1]], bias: [0] },
    ],
  }).flat();
  const grouped = [two.slice(0, 2), two.slice(2)];
  t.match(problemOf(() => checkedWeights(stack, grouped, 1)).errors, [
    { path: 'weights[2].kernel', message: 'is [2, 1]; expected [4, 1] (the output features of layer 0)' },
  ]);
});
