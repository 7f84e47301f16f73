import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WeightsRequest, WeightsResponse } from '../../../../schemas/weights.js';
import { jsonBodyErrorResponses } from '../../../../schemas/problem.js';
import type { InferenceCore } from '../../../core/core.js';
import type { JsonAnswer } from '../../../codec/json-stream.js';
import { sendJson } from '../../reply.js';
import { ReplySink } from '../../reply-sink.js';

const weightsRoute: FastifyPluginAsyncZod<{ core: InferenceCore }> = async (app, { core }) => {
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
    // Not async: the core sends the answer (validated here; built and written inline or on a worker).
    handler: (request, reply) => {
      core.exportWeights(request.body, new ReplySink<JsonAnswer>(reply, sendJson));
    },
  });
};

export default weightsRoute;
