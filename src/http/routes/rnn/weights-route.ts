import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WeightsRequest, WeightsResponse } from '../../../../schemas/weights.js';
import { jsonBodyErrorResponses } from '../../../../schemas/problem.js';
import type { Limits } from '../../../config/config.js';
import type { ForwardRunner } from '../../../runtime/pool.js';
import { sendJson } from '../../reply.js';
import { describeCost, resolveWeightsRequest, weightCount, weightsAnswer } from '../../../inference/weights-export.js';
import type { SeededWeightsCache } from '../../../inference/weights-cache.js';
import { clientGone, holdMemory } from '../../in-flight.js';
import type { MemoryBudget } from '../../../runtime/memory-budget.js';
import { weightsMemoryBytes } from '../../../inference/memory-estimate.js';

const weightsRoute: FastifyPluginAsyncZod<{
  limits: Limits;
  cache: SeededWeightsCache;
  runner: ForwardRunner;
  budget: MemoryBudget;
}> = async (app, { limits, cache, runner, budget }) => {
  app.post('/rnn/weights', {
    schema: {
      tags: ['rnn'],
      summary: 'The weights of a model, in Keras, PyTorch and ONNX layouts, with a content digest',
      description:
        'Takes the model description of POST /rnn/forward (without inputs) plus `inputDim`, and returns its weights in ' +
        'every layout /rnn/forward accepts, so a client can rebuild the identical model in TF.js, Keras, PyTorch or ' +
        'ONNX, and a sha256 digest to check it is identical.',
      body: WeightsRequest,
      response: {
        200: {
          description: 'The weights and their digest',
          content: { 'application/json': { schema: WeightsResponse } },
        },
        ...jsonBodyErrorResponses('Invalid model description or a limit exceeded; `errors` names each JSON path'),
      },
    },
    handler: async (request, reply) => {
      // Validated here (cheap: seeded weights are built on first use), answered inline or on a worker.
      const model = resolveWeightsRequest(request.body, limits, cache);
      holdMemory(budget, reply, weightsMemoryBytes(model, weightCount(model)), "the request's estimated memory");
      const body = await runner.runWeights(
        { kind: 'weights', request: request.body, limits },
        describeCost(model),
        () => weightsAnswer(model),
        () => clientGone(reply),
      );
      return sendJson(reply, body);
    },
  });
};

export default weightsRoute;
