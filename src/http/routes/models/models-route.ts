/**
 * The served models of the repository: list, metadata, and forward passes through the same plan and
 * runner as POST /rnn/forward. A request names no model description: the repository has it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ForwardResponse, OnnxForwardResponse } from '../../../../schemas/forward.js';
import {
  ModelForwardRequest,
  ModelList,
  ModelParams,
  ModelVersionMetadata,
  ModelVersionParams,
} from '../../../../schemas/models.js';
import { problemResponse } from '../../../../schemas/problem.js';
import type { Limits } from '../../../config/config.js';
import { modelSummary } from '../../../inference/model.js';
import type { ForwardRunner } from '../../../runtime/pool.js';
import type { ModelRepository, ServedModel } from '../../../models/repository.js';
import { inputsOf, outputsOf, planServed } from '../../../models/served.js';
import { onnxGraphSummary, onnxTensorMetadata } from '../../../models/onnx/protocol.js';
import { planOnnxForward } from '../../../models/onnx/forward.js';
import type { SeededWeightsCache } from '../../../inference/weights-cache.js';
import type { Answer, EndOfTurnAnswers } from '../../end-of-turn.js';
import { clientGone, holdMemory } from '../../in-flight.js';
import type { MemoryBudget } from '../../../runtime/memory-budget.js';
import { planMemoryBytes } from '../../../inference/memory-estimate.js';
import type { FastifyReply } from 'fastify';

const problem = problemResponse;

export const MODEL_FORWARD_ROUTES = ['/models/:name/forward', '/models/:name/versions/:version/forward'];

export interface ModelsRouteOptions {
  repository: ModelRepository;
  limits: Limits;
  cache: SeededWeightsCache;
  runner: ForwardRunner;
  /** Where forward passes are computed: at the end of the turn, with the turn's others (as POST /rnn/forward). */
  endOfTurn: EndOfTurnAnswers;
  /** The memory requests in flight may hold (MEMORY_BUDGET_BYTES). */
  budget: MemoryBudget;
}

