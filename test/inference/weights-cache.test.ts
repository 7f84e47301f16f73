/**
 * The seeded-weights cache: a hit is the very set built before, and when full the least recently used set
 * goes, not the oldest one built.
 */
import t from 'tap';
import { type NetworkSpec, seededNetworkWeights } from '../../src/engine/index.js';
import { SeededWeightsCache, seededWeightsKey } from '../../src/inference/weights-cache.js';

const spec = (hiddenSize: number, mergeMode: 'sum' | null | undefined = undefined): NetworkSpec => ({
  layers: [{ hiddenSize, activation: 'tanh', useBias: true, goBackwards: false, clip: null }],
  bidirectional: mergeMode === undefined ? null : { mergeMode },
});

t.test('a hit returns the same set, equal to building it again', async (t) => {
  const cache = new SeededWeightsCache(4);
  const first = cache.get(7, spec(3), 2);
  t.equal(cache.get(7, spec(3), 2), first, 'the same object');
  t.same(first, seededNetworkWeights(7, spec(3), 2));
  t.not(cache.get(8, spec(3), 2), first, 'another seed is another set');
  t.notOk(cache.has(7, spec(3, null), 2), 'mergeMode null is not unidirectional');
  t.notOk(cache.has(7, spec(3, 'sum'), 2));
  t.ok(
    cache.has(7, { ...spec(3), layers: [{ ...spec(3).layers[0], activation: 'relu' }] }, 2),
    'the activation does not change the weights',
  );
});

t.test('when full, the least recently used set is evicted', async (t) => {
  const cache = new SeededWeightsCache(2);
  const a = cache.get(1, spec(2), 1);
  cache.get(2, spec(2), 1);
  t.equal(cache.get(1, spec(2), 1), a, 'a used again');
  cache.get(3, spec(2), 1);
  t.equal(cache.size, 2);
  t.ok(cache.has(1, spec(2), 1), 'a stays (used most recently before c)');
  t.notOk(cache.has(2, spec(2), 1), 'b goes');
  t.ok(cache.has(3, spec(2), 1));
  const none = new SeededWeightsCache(0);
  none.get(1, spec(2), 1);
  t.equal(none.size, 0, 'capacity 0 keeps nothing');
});

t.test('by key: hasKey never builds, getKeyed is get, and a keyed get counts as a use', async (t) => {
  const cache = new SeededWeightsCache(2);
  const key = seededWeightsKey(1, spec(2), 1);
  t.notOk(cache.hasKey(key), 'nothing built yet');
  t.equal(cache.size, 0, 'and hasKey built nothing');
  const a = cache.getKeyed(key, 1, spec(2), 1);
  t.equal(cache.get(1, spec(2), 1), a, 'the very set get returns');
  cache.get(2, spec(2), 1);
  t.equal(cache.getKeyed(key, 1, spec(2), 1), a);
  cache.get(3, spec(2), 1);
  t.ok(cache.hasKey(key), 'a stays: used after b was built');
  t.notOk(cache.has(2, spec(2), 1), 'b goes');
  t.equal(
    seededWeightsKey(1, { ...spec(2), layers: [{ ...spec(2).layers[0], clip: 3 }] }, 1),
    key,
    'the key leaves out what the weights do not depend on',
  );
});
