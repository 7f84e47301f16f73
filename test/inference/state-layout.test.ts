/**
 * stateLayout pytorch at the plan: PyTorch's h_n is one [layers·directions, batch, hidden] tensor, so a model whose
 * layers differ in size or in directions (an imported stack may wrap some layers in Bidirectional and not others)
 * is refused naming stateLayout, before any compute; the keras layout takes every model.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { defaultConfig } from '../../src/config/config.js';
import type { LayerSpec, NetworkSpec } from '../../src/engine/index.js';
import { planForward } from '../helpers/forward.js';
import type { ResolvedModel } from '../../src/inference/model.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { ProblemError } from '../../src/errors/problem-error.js';

const cache = new SeededWeightsCache(2);
const layer = (hiddenSize: number): LayerSpec => ({
  hiddenSize,
  activation: 'tanh',
  useBias: true,
  goBackwards: false,
  clip: null,
});

/** A served model of this spec; its weights are never read (the plan refuses or accepts before computing). */
function served(spec: NetworkSpec): ResolvedModel {
  return {
    spec,
    inputDim: 1,
    seed: null,
    buildCost: 0,
    get weights(): never {
      throw new Error('the plan read the weights');
    },
  };
}

function problemOf(spec: NetworkSpec, stateLayout: 'keras' | 'pytorch'): ProblemError | null {
  const request = ForwardRequest.parse({ inputs: [[[1], [0]]], stateLayout });
  try {
    planForward(request, defaultConfig.limits, cache, served(spec));
    return null;
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
}

t.test('mixed directions: refused for pytorch, planned for keras', async (t) => {
  const spec: NetworkSpec = {
    layers: [layer(2), layer(2)],
    bidirectional: null,
    layerBidirectional: [{ mergeMode: 'sum' }, null],
  };
  const problem = problemOf(spec, 'pytorch');
  t.ok(problem, 'a 400');
  t.same(problem?.errors[0], {
    path: 'stateLayout',
    message: 'is pytorch, but layer 1 has 1 direction and layer 0 2 directions: use keras (a list of states)',
  });
  t.equal(problemOf(spec, 'keras'), null, 'keras: a list of three states');
});

t.test('one size and one wrapping throughout: planned, as nn.RNN', async (t) => {
  const both = { mergeMode: 'concat' } as const;
  t.equal(problemOf({ layers: [layer(3), layer(3)], bidirectional: both }, 'pytorch'), null);
  t.equal(
    problemOf({ layers: [layer(3), layer(3)], bidirectional: null, layerBidirectional: [both, both] }, 'pytorch'),
    null,
  );
  t.match(problemOf({ layers: [layer(3), layer(2)], bidirectional: null }, 'pytorch')?.errors[0], {
    path: 'stateLayout',
    message: /layer 1 has 2 units and layer 0 3/,
  });
});
