/**
 * The Open Inference Protocol (KServe v2) REST routes over the model repository: server metadata, model
 * metadata and readiness, and inference. Errors are `{"error": "..."}` (application/json), as the protocol
 * requires (the problems plugin answers so for routes with `config.oip`, and for unknown /v2/models/ paths).
 */
import { type FastifyPluginAsyncZod, jsonSchemaTransform } from 'fastify-type-provider-zod';
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
  INFERENCE_HEADER_LENGTH,
  OIP_INPUT,
  type OipAnswer,
  inProtocolTerms,
  oipAnswer,
  oipForwardRequest,
} from '../../../models/inference-protocol.js';
import { SERVER_EXTENSIONS, modelMetadata } from '../../../models/protocol-metadata.js';
import { inferenceProtocolBodies } from '../../plugins/json-body.js';
import { sendJson } from '../../reply.js';
import type { ForwardRunner } from '../../../runtime/pool.js';
import { ProblemError } from '../../../errors/problem-error.js';
import type { ModelRepository, OnnxServedModel, ServedModel } from '../../../models/repository.js';
import { onnxAnswer, planOnnxInference } from '../../../models/onnx/protocol.js';
import { planServed } from '../../../models/served.js';
import type { SeededWeightsCache } from '../../../inference/weights-cache.js';
import { clientGone, holdMemory } from '../../in-flight.js';
import type { MemoryBudget } from '../../../runtime/memory-budget.js';
import { planMemoryBytes } from '../../../inference/memory-estimate.js';
import type { FastifyReply } from 'fastify';

const error = oipErrorResponse;

const BINARY_FORM =
  'The binary tensor data extension: the JSON inference request (its inputs with `parameters.binary_data_size` ' +
  'instead of `data`), then their tensors, little-endian and row-major, in input order. The header ' +
  '`Inference-Header-Content-Length` gives the length of the JSON. The JSON form is also read without a Content-Type.';

const BINARY_ANSWER =
  'The JSON inference response (binary outputs with `parameters.binary_data_size` instead of `data`), then their ' +
  'values, little-endian float32, in the order the JSON lists them. `Inference-Header-Content-Length` gives the ' +
  'length of the JSON.';

/**
 * The infer routes' OpenAPI entry, beside what the zod schemas give: the binary form of the body and of the answer,
 * and its header. The body is validated as JSON whatever the Content-Type (the body parser splits off the binary
 * part), so this is documentation only.
 */
// biome-ignore lint/suspicious/noExplicitAny: @fastify/swagger hands the route schema over as plain JSON
function documentBinaryForm(input: Parameters<typeof jsonSchemaTransform>[0]): any {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const { schema, url } = jsonSchemaTransform(input) as { schema: any; url: string };
  const binary = (description: string) => ({ schema: { type: 'string', format: 'binary', description } });
  const header = {
    type: 'integer',
    description: 'With binary tensors: the length in bytes of the JSON at the start of the body',
  };
  return {
    url,
    schema: {
      ...schema,
      headers: { type: 'object', properties: { [INFERENCE_HEADER_LENGTH]: header } },
      body: {
        content: { 'application/json': { schema: schema.body }, 'application/octet-stream': binary(BINARY_FORM) },
      },
      response: {
        ...schema.response,
        200: {
          ...schema.response[200],
          description: `${schema.response[200].description}; with binary outputs (\`parameters.binary_data\`, \`binary_data_output\`) application/octet-stream: the JSON response, then the binary outputs`,
          headers: { [INFERENCE_HEADER_LENGTH]: header },
          content: { ...schema.response[200].content, 'application/octet-stream': binary(BINARY_ANSWER) },
        },
      },
    },
  };
}

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
  inferenceProtocolBodies(app);
  const config = { oip: true };
  const tags = ['inference protocol'];
  const metadata = (served: ServedModel) => modelMetadata(repository, served);
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
  /** Sends an answer: JSON alone, or the JSON then each binary output in the order the JSON lists them. */
  const send = (reply: FastifyReply, answer: OipAnswer) => {
    if (answer.binary.length === 0) return sendJson(reply, answer.json);
    const json = typeof answer.json === 'string' ? Buffer.from(answer.json) : answer.json;
    const out = Buffer.allocUnsafe(answer.binary.reduce((n, part) => n + part.length, json.length));
    out.set(json, 0);
    let at = json.length;
    for (const part of answer.binary) {
      out.set(part, at);
      at += part.length;
    }
    return reply
      .header(INFERENCE_HEADER_LENGTH, String(json.length))
      .type('application/octet-stream')
      .send(out as never);
  };
  /** An ONNX graph: planned and checked against the limits here, then run inline or on a worker (runtime/pool.ts). */
  const inferOnnx = async (served: OnnxServedModel, request: OipInferenceRequest, reply: FastifyReply) => {
    const inference = planOnnxInference(served, request, reply.request.binaryData, limits);
    holdMemory(budget, reply, inference.bytes, "the request's estimated memory");
    const tensors = await app.metrics.timeForward(
      inference.shape,
      () => runner.runOnnx(served.source, inference, () => clientGone(reply)),
      served,
    );
    return send(reply, onnxAnswer(served, request, inference, tensors));
  };
  const infer = async (served: ServedModel, request: OipInferenceRequest, reply: FastifyReply) => {
    if (served.kind === 'onnx') return inferOnnx(served, request, reply);
    // Where `input` is among the inputs: the plan's problems with it are named at that index.
    const inputIndex = Math.max(
      0,
      request.inputs.findIndex((input) => input.name === OIP_INPUT),
    );
    try {
      const plan = oipForwardRequest(served, request, reply.request.binaryData);
      // The plan writes the float32 values alone; the answer (JSON, binary or both) is written around them here.
      const forward = planServed(served, plan.body, limits, cache, {
        ...(plan.typed !== undefined ? { typed: plan.typed } : {}),
        ...(plan.topKPath !== undefined ? { topKPath: plan.topKPath } : {}),
        outputFormat: 'binary',
      });
      holdMemory(budget, reply, planMemoryBytes(forward, true), "the request's estimated memory");
      const body = await app.metrics.timeForward(
        forward.shape,
        () => runner.run(forward, () => clientGone(reply)),
        served,
      );
      if (!(body instanceof Uint8Array)) throw new Error('a binary plan answered text');
      const values = new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4);
      return send(reply, oipAnswer(served, request, plan, values, forward.shape[0], forward.shape[1]));
    } catch (e) {
      throw inProtocolTerms(e, inputIndex);
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
      415: error('Content-Type is not application/json, application/octet-stream or absent'),
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
    handler: async () => ({
      name: options.serverName,
      version: options.serverVersion,
      extensions: [...SERVER_EXTENSIONS],
    }),
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
  const inferConfig = { ...config, swaggerTransform: documentBinaryForm };
  app.post(OIP_INFER_ROUTES[0], {
    config: inferConfig,
    schema: { ...inferSchema, params: ModelParams },
    handler: async (req, reply) => infer(repository.get(req.params.name), req.body, reply),
  });
  app.post(OIP_INFER_ROUTES[1], {
    config: inferConfig,
    schema: { ...inferSchema, params: ModelVersionParams },
    handler: async (req, reply) => infer(repository.get(req.params.name, req.params.version), req.body, reply),
  });
};

export default oipRoutes;
