/**
 * weights-export.ts answers POST /rnn/weights: a model's weights in the Keras, PyTorch and ONNX layouts and a
 * sha256 digest. Held to hand-worked layouts (transposes; gate blocks in each framework's order: Keras LSTM i f c o,
 * ONNX i o f c; Keras GRU z r h, PyTorch r z n), the digest recomputed here from the float32 bytes, the counts
 * and costs, when an answer streams, and each limit with its message.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { WeightsRequest } from '../../schemas/weights.js';
import { isStreamed } from '../../src/codec/json-stream.js';
import { resolveModel } from '../../src/inference/model.js';
import {
  DIGEST_COVERS,
  DIGEST_COVERS_GATED,
  describeCost,
  describeModel,
  resolveWeightsRequest,
  weightCount,
  weightsAnswer,
  weightsDigest,
} from '../../src/inference/weights-export.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { LIMITS, limits, problemOf } from '../helpers/inference.js';

const cache = new SeededWeightsCache(4);
const resolve = (model: Record<string, unknown>, inputDim: number) => resolveModel(model, inputDim, LIMITS, cache);

/** sha256 of the float32 little-endian bytes of the arrays, one after the other. */
function digestOf(...arrays: number[][]): string {
  const hash = createHash('sha256');
  for (const values of arrays) {
    const bytes = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
    hash.update(bytes);
  }
  return hash.digest('hex');
}

t.test('SimpleRNN: Keras as given, PyTorch and ONNX transposed, the digest of the Keras bytes', async (t) => {
  const model = resolve(
    {
      weights: {
        kernel: [
          [1, 2],
          [3, 4],
        ],
        recurrentKernel: [
          [5, 6],
          [7, 8],
        ],
        bias: [9, 10],
      },
    },
    2,
  );
  const answer = describeModel(model);
  t.same(answer.keras, [
    {
      kernel: [
        [1, 2],
        [3, 4],
      ],
      recurrentKernel: [
        [5, 6],
        [7, 8],
      ],
      bias: [9, 10],
    },
  ]);
  t.same(answer.pytorch, {
    weight_ih_l0: [
      [1, 3],
      [2, 4],
    ],
    weight_hh_l0: [
      [5, 7],
      [6, 8],
    ],
    bias_ih_l0: [9, 10],
    bias_hh_l0: [0, 0],
  });
  t.same(answer.onnx, [
    {
      W: [
        [
          [1, 3],
          [2, 4],
        ],
      ],
      R: [
        [
          [5, 7],
          [6, 8],
        ],
      ],
      B: [[9, 10, 0, 0]],
    },
  ]);
  const digest = digestOf([1, 2, 3, 4], [5, 6, 7, 8], [9, 10]);
  t.same(answer.digest, { algorithm: 'sha256', value: digest, covers: DIGEST_COVERS });
  t.equal(weightsDigest(model), digest);
  t.same(answer.model.inputDim, 2);
  const noBias = resolve({ weights: { kernel: [[1]], recurrentKernel: [[2]] }, useBias: false }, 1);
  t.equal(weightsDigest(noBias), digestOf([1], [2]), 'no bias: not hashed');
  t.same(describeModel(noBias).onnx, [{ W: [[[1]]], R: [[[2]]] }], 'and no B');
});

t.test("gated cells in each framework's gate order", async (t) => {
  // LSTM, h 1: Keras i f c o = 1 2 3 4; ONNX i o f c; PyTorch i f g o (Keras's order).
  const lstm = describeModel(
    resolve(
      { cell: 'lstm', weights: { kernel: [[1, 2, 3, 4]], recurrentKernel: [[5, 6, 7, 8]], bias: [0, 1, 0, 0] } },
      1,
    ),
  );
  t.same(lstm.onnx[0].W, [[[1], [4], [2], [3]]]);
  t.same(lstm.onnx[0].R, [[[5], [8], [6], [7]]]);
  t.same(lstm.onnx[0].B, [[0, 0, 1, 0, 0, 0, 0, 0]]);
  t.same(lstm.pytorch?.weight_ih_l0, [[1], [2], [3], [4]]);
  t.equal(lstm.digest.covers, DIGEST_COVERS_GATED);
  // GRU (resetAfter), h 1: Keras z r h = 1 2 3; PyTorch r z n; ONNX z r h; the [2, 3] bias: input, then recurrent.
  const gru = describeModel(
    resolve(
      {
        cell: 'gru',
        weights: {
          kernel: [[1, 2, 3]],
          recurrentKernel: [[4, 5, 6]],
          bias: [
            [7, 8, 9],
            [10, 11, 12],
          ],
        },
      },
      1,
    ),
  );
  t.same(gru.keras[0].bias, [
    [7, 8, 9],
    [10, 11, 12],
  ]);
  t.same(gru.pytorch, {
    weight_ih_l0: [[2], [1], [3]],
    weight_hh_l0: [[5], [4], [6]],
    bias_ih_l0: [8, 7, 9],
    bias_hh_l0: [11, 10, 12],
  });
  t.same(gru.onnx, [{ W: [[[1], [2], [3]]], R: [[[4], [5], [6]]], B: [[7, 8, 9, 10, 11, 12]] }]);
  t.equal(gru.digest.value, digestOf([1, 2, 3], [4, 5, 6], [7, 8, 9, 10, 11, 12]));
  const before = describeModel(resolve({ hiddenSize: 2, cell: 'gru', resetAfter: false, seed: 1 }, 2));
  t.equal(before.pytorch, null, 'PyTorch has no GRU with resetAfter false');
});

