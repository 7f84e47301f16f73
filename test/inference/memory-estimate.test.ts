/**
 * memory-estimate.ts bounds the bytes a request holds in flight, from its shapes alone. Held to its terms worked by
 * hand: the body parsed (4 bytes per byte), the input as float32, the engine's work (engine/work-memory.ts), the
 * answer as float32 and JSON (4 + 16 bytes per value), and seeded weights being built (float32 weights and the
 * orthogonal initialiser's float64 work: 3·h·G·h values).
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { passWorkBytes } from '../../src/engine/index.js';
import { planLayers } from '../../src/inference/layer-plan.js';
import {
  JSON_BYTES_PER_VALUE,
  PARSED_BYTES_PER_BODY_BYTE,
  planMemoryBytes,
  unparsedBodyMemoryBytes,
  weightsMemoryBytes,
} from '../../src/inference/memory-estimate.js';
import { resolveModel } from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { forwardRequest } from '../../src/protocols/forward-request.js';
import { LIMITS, explicitModel, inferenceRequest, layer, nestedTensor, servedAs } from '../helpers/inference.js';

const cache = new SeededWeightsCache(2);
const ones = (b: number, time: number, f: number) =>
  Array.from({ length: b }, () => Array.from({ length: time }, () => Array.from({ length: f }, () => 1)));

t.test('the constants', async (t) => {
  t.equal(JSON_BYTES_PER_VALUE, 16, '`-1.17549435e-38,`');
  t.equal(PARSED_BYTES_PER_BODY_BYTE, 4);
});

t.test('a described, seeded SimpleRNN: every term by hand', async (t) => {
  // batch 2, time 3, inputDim 4, hiddenSize 5: 24 input values, 30 + 10 answered.
  const body = ForwardRequest.parse({ inputs: ones(2, 3, 4), hiddenSize: 5 });
  const plan = planLayers(forwardRequest(body), LIMITS, cache, null, body);
  t.same(plan.values, { input: 24, output: 40 });
  const work = passWorkBytes(plan.model.spec, [2, 3, 4], false);
  // Seeded build: (4 + 5)·5 + 5 = 50 float32 weights, and 3·5·5 float64 of QR work: 200 + 600 bytes.
  t.equal(planMemoryBytes(plan), 24 * 4 + work + 40 * 20 + 800);
  t.equal(planMemoryBytes(plan, 1000) - planMemoryBytes(plan), 4000, 'the body, 4 bytes per byte');
});

t.test('a served model: no build, and its panels are resident', async (t) => {
  const model = explicitModel({ layers: [layer(5, { cell: 'lstm' })], bidirectional: null }, 4);
  const plan = planLayers(
    inferenceRequest([nestedTensor('input', ones(1, 2, 4), 'inputs')]),
    LIMITS,
    cache,
    servedAs(model),
    null,
  );
  t.equal(plan.served, true);
  const work = passWorkBytes(model.spec, [1, 2, 4], true);
  t.ok(work < passWorkBytes(model.spec, [1, 2, 4], false), 'resident panels are not charged');
  t.equal(planMemoryBytes(plan), 8 * 4 + work + plan.values.output * 20);
  // The same model seeded but not served pays the build: LSTM (4 + 5)·20 + 20 = 200 weights, 3·5·20 float64.
  const seeded = { ...plan, served: false, model: { ...model, seed: 1 } };
  t.equal(
    planMemoryBytes(seeded) - planMemoryBytes(plan),
    passWorkBytes(model.spec, [1, 2, 4], false) - work + 200 * 4 + 300 * 8,
  );
});

t.test('a body not parsed yet, and the weights route', async (t) => {
  t.equal(unparsedBodyMemoryBytes(10, 100), 10 * 5 + 100 * 20);
  t.equal(unparsedBodyMemoryBytes(0, 0), 0);
  const explicit = explicitModel({ layers: [layer(2)], bidirectional: null }, 3);
  t.equal(weightsMemoryBytes(explicit, 7), 3 * 7 * 24, 'explicit weights: only the three layouts');
  // A seeded bidirectional GRU (reset_after: a [2, 3h] bias) over 3 features, h 2: per direction
  // (3 + 2)·6 + 12 = 42 weights, 3·2·6 float64; two directions.
  const seeded = resolveModel({ hiddenSize: 2, cell: 'gru', bidirectional: { mergeMode: 'sum' } }, 3, LIMITS, cache);
  t.equal(weightsMemoryBytes(seeded, 0), 2 * (42 * 4 + 36 * 8));
});
