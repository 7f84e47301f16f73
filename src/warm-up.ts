/**
 * The warm-up: one small seeded forward pass through the route's own path (schema parse, plan, run) before
 * the server calls itself ready. It compiles the hot engine loops, fills the weights cache with the hello
 * model, and proves the engine answers at all: a failure here stops start-up instead of failing traffic.
 */
import { ForwardRequest, HELLO_INPUTS } from '../schemas/forward.js';
import { defaultConfig, type Limits } from './config.js';
import { planForward, runForward } from './forward.js';
import type { SeededWeightsCache } from './weights-cache.js';

export const WARM_UP_REQUEST = { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 };

/** The warm-up request is fixed and tiny: it runs under the default limits, whatever clients are allowed. */
export function warmUp(_limits: Limits, cache: SeededWeightsCache): void {
  const response = runForward(planForward(ForwardRequest.parse(WARM_UP_REQUEST), defaultConfig.limits, cache));
  const values = ([response.outputs, response.states ?? []] as unknown[]).flat(Infinity);
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(`warm-up forward pass gave non-finite values: ${JSON.stringify(response)}`);
  }
}
