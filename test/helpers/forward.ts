/**
 * A /rnn/forward body's plan, pass and answer, in three steps, for the tests that look at each (the core runs
 * them as one job: src/runtime/jobs.ts). `served`: plan against a model as if it were the repository's.
 */
import type { ForwardRequest } from '../../schemas/forward.js';
import type { Limits } from '../../src/config/config.js';
import type { JsonAnswer } from '../../src/codec/json-stream.js';
import type { NetworkResult } from '../../src/engine/index.js';
import { type LayerPlan, planLayers } from '../../src/inference/layer-plan.js';
import { computeForward, layerFacts, resultTensors } from '../../src/inference/layer-run.js';
import type { ResolvedModel } from '../../src/inference/model.js';
import type { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { writeForwardAnswer } from '../../src/protocols/forward-answer.js';
import { forwardRequest, modelForwardRequest } from '../../src/protocols/forward-request.js';
import type { ModelForwardRequest } from '../../schemas/models.js';
import { type RnnServedModel, servedLayers } from '../../src/models/repository.js';

export interface TestPlan extends LayerPlan {
  readonly outputFormat: 'nested' | 'flat';
  /** `topK`'s K, as the plan ranks the output; null without. */
  readonly classes: { readonly k: number } | null;
}

export function planForward(
  body: ForwardRequest,
  limits: Limits,
  cache: SeededWeightsCache,
  served?: ResolvedModel,
): TestPlan {
  const model =
    served === undefined
      ? null
      : { name: 'm', version: '1', file: 'm/1/model.json', model: served, vocabulary: null, labels: null };
  const plan = planLayers(forwardRequest(body), limits, cache, model, served === undefined ? body : null);
  const k = plan.outputs.find((o) => o.classes !== null)?.classes ?? null;
  return { ...plan, outputFormat: body.outputFormat, classes: k === null ? null : { k } };
}

export { computeForward };

/** The answer of a plan's pass, streamed from `streamFrom` bytes of expected JSON (writeForwardAnswer's rule). */
export function writeResponse(plan: TestPlan, result: NetworkResult, streamFrom?: number): JsonAnswer {
  return writeForwardAnswer(
    { tensors: resultTensors(plan, result), facts: layerFacts(plan) },
    plan.outputFormat,
    streamFrom,
  );
}

/** A served layer model's plan for a /models/{name}/forward body. */
export function planServed(
  served: RnnServedModel,
  body: ModelForwardRequest,
  limits: Limits,
  cache: SeededWeightsCache,
): TestPlan {
  const model = servedLayers(served);
  const plan = planLayers(modelForwardRequest(body, served.name), limits, cache, model, null);
  const k = plan.outputs.find((o) => o.classes !== null)?.classes ?? null;
  return { ...plan, outputFormat: body.outputFormat ?? 'nested', classes: k === null ? null : { k } };
}
