import { HELLO_INPUTS } from '../../schemas/forward.js';

/**
 * Requests over the options that shape an answer: formats, states kept or not, clip, goBackwards, every merge
 * mode, stacks, a ragged batch, text, the PyTorch state layout, topK classes, flat inputs with explicit weights,
 * LSTM and GRU layers (alone and mixed). `inputs(b, t, f)` draws a nested batch.
 */
export function answerShapingRequests(
  inputs: (batch: number, time: number, features: number) => unknown,
): Record<string, unknown>[] {
  return [
    { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 },
    { inputs: inputs(3, 4, 2), hiddenSize: 5, seed: 1, outputFormat: 'flat' },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, returnState: false },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, returnSequences: false, activation: 'relu', useBias: false },
    { inputs: inputs(1, 6, 3), hiddenSize: 4, clip: 0.25, goBackwards: true },
    { inputs: inputs(1, 2, 3), hiddenSize: 4, clip: 1e21 },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, bidirectional: {} },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, bidirectional: { mergeMode: 'sum' }, returnSequences: false },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, bidirectional: { mergeMode: null } },
    {
      inputs: inputs(2, 3, 2),
      hiddenSize: 3,
      bidirectional: { mergeMode: null },
      returnSequences: false,
      outputFormat: 'flat',
    },
    {
      inputs: inputs(2, 4, 3),
      layers: [{ hiddenSize: 4 }, { hiddenSize: 2, activation: 'sigmoid', clip: 3 }],
      seed: 9,
    },
    {
      inputs: inputs(2, 4, 3),
      layers: [{ hiddenSize: 3 }, { hiddenSize: 2 }],
      bidirectional: { mergeMode: 'ave' },
      outputFormat: 'flat',
    },
    {
      inputs: [
        [[1, 2]],
        [
          [3, 4],
          [5, 6],
          [7, 8],
        ],
      ],
      hiddenSize: 2,
    },
    { text: ['hé', 'llo😀'], hiddenSize: 3, seed: 4 },
    {
      inputs: inputs(2, 3, 2),
      layers: [{ hiddenSize: 3 }, { hiddenSize: 3 }],
      bidirectional: {},
      stateLayout: 'pytorch',
      topK: 2,
    },
    {
      inputs: inputs(2, 3, 2),
      hiddenSize: 4,
      stateLayout: 'pytorch',
      outputFormat: 'flat',
      topK: 4,
      returnSequences: false,
    },
    { inputs: inputs(1, 2, 2), hiddenSize: 3, stateLayout: 'keras', topK: 1, returnState: false },
    // LSTM and GRU: cellStates beside states (LSTM layers only), in every layout and format.
    { inputs: inputs(2, 3, 2), hiddenSize: 3, cell: 'lstm', seed: 5 },
    { inputs: inputs(2, 3, 2), hiddenSize: 3, cell: 'lstm', returnState: false, outputFormat: 'flat' },
    { inputs: inputs(2, 3, 2), hiddenSize: 2, cell: 'gru', resetAfter: false, clip: 0.5 },
    {
      inputs: inputs(2, 4, 3),
      layers: [
        { hiddenSize: 3, cell: 'lstm' },
        { hiddenSize: 2, cell: 'gru' },
        { hiddenSize: 2, cell: 'lstm', recurrentActivation: 'hardSigmoid' },
      ],
      bidirectional: { mergeMode: 'concat' },
      outputFormat: 'flat',
    },
    {
      inputs: inputs(2, 3, 2),
      layers: [
        { hiddenSize: 3, cell: 'lstm' },
        { hiddenSize: 3, cell: 'lstm', unitForgetBias: false },
      ],
      bidirectional: {},
      stateLayout: 'pytorch',
      returnSequences: false,
    },
    { inputs: inputs(1, 3, 2), layers: [{ hiddenSize: 2 }, { hiddenSize: 2, cell: 'lstm' }], stateLayout: 'pytorch' },
    {
      inputs: { shape: [2, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] },
      hiddenSize: 2,
      weights: {
        kernel: [
          [1, 0],
          [0, 1],
        ],
        recurrentKernel: [
          [0.5, 0],
          [0, 0.5],
        ],
        bias: [0.1, -0.1],
      },
    },
  ];
}
