import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ForwardRequest, ForwardResponse, HELLO_INPUTS } from '../../schemas/forward.js';
import { Problem } from '../../schemas/problem.js';
import type { Limits } from '../config.js';
import { planForward, runForward } from '../forward.js';
import type { SeededWeightsCache } from '../weights-cache.js';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

export interface ForwardRouteOptions {
  limits: Limits;
  cache: SeededWeightsCache;
}

const forwardRoute: FastifyPluginAsyncZod<ForwardRouteOptions> = async (app, { limits, cache }) => {
  app.post('/rnn/forward', {
    schema: {
      tags: ['rnn'],
      summary: 'Run a batch of sequences through a SimpleRNN',
      description:
        'Keras SimpleRNN semantics, `h_t = tanh(x_t·W + h_{t-1}·U + b)`, `h_0 = 0`, float32. Weights are seeded ' +
        '(`hiddenSize` + `seed`, reproducible in TF.js) or explicit (`weights`, Keras layout). ' +
        `Hello example: ${JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 })}`,
      body: ForwardRequest,
      response: {
        200: {
          description: 'The outputs and final states, with their shapes and the model that computed them',
          content: { 'application/json': { schema: ForwardResponse } },
        },
        400: problem('Invalid request: invalid JSON, wrong types, unknown fields, shapes that disagree, or a limit exceeded; `errors` names each JSON path'),
        404: problem('Unknown route'),
        405: problem('Known route, other method (see `Allow`)'),
        413: problem('Request body larger than BODY_LIMIT_BYTES'),
        415: problem('Content-Type is not application/json'),
        500: problem('Unexpected server error (logged; no details exposed)'),
      },
    },
    handler: async (request) => runForward(planForward(request.body, limits, cache)),
  });
};

export default forwardRoute;
