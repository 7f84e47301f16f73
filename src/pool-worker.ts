/**
 * The worker side of the compute pool: runs one forward plan (compute and JSON writing, the two costly
 * parts), or answers one /rnn/weights request, off the event loop and hands back the response bytes, transferred, not copied. Seeded weights
 * are rebuilt from the seed here, with a cache of the worker's own, so they never cross threads.
 */
import { Piscina } from 'piscina';
import { forwardBody, type ForwardPlan } from './forward.js';
import { ProblemError } from './problems.js';
import { SeededWeightsCache } from './weights-cache.js';
import type { ForwardTask, ForwardTaskResult, WeightsTask } from './pool.js';
import { describeWeights } from './weights.js';

const cache = new SeededWeightsCache(16);

/** JSON text → bytes that can be moved to the main thread. */
const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function answer(task: ForwardTask | WeightsTask): Uint8Array {
  if (task.kind === 'weights') return jsonBytes(describeWeights(task.request, task.limits, cache));
  const { model } = task.plan;
  const plan: ForwardPlan = {
    ...task.plan,
    model: { ...model, buildCost: 0, weights: model.weights ?? cache.get(model.seed as number, model.spec, model.inputDim) },
  };
  return forwardBody(plan);
}

export default function runTask(task: ForwardTask | WeightsTask): ForwardTaskResult | ReturnType<typeof Piscina.move> {
  try {
    // The bytes are moved (their buffer is transferred), not copied.
    return Piscina.move(answer(task));
  } catch (error) {
    if (error instanceof ProblemError) return { problem: { kind: error.kind, detail: error.message, errors: [...error.errors] } };
    throw error;
  }
}
