/**
 * The Open Inference Protocol (KServe v2) REST routes over the model repository: server metadata, model
 * metadata and readiness, and inference. Errors are `{"error": "..."}` (application/json), as the protocol
 * requires (the problems plugin answers so for routes with `config.oip`, and for unknown /v2/models/ paths).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ModelParams, ModelVersionParams } from '../../../../schemas/models.js';
import {
  OipInferenceRequest,
  OipInferenceResponse,
  OipModelMetadata,
  OipModelReady,
  OipServerMetadata,
  oipErrorResponse,
} from '../../../../schemas/oip.js';
import type { Limits } from '../../../config/config.js';
import {
  OIP_PLATFORM,
  inProtocolTerms,
  oipForwardRequest,
  oipInputs,
  oipOutputs,
  oipResponse,
} from '../../../models/inference-protocol.js';
import type { ForwardRunner } from '../../../runtime/pool.js';
import { ProblemError } from '../../../errors/problem-error.js';
import type { ModelRepository, ServedModel } from '../../../models/repository.js';
import { planServed } from '../../../models/served.js';
import type { SeededWeightsCache } from '../../../inference/weights-cache.js';
import { clientGone, holdMemory } from '../../in-flight.js';
import type { MemoryBudget } from '../../../runtime/memory-budget.js';
import { planMemoryBytes } from '../../../inference/memory-estimate.js';
import type { FastifyReply } from 'fastify';
import { answerText } from '../../../codec/json-stream.js';

const error = oipErrorResponse;

export const OIP_INFER_ROUTES = ['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer'];

export interface OipRouteOptions {
  repository: ModelRepository;
  limits: Limits;
  cache: SeededWeightsCache;
  runner: ForwardRunner;
  /** The memory requests in flight may hold (MEMORY_BUDGET_BYTES). */
  budget: MemoryBudget;
  serverName: string;
  serverVersion: string;
  retryAfterSeconds: number;
}

const oipRoutes: FastifyPluginAsyncZod<OipRouteOptions> = async (app, options) => {
  const { repository, limits, cache, runner, budget } = options;
  const config = { oip: true };
  const tags = ['inference protocol'];
  const metadata = (served: ServedModel) => ({
    name: served.name,
    versions: repository.versions(served.name).map((v) => v.version),
    platform: OIP_PLATFORM,
    inputs: oipInputs(served),
    outputs: oipOutputs(served),
  });
  const ready = (served: ServedModel) => {
    if (!app.readiness.ready) {
      throw new ProblemError(
        'not-ready',
        `model '${served.name}' version ${served.version} is loaded, but the server is ${app.readiness.state}`,
        [],
        {
          'retry-after': String(options.retryAfterSeconds),
        },
      );
    }
    return { name: served.name, ready: true };
  };
  const infer = async (served: ServedModel, request: OipInferenceRequest, reply: FastifyReply) => {
    try {
      const plan = oipForwardRequest(served, request);
      const forward = planServed(served, plan.body, limits, cache);
      holdMemory(budget, reply, planMemoryBytes(forward, true), "the request's estimated memory");
      const body = await app.metrics.timeForward(
        forward.shape,
        () => runner.run(forward, () => clientGone(reply)),
        served,
      );
      return oipResponse(
        served,
        request,
        plan,
        // The protocol's answer is another object, so the text is read whole (a large one too: see answerText).
        JSON.parse(answerText(body)),
      );
    } catch (e) {
      throw inProtocolTerms(e);
    }
  };
  const common = {
    404: error('No such model or version'),
    405: error('Known route, other method (see `Allow`)'),
    500: error('Unexpected server error (logged; no details exposed)'),
  };
  const metadataSchema = {
    tags,
    summary: 'Model metadata: inputs and outputs with datatype and shape (-1: any size)',
    response: {
      200: { description: 'The model', content: { 'application/json': { schema: OipModelMetadata } } },
      ...common,
    },
  };
  const readySchema = {
    tags,
    summary: 'Model readiness: 200 when ready',
    response: {
      200: { description: 'Ready', content: { 'application/json': { schema: OipModelReady } } },
      ...common,
      503: error('The server is starting or shutting down'),
    },
  };
  const inferSchema = {
    tags,
    summary:
      'Inference: `input` [batch, time, inputDim] FP32 → `output` [batch, time, features] and `state` (final state)',
    body: OipInferenceRequest,
    response: {
      200: {
        description: 'The requested outputs, flat row-major',
        content: { 'application/json': { schema: OipInferenceResponse } },
      },
      400: error(
        'Invalid request: names, datatypes or shapes that do not fit the model, unknown fields, or a limit exceeded',
      ),
      ...common,
      413: error('Request body larger than BODY_LIMIT_BYTES'),
      415: error('Content-Type is not application/json'),
    },
  };

  app.get('/v2', {
    config,
    schema: {
      tags,
      summary: 'Server metadata',
      response: {
        200: { description: 'The server', content: { 'application/json': { schema: OipServerMetadata } } },
        405: common[405],
        500: common[500],
      },
    },
    handler: async () => ({ name: options.serverName, version: options.serverVersion, extensions: [] }),
  });
  app.get('/v2/models/:name', {
    config,
    schema: { ...metadataSchema, params: ModelParams },
    handler: async (req) => metadata(repository.get(req.params.name)),
  });
  app.get('/v2/models/:name/versions/:version', {
    config,
    schema: { ...metadataSchema, params: ModelVersionParams },
    handler: async (req) => metadata(repository.get(req.params.name, req.params.version)),
  });
  app.get('/v2/models/:name/ready', {
    config,
    schema: { ...readySchema, params: ModelParams },
    handler: async (req) => ready(repository.get(req.params.name)),
  });
  app.get('/v2/models/:name/versions/:version/ready', {
    config,
    schema: { ...readySchema, params: ModelVersionParams },
    handler: async (req) => ready(repository.get(req.params.name, req.params.version)),
  });
  app.post(OIP_INFER_ROUTES[0], {
    config,
    schema: { ...inferSchema, params: ModelParams },
    handler: async (req, reply) => infer(repository.get(req.params.name), req.body, reply),
  });
  app.post(OIP_INFER_ROUTES[1], {
    config,
    schema: { ...inferSchema, params: ModelVersionParams },
    handler: async (req, reply) => infer(repository.get(req.params.name, req.params.version), req.body, reply),
  });
};

export default oipRoutes;
