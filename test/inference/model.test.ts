/**
 * model.ts turns a model description (the model fields of /rnn/forward and /rnn/weights, and of a repository's
 * model.json) into an engine network: layer specs with every default filled in, and weights (seeded, built on first
 * use and counted until then, or explicit). Held to: the specs and summaries it writes, seeded weights equal to the
 * engine's seeded contract, the build cost it reports, the answer's features and classifier test, and each 400 it
 * throws for a contradiction, with the JSON path and the words that say what to do.
 */
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import { seededNetworkWeights } from '../../src/engine/index.js';
import {
  endsInSoftmax,
  type ModelDescription,
  modelOutputFeatures,
  modelSummary,
  resolveModel,
} from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { explicitModel, layer, limits, problemOf, softmaxHead } from '../helpers/inference.js';

const LIMITS = defaultConfig.limits;
const resolve = (model: ModelDescription, inputDim = 2, within = LIMITS) =>
  resolveModel(model, inputDim, within, new SeededWeightsCache(4));
const refusal = (model: ModelDescription, inputDim = 2, within = LIMITS) =>
  problemOf(() => resolve(model, inputDim, within)).errors;

t.test('a seeded description: every default filled in, its weights the seeded contract', async (t) => {
  const model = resolve({ hiddenSize: 3 }, 2);
  t.same(model.spec, {
    layers: [{ hiddenSize: 3, activation: 'tanh', useBias: true, goBackwards: false, clip: null }],
    bidirectional: null,
  });
  t.equal(model.seed, 0, 'the default seed');
  t.equal(model.inputDim, 2);
  t.same(model.weights, seededNetworkWeights(0, model.spec, 2));

  const gated = resolve({
    seed: 9,
    layers: [
      { hiddenSize: 2, cell: 'lstm' },
      { hiddenSize: 3, cell: 'gru', clip: 2 },
    ],
  });
  t.same(gated.spec.layers, [
    {
      hiddenSize: 2,
      activation: 'tanh',
      useBias: true,
      goBackwards: false,
      clip: null,
      cell: 'lstm',
      recurrentActivation: 'sigmoid',
      unitForgetBias: true,
    },
    {
      hiddenSize: 3,
      activation: 'tanh',
      useBias: true,
      goBackwards: false,
      clip: 2,
      cell: 'gru',
      recurrentActivation: 'sigmoid',
      resetAfter: true,
    },
  ]);
  t.same(gated.weights, seededNetworkWeights(9, gated.spec, 2));
  t.same(resolve({ hiddenSize: 2, bidirectional: { mergeMode: 'sum' } }).spec.bidirectional, { mergeMode: 'sum' });
});

t.test('the build cost of seeded weights: 6·G·h³ per layer and direction, 0 once the cache holds them', async (t) => {
  const cache = new SeededWeightsCache(4);
  const model = resolveModel({ hiddenSize: 3, cell: 'lstm', bidirectional: { mergeMode: 'concat' } }, 2, LIMITS, cache);
  t.equal(model.buildCost, 2 * 6 * 4 * 27);
  const weights = model.weights;
  t.equal(model.buildCost, 0, 'built once read');
  t.equal(model.weights, weights, 'and read from the cache after');
  const explicit = resolve({ weights: { kernel: [[1]], recurrentKernel: [[0.5]], bias: [0] } }, 1);
  t.equal(explicit.buildCost, 0);
  t.equal(explicit.seed, null);
});

t.test('explicit weights: the spec follows from them; the fields given must agree', async (t) => {
  const cell = {
    kernel: [[1, 2]],
    recurrentKernel: [
      [0.5, 0],
      [0, 0.5],
    ],
    bias: [0.25, -0.25],
  };
  /** Layer 1 reads layer 0's two features. */
  const second = {
    ...cell,
    kernel: [
      [1, 2],
      [3, 4],
    ],
  };
  const model = resolve(
    { weights: [cell, second], layers: [{ hiddenSize: 2 }, { hiddenSize: 2, activation: 'relu' }] },
    1,
  );
  t.same(
    model.spec.layers.map((l) => [l.hiddenSize, l.activation]),
    [
      [2, 'tanh'],
      [2, 'relu'],
    ],
  );
  t.same([...model.weights[1][0].recurrentKernel], [0.5, 0, 0, 0.5]);
  t.same(resolve({ weights: [cell, second] }, 1).spec.layers.length, 2, 'the shorthand fields apply to every layer');
  t.match(refusal({ weights: cell, hiddenSize: 3 }, 1), [
    { path: 'hiddenSize', message: 'is 3 but the weights of layer 0 have 2 units; they must agree' },
  ]);
  t.match(refusal({ weights: [cell], layers: [{ hiddenSize: 2 }, { hiddenSize: 2 }] }, 1), [
    { path: 'layers', message: 'has 2 layers but the weights describe 1' },
  ]);
  t.match(refusal({ weights: [cell], layers: [{ hiddenSize: 5 }] }, 1), [
    { path: 'layers[0].hiddenSize', message: 'is 5 but the weights of layer 0 have 2 units; they must agree' },
  ]);
  t.match(refusal({ weights: { kernel: [[]], recurrentKernel: [] } }, 1), [
    { path: 'weights.recurrentKernel', message: 'is empty; expected [hiddenSize, hiddenSize]' },
  ]);
  // A PyTorch state_dict without bias entries is nn.RNN(bias=False): useBias false unless the request says otherwise.
  const torch = resolve({ pytorchWeights: { weight_ih_l0: [[1]], weight_hh_l0: [[0.5]] } }, 1);
  t.equal(torch.spec.layers[0].useBias, false);
});