t.test(
  'a bidirectional stack: cells forward then backward, PyTorch _reverse keys, one ONNX node per layer',
  async (t) => {
    const answer = describeModel(
      resolve({ layers: [{ hiddenSize: 2 }, { hiddenSize: 1 }], bidirectional: { mergeMode: 'concat' }, seed: 3 }, 2),
    );
    t.equal(answer.keras.length, 4);
    t.same(
      answer.keras.map((cell) => [cell.kernel.length, (cell.kernel as number[][])[0].length]),
      [
        [2, 2],
        [2, 2],
        [4, 1],
        [4, 1],
      ],
      "layer 1 reads layer 0's concatenated 4 features",
    );
    t.same(Object.keys(answer.pytorch ?? {}).sort(), [
      'bias_hh_l0',
      'bias_hh_l0_reverse',
      'bias_hh_l1',
      'bias_hh_l1_reverse',
      'bias_ih_l0',
      'bias_ih_l0_reverse',
      'bias_ih_l1',
      'bias_ih_l1_reverse',
      'weight_hh_l0',
      'weight_hh_l0_reverse',
      'weight_hh_l1',
      'weight_hh_l1_reverse',
      'weight_ih_l0',
      'weight_ih_l0_reverse',
      'weight_ih_l1',
      'weight_ih_l1_reverse',
    ]);
    t.same(
      answer.onnx.map((node) => node.W.length),
      [2, 2],
    );
    t.same(
      answer.pytorch?.weight_ih_l0_reverse,
      (answer.onnx[0].W[1] as number[][]).map((row) => row),
    );
  },
);

t.test('counts, cost and when the answer streams', async (t) => {
  // Bidirectional, inputDim 3: layer 0 h 2 (3 + 2)·2 + 2 = 12, layer 1 LSTM h 1 over 4 features (4 + 1)·4 + 4 = 24.
  const model = resolve(
    { layers: [{ hiddenSize: 2 }, { hiddenSize: 1, cell: 'lstm' }], bidirectional: { mergeMode: 'concat' }, seed: 4 },
    3,
  );
  t.equal(weightCount(model), 2 * 12 + 2 * 24);
  t.equal(describeCost(model), model.buildCost + 3 * 600 * 72);
  const small = weightsAnswer(model);
  t.type(small, 'string');
  t.same(JSON.parse(small as string), describeModel(model));
  // (200 + 80)·80 + 80 = 22480 weights, written 3 times at 16 bytes each: past the 1 MiB stream threshold.
  t.ok(isStreamed(weightsAnswer(resolve({ hiddenSize: 80, seed: 4 }, 200))));
  t.notOk(isStreamed(weightsAnswer(resolve({ hiddenSize: 80, seed: 4 }, 190))), '(190 + 80)·80 + 80 = 21680: whole');
});

t.test('resolveWeightsRequest: inputDim, the seeded build and the answer within the limits', async (t) => {
  const request = (body: Record<string, unknown>) => WeightsRequest.parse(body);
  t.equal(resolveWeightsRequest(request({ inputDim: 2, hiddenSize: 3 }), LIMITS, cache).inputDim, 2);
  const features = problemOf(() =>
    resolveWeightsRequest(request({ inputDim: 9, hiddenSize: 1 }), limits({ maxFeatures: 8 }), cache),
  );
  t.equal(features.kind, 'limit-exceeded');
  t.same(features.errors, [
    { path: 'inputDim', message: 'the number of features is 9; the limit is 8 (MAX_FEATURES)' },
  ]);
  t.same(
    problemOf(() => resolveWeightsRequest(request({ inputDim: 1, hiddenSize: 3 }), limits({ maxCompute: 161 }), cache))
      .errors,
    [
      {
        path: '$',
        message:
          'the compute cost of building the seeded weights (6·hiddenSize³ per layer and direction) is 162; the limit is 161 (MAX_COMPUTE)',
      },
    ],
  );
  t.same(
    problemOf(() =>
      resolveWeightsRequest(request({ inputDim: 1, hiddenSize: 2, cell: 'gru' }), limits({ maxCompute: 10 }), cache),
    ).errors,
    [
      {
        path: '$',
        message:
          'the compute cost of building the seeded weights (6·G·hiddenSize³ per layer and direction, G gates: 4 lstm, 3 gru) is 144; the limit is 10 (MAX_COMPUTE)',
      },
    ],
  );
  // inputDim 2, h 2: (2 + 2)·2 + 2 = 10 weights, 30 values answered.
  t.same(
    problemOf(() =>
      resolveWeightsRequest(request({ inputDim: 2, hiddenSize: 2 }), limits({ maxOutputValues: 29 }), cache),
    ).errors,
    [
      {
        path: '$',
        message:
          "the answer's values (every weight, in the Keras, PyTorch and ONNX layouts) is 30; the limit is 29 (MAX_OUTPUT_VALUES)",
      },
    ],
  );
});
