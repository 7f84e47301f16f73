import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ForwardRequest, ForwardResponse, HELLO_INPUTS } from '../../../../schemas/forward.js';
import { jsonBodyErrorResponses } from '../../../../schemas/problem.js';
import type { InferenceCore } from '../../../core/core.js';
import { forwardEncoding, forwardRequest } from '../../../protocols/forward-request.js';
import type { JsonAnswer } from '../../../codec/json-stream.js';
import { DEFAULT_ACTIVATION } from '../../../engine/activations.js';
import { DEFAULT_CELL, DEFAULT_RECURRENT_ACTIVATION } from '../../../engine/cells.js';
import { DeferredJson, deferLargeJson, passDeferred } from '../../plugins/json-body.js';
import { sendJson } from '../../reply.js';
import { ReplySink } from '../../reply-sink.js';
import { validatorCompiler } from '../../validation.js';

export interface ForwardRouteOptions {
  core: InferenceCore;
  /** Bodies of at least this many bytes are parsed and validated on a worker (POOL_MIN_BODY_BYTES; 0 = never). */
  minBodyBytes: number;
  /** Worker threads (POOL_THREADS): without them, every body is parsed here. */
  threads: number;
}

const forwardRoute: FastifyPluginAsyncZod<ForwardRouteOptions> = async (app, { core, minBodyBytes, threads }) => {
  // Large bodies skip JSON.parse and zod on the event loop (tens of ms per MB, during which no small request
  // is answered): a worker parses and validates them with the same schema, then computes.
  const deferring = threads > 0 && minBodyBytes > 0;
  if (deferring) {
    deferLargeJson(app, minBodyBytes);
    app.setValidatorCompiler(passDeferred(validatorCompiler));
  }
  app.post('/rnn/forward', {
    schema: {
      tags: ['rnn'],
      summary: 'Run a batch of sequences through a SimpleRNN, LSTM or GRU network',
      description:
        'Keras semantics in float32, initial states zero unless given. `cell` chooses the cell of every layer (or of ' +
        `each, in \`layers\`; default \`${DEFAULT_CELL}\`): SimpleRNN \`h_t = act(x_t·W + h_{t-1}·U + b)\`; LSTM, ` +
        'gates i, f, o and candidate g, state (h, c): `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ act(c_t)`; GRU, gates ' +
        'z, r and candidate ĥ (the reset gate applied after or before the recurrent product, `resetAfter`): ' +
        `\`h_t = z ⊙ h_{t-1} + (1 − z) ⊙ ĥ\`. \`act\` is \`activation\` (default \`${DEFAULT_ACTIVATION}\`), the ` +
        `gates' is \`recurrentActivation\` (default \`${DEFAULT_RECURRENT_ACTIVATION}\`). Layers stack (\`layers\`) and ` +
        'run both ways (`bidirectional`). Weights are seeded (`hiddenSize` + `seed`, reproducible in TF.js) or ' +
        'explicit (`weights` in Keras layout, `pytorchWeights`, `onnxWeights`). ' +
        `Hello example: ${JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 })}`,
      body: ForwardRequest,
      response: {
        200: {
          description: 'The outputs and final states, with their shapes and the model that computed them',
          content: { 'application/json': { schema: ForwardResponse } },
        },
        ...jsonBodyErrorResponses(
          'Invalid request: invalid JSON, wrong types, unknown fields, shapes that disagree, or a limit exceeded; `errors` names each JSON path',
        ),
      },
    },
    // Not async: the core sends the answer when it has it (at the end of this turn, or from a worker).
    handler: (request, reply) => {
      const body: unknown = request.body;
      if (body instanceof DeferredJson) core.inferJson(body.bytes, new ReplySink<JsonAnswer>(reply, sendJson));
      else {
        const parsed = request.body;
        core.infer(forwardRequest(parsed), forwardEncoding(parsed.outputFormat), new ReplySink(reply, sendJson));
      }
    },
  });
};

export default forwardRoute;
