/**
 * resolveModel keeps the seeded shorthand models it resolved: the same description (and input size, under the
 * same limits) gives the very same model, any difference gives a model of its own, other limits check again,
 * and the models keep no weights the weights cache has let go.
 */
import t from 'tap';
import { ModelFields } from '../../schemas/forward.js';
import { defaultConfig, type Limits } from '../../src/config/config.js';
import { seededNetworkWeights } from '../../src/engine/index.js';
import {
  type ModelDescription,
  modelSummary,
  resolveModel,
  SEEDED_SHORTHAND_FIELDS,
} from '../../src/inference/model.js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';

const limits = defaultConfig.limits;
const BASE: ModelDescription = { hiddenSize: 3, seed: 7 };

t.test('the same description twice: the very same model, equal to one resolved afresh', async (t) => {
  const cache = new SeededWeightsCache(8);
  const first = resolveModel({ ...BASE }, 4, limits, cache);
  t.equal(resolveModel({ ...BASE }, 4, limits, cache), first, 'the same object');
  const fresh = resolveModel({ ...BASE }, 4, limits, new SeededWeightsCache(8));
  t.not(fresh, first, 'another cache: another model');
  t.same(modelSummary(first), modelSummary(fresh));
  t.same(first.weights, fresh.weights);
});

t.test('every field that makes a model makes another model', async (t) => {
  const cache = new SeededWeightsCache(16);
  const base = resolveModel({ ...BASE }, 4, limits, cache);
  const variants: [string, ModelDescription, number][] = [
    ['inputDim', { ...BASE }, 5],
    ['seed', { ...BASE, seed: 8 }, 4],
    ['seed left out (0)', { hiddenSize: 3 }, 4],
    ['hiddenSize', { ...BASE, hiddenSize: 4 }, 4],
    ['activation', { ...BASE, activation: 'relu' }, 4],
    ['useBias', { ...BASE, useBias: false }, 4],
    ['goBackwards', { ...BASE, goBackwards: true }, 4],
    ['clip', { ...BASE, clip: 0.5 }, 4],
    ['bidirectional', { ...BASE, bidirectional: { mergeMode: 'concat' } }, 4],
    ['mergeMode', { ...BASE, bidirectional: { mergeMode: 'sum' } }, 4],
    ['mergeMode null', { ...BASE, bidirectional: { mergeMode: null } }, 4],
    ['cell', { ...BASE, cell: 'lstm' }, 4],
    ['recurrentActivation', { ...BASE, cell: 'lstm', recurrentActivation: 'hardSigmoid' }, 4],
    ['unitForgetBias', { ...BASE, cell: 'lstm', unitForgetBias: false }, 4],
    ['resetAfter', { ...BASE, cell: 'gru', resetAfter: false }, 4],
  ];
  for (const [name, description, inputDim] of variants) {
    // Right after the base description (the last one resolved), which differs from it in this field only.
    t.equal(resolveModel({ ...BASE }, 4, limits, cache), base);
    const model = resolveModel(description, inputDim, limits, cache);
    t.not(model, base, name);
    t.equal(resolveModel({ ...description }, inputDim, limits, cache), model, `${name}: the last one again`);
    // With another one resolved in between, so that it is found by its key.
    resolveModel({ ...BASE }, 4, limits, cache);
    t.equal(resolveModel({ ...description }, inputDim, limits, cache), model, `${name}: found again by its key`);
    const fresh = resolveModel({ ...description }, inputDim, limits, new SeededWeightsCache(1));
    t.same(modelSummary(model), modelSummary(fresh), `${name}: what resolving it afresh gives`);
  }
  t.equal(resolveModel({ ...BASE }, 4, limits, cache), base, 'the first is still the same');
});

t.test('a model resolved under some limits is checked again under others', async (t) => {
  const cache = new SeededWeightsCache(4);
  const model = resolveModel({ hiddenSize: 8, seed: 1 }, 2, limits, cache);
  const tight: Limits = { ...limits, maxHiddenSize: 4 };
  let error: unknown = null;
  try {
    resolveModel({ hiddenSize: 8, seed: 1 }, 2, tight, cache);
  } catch (thrown) {
    error = thrown;
  }
  t.ok(error instanceof ProblemError && error.kind === 'limit-exceeded', 'a limit-exceeded problem');
  t.match(JSON.stringify((error as ProblemError).errors), /MAX_HIDDEN_SIZE/);
  t.not(
    resolveModel({ hiddenSize: 8, seed: 1 }, 2, { ...limits }, cache),
    model,
    'equal limits in another object: resolved again',
  );
});

t.test('descriptions that are not seeded shorthand are resolved every time', async (t) => {
  const cache = new SeededWeightsCache(4);
  const layered: ModelDescription = { layers: [{ hiddenSize: 2 }], seed: 1 };
  t.not(resolveModel(layered, 2, limits, cache), resolveModel(layered, 2, limits, cache), 'layers');
  const explicit: ModelDescription = { weights: { kernel: [[1], [0]], recurrentKernel: [[0.5]], bias: [0] } };
  t.not(resolveModel(explicit, 2, limits, cache), resolveModel(explicit, 2, limits, cache), 'explicit weights');
});

t.test('at most 256 kept: the oldest goes first', async (t) => {
  const cache = new SeededWeightsCache(1);
  const first = resolveModel({ hiddenSize: 2, seed: 0 }, 1, limits, cache);
  const models = [first];
  for (let seed = 1; seed < 256; seed++) models.push(resolveModel({ hiddenSize: 2, seed }, 1, limits, cache));
  t.equal(resolveModel({ hiddenSize: 2, seed: 0 }, 1, limits, cache), first, 'all 256 kept');
  resolveModel({ hiddenSize: 2, seed: 256 }, 1, limits, cache);
  t.not(resolveModel({ hiddenSize: 2, seed: 0 }, 1, limits, cache), first, 'the oldest went for the 257th');
  t.equal(resolveModel({ hiddenSize: 2, seed: 255 }, 1, limits, cache), models[255], 'a recent one stays');
});

t.test('a kept model takes its weights from the weights cache and keeps none of its own', async (t) => {
  const cache = new SeededWeightsCache(1);
  const a = resolveModel({ hiddenSize: 4, seed: 1 }, 2, limits, cache);
  t.ok(a.buildCost > 0, 'not built yet: building costs');
  const weights = a.weights;
  t.same(weights, seededNetworkWeights(1, a.spec, 2));
  t.equal(a.buildCost, 0, 'built and cached: nothing to build');
  t.equal(a.weights, weights, 'the cached set');
  const b = resolveModel({ hiddenSize: 4, seed: 2 }, 2, limits, cache);
  void b.weights; // the cache holds one set: a's goes
  t.ok(a.buildCost > 0, "a's set was let go: building costs again");
  t.not(a.weights, weights, 'built again');
  t.same(a.weights, weights, 'to the same values');
});

t.test('the shorthand fields are every model field but layers and explicit weights', async (t) => {
  // A field added to the model description must be added to the memo's comparison (model.ts) too.
  const others = ['layers', 'weights', 'pytorchWeights', 'onnxWeights'];
  t.same([...Object.keys(ModelFields)].sort(), [...SEEDED_SHORTHAND_FIELDS, ...others].sort());
});
