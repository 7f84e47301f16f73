/**
 * warm-up.ts runs one small seeded pass before the server calls itself ready. Held to the request it runs (the
 * hello inputs, hidden size 2, seed 42), the seeded weights it leaves in the cache for that request, and a failure
 * stopping start-up (a cache that cannot build weights throws).
 */
import t from 'tap';
import { ForwardRequest, HELLO_INPUTS } from '../../schemas/forward.js';
import { resolveModel } from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { WARM_UP_REQUEST, warmUp } from '../../src/runtime/warm-up.js';
import { LIMITS } from '../helpers/inference.js';

t.test('the hello request, its weights left in the cache', async (t) => {
  t.same(WARM_UP_REQUEST, { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 });
  const cache = new SeededWeightsCache(4);
  warmUp(cache);
  t.equal(cache.size, 1);
  const body = ForwardRequest.parse(WARM_UP_REQUEST);
  const model = resolveModel(body, HELLO_INPUTS[0][0].length, LIMITS, cache);
  t.ok(cache.has(42, model.spec, model.inputDim), "the hello model's weights are the ones cached");
  t.equal(model.buildCost, 0, 'so a hello request builds nothing');
});

t.test('a failure throws', async (t) => {
  const broken = new SeededWeightsCache(4);
  broken.getKeyed = () => {
    throw new Error('no memory for weights');
  };
  t.throws(() => warmUp(broken), /no memory for weights/);
});
