/**
 * A POST /rnn/forward body as bytes → its answer: parse, validate against the route's schema, translate, plan,
 * compute, write. What the route does in steps on the event loop, in one call, for the workers that take large bodies
 * off it; rejections are the same problems, with the same JSON paths.
 */
import { ForwardRequest } from '../../schemas/forward.js';
import { parseCommonForwardRequest } from '../../schemas/forward-shortcut.js';
import type { Limits } from '../config/config.js';
import type { Shape3 } from '../engine/index.js';
import { parseJsonBody } from '../codec/json-parse.js';
import type { JsonAnswer } from '../codec/json-stream.js';
import { schemaProblem, validationEntries } from '../errors/schema-problems.js';
import { parseIfValid } from '../errors/parse-if-valid.js';
import { isStackOverflow, precheck, tooLargeToValidate } from '../errors/precheck.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { planLayers } from '../inference/layer-plan.js';
import { runLayers } from '../inference/layer-run.js';
import { forwardRequest } from './forward-request.js';
import { writeForwardAnswer } from './forward-answer.js';

export interface JsonForwardResult {
  readonly body: JsonAnswer;
  /** [batch, time, inputDim] of the request, for the metrics. */
  readonly shape: Shape3;
  /**
   * The forward pass and the writing of its answer (not parsing or validation), as rnn_forward_compute_seconds counts
   * it. A streamed answer is written as it is sent, after this.
   */
  readonly computeSeconds: number;
}

export function forwardFromJson(bytes: Uint8Array, limits: Limits, cache: SeededWeightsCache): JsonForwardResult {
  const json = parseJsonBody(bytes);
  let request = parseCommonForwardRequest(json);
  if (request === null) request = parseIfValid(ForwardRequest, json)?.value ?? null;
  if (request === null) {
    // As on the event loop (src/http/validation.ts): a valid body parsed stopping at the first issue, then the
    // pre-check, so zod is never asked to explain millions of bad values (or to overflow the stack doing it).
    const rejected = precheck(ForwardRequest, json);
    if (rejected !== null) throw rejected;
    let parsed: ReturnType<typeof ForwardRequest.safeParse>;
    try {
      parsed = ForwardRequest.safeParse(json);
    } catch (error) {
      if (isStackOverflow(error)) throw tooLargeToValidate();
      throw error;
    }
    if (!parsed.success) throw schemaProblem(ForwardRequest, validationEntries(parsed.error.issues));
    request = parsed.data;
  }
  const plan = planLayers(forwardRequest(request), limits, cache, null, request);
  const start = performance.now();
  const body = writeForwardAnswer(runLayers(plan), request.outputFormat);
  return { body, shape: plan.shape, computeSeconds: (performance.now() - start) / 1000 };
}
