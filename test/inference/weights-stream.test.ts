/**
 * POST /rnn/weights answers streamed (describeModelParts, src/inference/weights-export.ts) equal
 * JSON.stringify(describeModel(model)), byte for byte, for seeded and explicit weights, stacks, both
 * directions, with and without bias, every cell, at chunk sizes down to 1 byte; small answers stay one string, large ones
 * stream, and a streamed answer leaves the model's weights as they were.
 */
import t from 'tap';
import { WeightsRequest } from '../../schemas/weights.js';
import { defaultConfig } from '../../src/config/config.js';
import { JsonChunks, isStreamed } from '../../src/codec/json-stream.js';
import {
  describeModel,
  describeModelParts,
  resolveWeightsRequest,
  weightsAnswer,
} from '../../src/inference/weights-export.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { randomNested, rng } from '../helpers/random.js';

const cache = new SeededWeightsCache(8);
const random = rng(31);

const REQUESTS: Record<string, unknown>[] = [
  { inputDim: 4, hiddenSize: 2, seed: 42 },
  { inputDim: 3, seed: 10, layers: [{ hiddenSize: 4 }, { hiddenSize: 2 }], bidirectional: { mergeMode: 'concat' } },
  { inputDim: 3, hiddenSize: 3, seed: 1, useBias: false },
  { inputDim: 2, hiddenSize: 3, seed: 2, bidirectional: { mergeMode: null } },
  { inputDim: 2, seed: 5, layers: [{ hiddenSize: 3, useBias: false }, { hiddenSize: 2 }], bidirectional: {} },
  // LSTM and GRU: gate-reordered layouts, a GRU's [2, 3·h] bias, and no PyTorch form for resetAfter false.
  { inputDim: 3, hiddenSize: 2, seed: 7, cell: 'lstm', bidirectional: {} },
  {
    inputDim: 2,
    seed: 8,
    layers: [
      { hiddenSize: 3, cell: 'gru' },
      { hiddenSize: 2, cell: 'lstm', useBias: false },
    ],
  },
  { inputDim: 2, seed: 9, layers: [{ hiddenSize: 2, cell: 'gru', resetAfter: false }, { hiddenSize: 2 }] },
  {
    inputDim: 2,
    hiddenSize: 2,
    weights: {
      kernel: randomNested(random, [2, 2], 3),
      recurrentKernel: randomNested(random, [2, 2], 1e-8),
      bias: [1e21, -0],
    },
  },
];

function streamedText(parts: ReturnType<typeof describeModelParts>, chunkBytes: number): string {
  const source = new JsonChunks(parts, chunkBytes);
  const chunks: Buffer[] = [];
  for (let chunk = source.next(); chunk !== null; chunk = source.next()) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

t.test('streamed weights equal JSON.stringify(describeModel), at every chunk size', async (t) => {
  for (const body of REQUESTS) {
    const model = resolveWeightsRequest(WeightsRequest.parse(body), defaultConfig.limits, cache);
    const expected = JSON.stringify(describeModel(model));
    for (const size of [1, 3, 7, 100, 64 * 1024]) {
      const text = streamedText(describeModelParts(model), size);
      if (text !== expected) t.fail(`${JSON.stringify(body)}, chunks of ${size}:\n${text}\n${expected}`);
    }
    t.pass(JSON.stringify(body).slice(0, 80));
  }
});

t.test('small weights answers are one string; from STREAM_MIN_BYTES they stream', async (t) => {
  const small = resolveWeightsRequest(WeightsRequest.parse(REQUESTS[0]), defaultConfig.limits, cache);
  t.type(weightsAnswer(small), 'string');
  // 3 · (256·128 + 128·128 + 128) values, at 16 bytes each: ~2.3 MB expected.
  const large = resolveWeightsRequest(
    WeightsRequest.parse({ inputDim: 256, hiddenSize: 128, seed: 7 }),
    defaultConfig.limits,
    cache,
  );
  const before = large.weights[0][0].kernel.slice();
  const answer = weightsAnswer(large);
  t.ok(isStreamed(answer));
  t.equal(
    streamedText(answer as ReturnType<typeof describeModelParts>, 64 * 1024),
    JSON.stringify(describeModel(large)),
  );
  t.same(large.weights[0][0].kernel, before, "the model's weights are untouched");
});
