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
import type { InferenceCore } from '../../../core/core.js';
import type { OipAnswer } from '../../../protocols/oip-answer.js';
import { OIP_EXTENSIONS, oipModelMetadata } from '../../../protocols/oip-metadata.js';
import { oipRequest } from '../../../protocols/oip-request.js';
import { ProblemError } from '../../../errors/problem-error.js';
import { inferenceProtocolBodies } from '../../plugins/json-body.js';
import { sendJson } from '../../reply.js';
import { ReplySink } from '../../reply-sink.js';
import type { FastifyReply } from 'fastify';

/** The binary tensor data extension: binary tensors after the JSON, whose length this header gives. */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';

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
  core: InferenceCore;
  serverName: string;
  serverVersion: string;
  retryAfterSeconds: number;
}

/** Sends an answer: JSON alone, or the JSON then each binary output in the order the JSON lists them. */
function sendOip(reply: FastifyReply, answer: OipAnswer): FastifyReply {
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
}

const oipRoutes: FastifyPluginAsyncZod<OipRouteOptions> = async (app, options) => {
  const { core } = options;
  inferenceProtocolBodies(app);
  const config = { oip: true };
  const tags = ['inference protocol'];
  const metadata = (name: string, version?: string) => oipModelMetadata(name, core.metadata(name, version));
  const ready = (name: string, version?: string) => {
    const served = core.metadata(name, version);
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
  /** Not async: the core sends the answer when it has it. */
  const infer = (reply: FastifyReply, body: OipInferenceRequest, name: string, version?: string) => {
    const { request, encoding } = oipRequest(
      body,
      reply.request.binaryData,
      name,
      version,
      reply.request.exactSequenceId,
    );
    core.infer(request, encoding, new ReplySink<OipAnswer>(reply, sendOip));
  };
  const common = {
    404: error('No such model or version'),
    405: error('Known route, other method (see `Allow`)'),
    500: error('Unexpected server error (logged; no details exposed)'),
  };
  const metadataSchema = {
    tags,
    summary: 'Model metadata: inputs and outputs with datatype and shape (-1: any size)',
    description:
      'A served model (the latest version, or the one named) in Open Inference Protocol terms: its platform ' +
      '(`rnn-serve_json` for our model.json and TF.js models, `rnn-serve_onnx` for ONNX graphs), its versions, its ' +
      'input and output tensors with datatype and shape (-1 where any size is accepted: batch, time), and in ' +
      '`parameters` what else an input accepts (other datatypes, token ids, the optional `lengths` and ' +
      '`initial_state` inputs), its class labels and, for an ONNX model, its graph.',
    response: {
      200: { description: 'The model', content: { 'application/json': { schema: OipModelMetadata } } },
      ...common,
    },
  };
  const readySchema = {
    tags,
    summary: 'Model readiness: 200 when ready',
    description:
      'Whether the model (the latest version, or the one named) can take inference requests: 200 once the server ' +
      'has warmed up, 503 with `Retry-After` while it starts or shuts down, 404 for a model or version the ' +
      'repository does not have.',
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
    description:
      'Runs a batch through a served model (the latest version, or the one named), as KServe, Seldon and Triton ' +
      'clients send it: the JSON inference request, or with the binary tensor data extension the JSON followed by ' +
      'raw little-endian tensors. Besides `input`, a model takes the optional `lengths` and `initial_state` inputs ' +
      '(GET /v2/models/{name} lists them in `parameters`); `outputs` chooses which outputs come back, and ' +
      '`parameters.classification` on an output asks for its top-K classes. Errors are `{"error": "..."}`.',
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
      description:
        "The Open Inference Protocol's server metadata: this server's name and version and the protocol extensions " +
        'it implements (`binary_tensor_data`: tensors as raw bytes after the JSON; `classification`: top-K classes ' +
        'instead of raw outputs).',
      response: {
        200: { description: 'The server', content: { 'application/json': { schema: OipServerMetadata } } },
        405: common[405],
        500: common[500],
      },
    },
    handler: async () => ({
      name: options.serverName,
      version: options.serverVersion,
      extensions: [...OIP_EXTENSIONS],
    }),
  });
  app.get('/v2/models/:name', {
    config,
    schema: { ...metadataSchema, params: ModelParams },
    handler: async (req) => metadata(req.params.name),
  });
  app.get('/v2/models/:name/versions/:version', {
    config,
    schema: { ...metadataSchema, params: ModelVersionParams },
    handler: async (req) => metadata(req.params.name, req.params.version),
  });
  app.get('/v2/models/:name/ready', {
    config,
    schema: { ...readySchema, params: ModelParams },
    handler: async (req) => ready(req.params.name),
  });
  app.get('/v2/models/:name/versions/:version/ready', {
    config,
    schema: { ...readySchema, params: ModelVersionParams },
    handler: async (req) => ready(req.params.name, req.params.version),
  });
  const inferConfig = { ...config, swaggerTransform: documentBinaryForm };
  app.post(OIP_INFER_ROUTES[0], {
    config: inferConfig,
    schema: { ...inferSchema, params: ModelParams },
    handler: (req, reply) => infer(reply, req.body, req.params.name),
  });
  app.post(OIP_INFER_ROUTES[1], {
    config: inferConfig,
    schema: { ...inferSchema, params: ModelVersionParams },
    handler: (req, reply) => infer(reply, req.body, req.params.name, req.params.version),
  });
};

export default oipRoutes;