const modelsRoutes: FastifyPluginAsyncZod<ModelsRouteOptions> = async (
  app,
  { repository, limits, cache, runner, endOfTurn, budget },
) => {
  const versionsOf = (name: string) => repository.versions(name).map((v) => v.version);
  const metadata = (served: ServedModel): ModelVersionMetadata => ({
    name: served.name,
    version: served.version,
    versions: versionsOf(served.name),
    ready: app.readiness.ready,
    ...(served.kind === 'onnx'
      ? {
          inputs: onnxTensorMetadata(served.program.inputs, 'input'),
          outputs: onnxTensorMetadata(served.program.outputs, 'output'),
          vocabulary: null,
          ...(served.labels ? { labels: [...served.labels] } : {}),
          model: null,
          graph: onnxGraphSummary(served.program),
        }
      : {
          inputs: inputsOf(served),
          outputs: outputsOf(served),
          vocabulary: served.vocabulary,
          ...(served.labels ? { labels: [...served.labels] } : {}),
          model: modelSummary(served.model),
        }),
  });
  const metadataSchema = (summary: string, which: string) => ({
    tags: ['models'],
    summary,
    description:
      `${which}: its inputs and outputs with their shapes (-1 where any size is accepted: batch, time), the ` +
      'vocabulary that `text` is one-hot encoded over (null for numeric inputs only), its class labels (labels.txt) ' +
      'if it has them, and its layers with every default filled in (`model`), or for an ONNX model its graph ' +
      '(`graph`). `versions` lists every version of the model, oldest first.',
    response: {
      200: { description: 'The model version', content: { 'application/json': { schema: ModelVersionMetadata } } },
      404: problem('No such model or version (the detail names what exists)'),
      405: problem('Known route, other method (see `Allow`)'),
      500: problem('Unexpected server error (logged; no details exposed)'),
    },
  });
  const forwardSchema = (summary: string) => ({
    tags: ['models'],
    summary,
    description:
      'The body of POST /rnn/forward without the model description (`hiddenSize`, `layers`, `seed`, `weights`, ...): ' +
      "the model is the repository's. `text` is one-hot encoded over the model's vocabulary.",
    body: ModelForwardRequest,
    response: {
      200: {
        description:
          'The outputs and final states, as POST /rnn/forward answers; for an ONNX model its first output, and its h_n as states',
        content: { 'application/json': { schema: z.union([ForwardResponse, OnnxForwardResponse]) } },
      },
      400: problem(
        'Invalid request: unknown fields (model description fields included), shapes that disagree with the model, or a limit exceeded',
      ),
      404: problem('No such model or version (the detail names what exists)'),
      405: problem('Known route, other method (see `Allow`)'),
      413: problem('Request body larger than BODY_LIMIT_BYTES'),
      415: problem('Content-Type is not application/json'),
      500: problem('Unexpected server error (logged; no details exposed)'),
    },
  });
  const forward = (served: ServedModel, body: ModelForwardRequest, reply: FastifyReply): Answer => {
    if (served.kind === 'onnx') {
      const onnx = planOnnxForward(served, body, limits);
      holdMemory(budget, reply, onnx.inference.bytes, "the request's estimated memory");
      const tensors = app.metrics.timeForward(
        onnx.inference.shape,
        () => runner.runOnnx(served.source, onnx.inference, () => clientGone(reply)),
        served,
      );
      return tensors instanceof Promise ? tensors.then(onnx.answer) : onnx.answer(tensors);
    }
    const plan = planServed(served, body, limits, cache);
    holdMemory(budget, reply, planMemoryBytes(plan, true), "the request's estimated memory");
    return app.metrics.timeForward(plan.shape, () => runner.run(plan, () => clientGone(reply)), served);
  };

  app.get('/models', {
    schema: {
      tags: ['models'],
      summary: 'The served models, their versions and readiness',
      description:
        'Every model of the repository (MODELS_DIR) that loaded at start-up, by name, with its versions (oldest ' +
        'first), the version a request that names none gets (`latest`: the largest), and whether the server is ready ' +
        'to run them. Models left out at start-up (MODELS_ON_ERROR=skip) are not listed; GET /readyz names them.',
      response: {
        200: {
          description: 'Every model of MODELS_DIR that loaded',
          content: { 'application/json': { schema: ModelList } },
        },
        405: problem('Known route, other method (see `Allow`)'),
        500: problem('Unexpected server error (logged; no details exposed)'),
      },
    },
    handler: async () => ({
      models: repository.names().map((name) => {
        const versions = versionsOf(name);
        return { name, versions, latest: versions[versions.length - 1], ready: app.readiness.ready };
      }),
    }),
  });
  app.get('/models/:name', {
    schema: {
      ...metadataSchema(
        'The latest version of a model: inputs and outputs with shapes',
        'The latest (largest) version of a served model',
      ),
      params: ModelParams,
    },
    handler: async (request) => metadata(repository.get(request.params.name)),
  });
  app.get('/models/:name/versions/:version', {
    schema: {
      ...metadataSchema('One version of a model: inputs and outputs with shapes', 'One version of a served model'),
      params: ModelVersionParams,
    },
    handler: async (request) => metadata(repository.get(request.params.name, request.params.version)),
  });
  app.post(MODEL_FORWARD_ROUTES[0], {
    schema: { ...forwardSchema('Run a batch through the latest version of a served model'), params: ModelParams },
    handler: (request, reply) => {
      const served = repository.get(request.params.name);
      endOfTurn.answer(reply, () => forward(served, request.body, reply));
    },
  });
  app.post(MODEL_FORWARD_ROUTES[1], {
    schema: { ...forwardSchema('Run a batch through one version of a served model'), params: ModelVersionParams },
    handler: (request, reply) => {
      const served = repository.get(request.params.name, request.params.version);
      endOfTurn.answer(reply, () => forward(served, request.body, reply));
    },
  });
};

export default modelsRoutes;
