/**
 * The warm-up: one small seeded forward pass through the route's own path (schema parse, translation, plan, run,
 * answer) before the server calls itself ready. It compiles the hot engine loops, fills the weights cache with the
 * hello model, and proves the engine answers at all: a failure here stops start-up instead of failing traffic.
 */
import { ForwardRequest, HELLO_INPUTS } from '../../schemas/forward.js';
import { defaultConfig } from '../config/config.js';
import { planLayers } from '../inference/layer-plan.js';
import { runLayers } from '../inference/layer-run.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { writeForwardAnswer } from '../protocols/forward-answer.js';
import { forwardRequest } from '../protocols/forward-request.js';

export const WARM_UP_REQUEST = { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 };

/**
 * The warm-up request is fixed and tiny: it runs under the default limits, whatever clients are allowed.
 * Any failure (including a non-finite result, which the answer writer rejects with a 422) throws.
 */
export function warmUp(cache: SeededWeightsCache): void {
  const body = ForwardRequest.parse(WARM_UP_REQUEST);
  writeForwardAnswer(runLayers(planLayers(forwardRequest(body), defaultConfig.limits, cache, null, body)), 'nested');
}
