import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ForwardRequest, ForwardResponse, HELLO_INPUTS } from '../../../../schemas/forward.js';
import { jsonBodyErrorResponses } from '../../../../schemas/problem.js';
import { DEFAULT_ACTIVATION } from '../../../engine/activations.js';
import { DEFAULT_CELL, DEFAULT_RECURRENT_ACTIVATION } from '../../../engine/cells.js';
import type { Limits } from '../../../config/config.js';
import { planForward } from '../../../inference/forward-pass.js';
import { DeferredJson, deferLargeJson, passDeferred } from '../../plugins/json-body.js';
import { sendJson } from '../../reply.js';
import { validatorCompiler } from '../../validation.js';
import type { ForwardRunner } from '../../../runtime/pool.js';
import type { SeededWeightsCache } from '../../../inference/weights-cache.js';
import type { EndOfTurnAnswers } from '../../end-of-turn.js';
import { clientGone, holdMemory } from '../../in-flight.js';
import type { MemoryBudget } from '../../../runtime/memory-budget.js';
import { planMemoryBytes, unparsedBodyMemoryBytes } from '../../../inference/memory-estimate.js';

export interface ForwardRouteOptions {
  limits: Limits;
  cache: SeededWeightsCache;
  runner: ForwardRunner;
  /** Where passes parsed on the event loop are computed: at the end of the turn, with the turn's others. */
  endOfTurn: EndOfTurnAnswers;
  /** Bodies of at least this many bytes are parsed and validated on a worker (POOL_MIN_BODY_BYTES; 0 = never). */
  minBodyBytes: number;
  /** The memory requests in flight may hold (MEMORY_BUDGET_BYTES). */
  budget: MemoryBudget;
}

const forwardRoute: FastifyPluginAsyncZod<ForwardRouteOptions> = async (
  app,
  { limits, cache, runner, endOfTurn, minBodyBytes, budget },
) => {
  // Large bodies skip JSON.parse and zod on the event loop (tens of ms per MB, during which no small request
  // is answered): a worker parses and validates them with the same schema, then computes.
  const deferring = runner.threads > 0 && minBodyBytes > 0;
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
    // Not async: the answer is sent by endOfTurn (or by the worker's promise), with no promise of our own.
    handler: (request, reply) => {
      const received: unknown = request.body;
      if (received instanceof DeferredJson) {
        const bytes = unparsedBodyMemoryBytes(received.bytes.length, limits.maxOutputValues);
        holdMemory(budget, reply, bytes, 'the estimated memory of parsing and answering this body');
        return runner
          .runJson(received.bytes, limits, () => clientGone(reply))
          .then(async (result) => {
            app.metrics.observeForward(result.shape, result.computeSeconds);
            // Awaiting the reply (a thenable) resolves once the answer is sent: a streamed one is still being
            // written when sendJson returns, and Fastify would send an empty body after a promise that resolves first.
            await sendJson(reply, result.body);
          });
      }
      endOfTurn.answer(reply, () => {
        const plan = planForward(request.body, limits, cache);
        holdMemory(budget, reply, planMemoryBytes(plan, false), "the request's estimated memory");
        return app.metrics.timeForward(plan.shape, () => runner.run(plan, () => clientGone(reply)));
      });
    },
  });
};

export default forwardRoute;