t.test('contradictions in the description are 400s naming the field', async (t) => {
  t.match(refusal({ seed: 1, weights: { kernel: [[1]], recurrentKernel: [[1]] } }), [
    { path: 'weights', message: 'cannot be combined with seed; send one source of weights' },
  ]);
  t.match(refusal({ weights: { kernel: [[1]], recurrentKernel: [[1]] }, onnxWeights: [] }), [
    { path: 'onnxWeights', message: 'cannot be combined with weights; send one source of weights' },
  ]);
  t.match(refusal({ layers: [{ hiddenSize: 2 }], activation: 'relu' }), [
    { path: 'activation', message: 'cannot be combined with layers; set it on each layer (layers[k].activation)' },
  ]);
  t.match(refusal({ layers: [] }), [{ path: 'layers', message: 'is empty; expected at least 1 layer' }]);
  t.match(refusal({}), [{ path: 'hiddenSize', message: 'is required unless weights are given' }]);
  t.match(refusal({ layers: [{ hiddenSize: 2 }, {} as never] }), [
    { path: 'layers[1].hiddenSize', message: 'is required unless weights are given' },
  ]);
  t.match(refusal({ hiddenSize: 2, recurrentActivation: 'relu' }), [
    {
      path: 'recurrentActivation',
      message: 'applies to lstm and gru only, and the cell is simpleRNN: set cell, or drop recurrentActivation',
    },
  ]);
  t.match(refusal({ hiddenSize: 2, cell: 'gru', unitForgetBias: false }), [
    { path: 'unitForgetBias', message: 'applies to lstm only, and the cell is gru: set cell, or drop unitForgetBias' },
  ]);
  t.match(refusal({ layers: [{ hiddenSize: 2 }, { hiddenSize: 2, cell: 'lstm', resetAfter: true }] }), [
    { path: 'layers[1].resetAfter', message: 'applies to gru only, and layer 1 is lstm: set cell, or drop resetAfter' },
  ]);
  t.match(refusal({ hiddenSize: 2, goBackwards: true, bidirectional: { mergeMode: 'concat' } }), [
    {
      path: 'goBackwards',
      message: 'cannot be combined with bidirectional (its backward direction already runs backwards)',
    },
  ]);
  t.match(refusal({ layers: [{ hiddenSize: 2 }, { hiddenSize: 2 }], bidirectional: { mergeMode: null } }), [
    {
      path: 'bidirectional.mergeMode',
      message: /^is null, which returns two sequences: only possible for a single layer/,
    },
  ]);
  t.ok(resolve({ hiddenSize: 2, bidirectional: { mergeMode: null } }), 'a single layer may return both directions');
});

t.test('the limits on layers and hidden size', async (t) => {
  const small = limits({ maxLayers: 2, maxHiddenSize: 4 });
  const layers = refusal({ layers: [{ hiddenSize: 1 }, { hiddenSize: 1 }, { hiddenSize: 1 }] }, 2, small);
  t.match(layers, [{ path: 'layers', message: 'the number of layers is 3; the limit is 2 (MAX_LAYERS)' }]);
  t.match(refusal({ hiddenSize: 5 }, 2, small), [
    { path: 'hiddenSize', message: 'the hidden size is 5; the limit is 4 (MAX_HIDDEN_SIZE)' },
  ]);
  const five = Array.from({ length: 5 }, () => [0, 0, 0, 0, 0]);
  t.match(refusal({ weights: { kernel: [[0, 0, 0, 0, 0]], recurrentKernel: five } }, 1, small), [
    { path: 'weights.recurrentKernel', message: 'the hidden size is 5; the limit is 4 (MAX_HIDDEN_SIZE)' },
  ]);
  t.equal(problemOf(() => resolve({ hiddenSize: 5 }, 2, small)).kind, 'limit-exceeded');
});

t.test('output features, the classifier test and the summary', async (t) => {
  const spec = { layers: [layer(3), layer(2)], bidirectional: { mergeMode: 'concat' as const } };
  const plain = explicitModel(spec, 2);
  t.equal(modelOutputFeatures(plain), 4, 'the last layer, both directions concatenated');
  t.equal(endsInSoftmax(plain), false);
  const headed = explicitModel(spec, 2, { head: [softmaxHead(4, 6)] });
  t.equal(modelOutputFeatures(headed), 6, 'the last Dense layer');
  t.equal(endsInSoftmax(headed), true);
  const relu = explicitModel(spec, 2, { head: [{ ...softmaxHead(4, 6), activation: 'relu' }] });
  t.equal(endsInSoftmax(relu), false);

  t.same(modelSummary(resolve({ hiddenSize: 2, seed: 5, cell: 'gru', resetAfter: false }, 3)), {
    inputDim: 3,
    hiddenSize: 2,
    seed: 5,
    layers: [
      {
        hiddenSize: 2,
        activation: 'tanh',
        useBias: true,
        goBackwards: false,
        clip: null,
        cell: 'gru',
        recurrentActivation: 'sigmoid',
        resetAfter: false,
      },
    ],
    bidirectional: null,
  });
  const mixed = explicitModel(
    { layers: [layer(2), layer(3)], bidirectional: null, layerBidirectional: [{ mergeMode: 'sum' }, null] },
    2,
  );
  const summary = modelSummary(mixed);
  t.same(
    summary.layers.map((l) => l.bidirectional),
    [{ mergeMode: 'sum' }, null],
    "a mixed stack lists each layer's wrapping",
  );
  t.equal(summary.hiddenSize, 3, 'the last layer');
});
