/**
 * gRPC inference through the code of the HTTP route (src/http/routes/v2/inference-route.ts): the same calls in the
 * same order (plan, memory budget, compute on the runner, the answer), with the call's cancellation as the
 * client-gone signal, answered with every output binary and turned into a ModelInferResponse.
 *
 * This file is the seam the serving core replaces: an `InferExecutor` takes the translated request and the
 * call's cancellation and answers the response; the frontend (inference-service.ts) knows nothing else of how.
 * The core's executor will hand back the computed tensors, which `inferResponse` (infer-response.ts) writes.
 *
 * Until then, MAX_CONCURRENT_FORWARD bounds gRPC calls on their own (HTTP's bound is its plugin's), and a call's
 * share of MEMORY_BUDGET_BYTES is given back once its response is written (HTTP's when the response closes).
 */
import type { OipInferenceRequest } from '../../schemas/oip.js';
import type { Limits } from '../config/config.js';
import { ProblemError } from '../errors/problem-error.js';
import { planMemoryBytes } from '../inference/memory-estimate.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import {
  OIP_INPUT,
  type OipAnswer,
  inProtocolTerms,
  oipAnswer,
  oipForwardRequest,
} from '../models/inference-protocol.js';
import { onnxAnswer, planOnnxInference } from '../models/onnx/protocol.js';
import type { ModelRepository, OnnxServedModel, RnnServedModel } from '../models/repository.js';
import { planServed } from '../models/served.js';
import type { MemoryBudget } from '../runtime/memory-budget.js';
import type { Abandoned, ForwardRunner } from '../runtime/pool.js';
import { answerResponse } from './infer-response.js';
import type { TranslatedInferRequest } from './infer-request.js';
import type { ModelInferResponse } from './messages.js';

/**
 * Runs one translated inference request; rejects with a ProblemError for anything a client can be told.
 * `abandoned` gives the signal that the call was cancelled (made on first use, as the compute runner takes it).
 */
export type InferExecutor = (request: TranslatedInferRequest, abandoned: Abandoned) => Promise<ModelInferResponse>;

/** What the HTTP route's code path needs: the app's own (app.ts `serving`), shared by both protocols. */
export interface RoutePathParts {
  readonly repository: ModelRepository;
  readonly limits: Limits;
  readonly cache: SeededWeightsCache;
  readonly runner: ForwardRunner;
  readonly budget: MemoryBudget;
  /** The app's metrics (timeForward: compute time, batch and steps, per-model inferences). */
  readonly metrics: {
    timeForward<T>(shape: readonly number[], compute: () => T, model?: { name: string; version: string }): T;
  };
  /** MAX_CONCURRENT_FORWARD (0: unbounded). */
  readonly maxConcurrent: number;
  readonly retryAfterSeconds: number;
}

/** Every output answered binary: the raw tensors of the gRPC response. */
const answeredRaw = (request: OipInferenceRequest): OipInferenceRequest => ({
  ...request,
  parameters: { ...request.parameters, binary_data_output: true },
});

export function routePathExecutor(parts: RoutePathParts): InferExecutor {
  const { repository, limits, cache, runner, budget, metrics } = parts;
  let active = 0;

  const inferOnnx = async (
    served: OnnxServedModel,
    request: OipInferenceRequest,
    binary: Uint8Array | null,
    abandoned: Abandoned,
    held: (() => void)[],
  ): Promise<OipAnswer> => {
    const inference = planOnnxInference(served, request, binary, limits);
    held.push(budget.reserve(inference.bytes, "the request's estimated memory"));
    const tensors = await metrics.timeForward(
      inference.shape,
      () => runner.runOnnx(served.source, inference, abandoned),
      served,
    );
    return onnxAnswer(served, request, inference, tensors);
  };

  const inferRnn = async (
    served: RnnServedModel,
    request: OipInferenceRequest,
    binary: Uint8Array | null,
    abandoned: Abandoned,
    held: (() => void)[],
  ): Promise<OipAnswer> => {
    const inputIndex = Math.max(
      0,
      request.inputs.findIndex((input) => input.name === OIP_INPUT),
    );
    try {
      const plan = oipForwardRequest(served, request, binary);
      const forward = planServed(served, plan.body, limits, cache, {
        ...(plan.typed !== undefined ? { typed: plan.typed } : {}),
        ...(plan.topKPath !== undefined ? { topKPath: plan.topKPath } : {}),
        outputFormat: 'binary',
      });
      held.push(budget.reserve(planMemoryBytes(forward, true), "the request's estimated memory"));
      const body = await metrics.timeForward(forward.shape, () => runner.run(forward, abandoned), served);
      if (!(body instanceof Uint8Array)) throw new Error('a binary plan answered text');
      const values = new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4);
      return oipAnswer(served, request, plan, values, forward.shape[0], forward.shape[1]);
    } catch (e) {
      throw inProtocolTerms(e, inputIndex);
    }
  };

  return async ({ modelName, modelVersion, request, binary }, abandoned) => {
    if (parts.maxConcurrent > 0 && active >= parts.maxConcurrent)
      throw new ProblemError(
        'overloaded',
        `${active} compute requests are already running or waiting; the limit is ${parts.maxConcurrent} (MAX_CONCURRENT_FORWARD); retry after ${parts.retryAfterSeconds} s`,
        [],
        { 'retry-after': String(parts.retryAfterSeconds) },
      );
    active += 1;
    const held: (() => void)[] = [];
    try {
      const served = repository.get(modelName, modelVersion);
      const raw = answeredRaw(request);
      const answer =
        served.kind === 'onnx'
          ? await inferOnnx(served, raw, binary, abandoned, held)
          : await inferRnn(served, raw, binary, abandoned, held);
      return answerResponse(answer);
    } finally {
      active -= 1;
      for (const release of held) release();
    }
  };
}
