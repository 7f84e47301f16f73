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
import type { InferenceCore } from '../../../core/core.js';
import { forwardEncoding, modelForwardRequest } from '../../../protocols/forward-request.js';
import { sendJson } from '../../reply.js';
import { ReplySink } from '../../reply-sink.js';
import type { FastifyReply } from 'fastify';

const problem = problemResponse;

export const MODEL_FORWARD_ROUTES = ['/models/:name/forward', '/models/:name/versions/:version/forward'];

export interface ModelsRouteOptions {
  core: InferenceCore;
}

const modelsRoutes: FastifyPluginAsyncZod<ModelsRouteOptions> = async (app, { core }) => {
  const metadata = (name: string, version?: string): ModelVersionMetadata => {
    const { view, versions, ...model } = core.metadata(name, version);
    return {
      name: model.name,
      version: model.version,
      versions: [...versions],
      ready: app.readiness.ready,
      inputs: [...view.inputs],
      outputs: [...view.outputs],
      vocabulary: view.vocabulary,
      ...(view.labels ? { labels: [...view.labels] } : {}),
      model: view.model,
      ...(view.graph === undefined ? {} : { graph: view.graph }),
    };
  };
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
  // Not async: the core sends the answer when it has it.
  const forward = (reply: FastifyReply, body: ModelForwardRequest, name: string, version?: string) =>
    core.infer(
      modelForwardRequest(body, name, version),
      forwardEncoding(body.outputFormat),
      new ReplySink(reply, sendJson),
    );

  app.get('/models', {
    schema: {
      tags: ['models'],
      summary: 'The served models, their versions and readiness',
      description:
        'Every model of the repository (MODELS_DIR) with a version READY to serve, by name, with those versions ' +
        '(oldest first), the version a request that names none gets (`latest`: the largest), whether the server is ' +
        'ready to run them, and the state of every version the repository knows (`states`, as POST ' +
        '/v2/repository/index lists them). Models with no version to serve are not listed; the index and GET /readyz ' +
        'name them.',
      response: {
        200: {
          description: 'Every model of MODELS_DIR with a version READY to serve, and the state of each of its versions',
          content: { 'application/json': { schema: ModelList } },
        },
        405: problem('Known route, other method (see `Allow`)'),
        500: problem('Unexpected server error (logged; no details exposed)'),
      },
    },
    handler: async () => ({
      models: core.models().map(({ name, versions, states }) => ({
        name,
        versions: [...versions],
        latest: versions[versions.length - 1],
        ready: app.readiness.ready,
        states: states.map(({ version, state, reason }) => ({ version, state, ...(reason === '' ? {} : { reason }) })),
      })),
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
    handler: async (request) => metadata(request.params.name),
  });
  app.get('/models/:name/versions/:version', {
    schema: {
      ...metadataSchema('One version of a model: inputs and outputs with shapes', 'One version of a served model'),
      params: ModelVersionParams,
    },
    handler: async (request) => metadata(request.params.name, request.params.version),
  });
  app.post(MODEL_FORWARD_ROUTES[0], {
    schema: { ...forwardSchema('Run a batch through the latest version of a served model'), params: ModelParams },
    handler: (request, reply) => forward(reply, request.body, request.params.name),
  });
  app.post(MODEL_FORWARD_ROUTES[1], {
    schema: { ...forwardSchema('Run a batch through one version of a served model'), params: ModelVersionParams },
    handler: (request, reply) => forward(reply, request.body, request.params.name, request.params.version),
  });
};

export default modelsRoutes;
