/**
 * Triton's model repository extension over REST: `POST /v2/repository/index` (every model and version with its
 * state), `POST /v2/repository/models/{name}/load` and `/unload` (MODEL_CONTROL_MODE=explicit; refused with 503 in
 * the other modes, in Triton's words). Bodies are read as Triton reads them: JSON with or without a Content-Type,
 * or nothing at all (tritonclient sends the index request with an empty body). Errors are `{"error": "..."}`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ModelParams } from '../../../../schemas/models.js';
import { oipErrorResponse } from '../../../../schemas/oip.js';
import {
  RepositoryIndex,
  RepositoryIndexRequest,
  RepositoryLoadRequest,
  RepositoryControlResponse,
  RepositoryUnloadRequest,
} from '../../../../schemas/repository.js';
import { parseJsonBody } from '../../../codec/json-parse.js';
import { ProblemError } from '../../../errors/problem-error.js';
import { checkUnloadParameters, loadConfigParameter } from '../../../protocols/repository-control.js';
import type { ModelRepository } from '../../../models/repository.js';

const error = oipErrorResponse;

export interface RepositoryRouteOptions {
  repository: ModelRepository;
}

/** JSON bodies with `application/json` or no Content-Type; an empty body is `{}`. */
function repositoryBodies(app: FastifyInstance): void {
  const parse = (body: Buffer) => (body.length === 0 ? {} : parseJsonBody(body));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parse(body as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined) {
      done(
        new ProblemError(
          'unsupported-media-type',
          `Content-Type '${type}' is not supported; send application/json or no Content-Type`,
        ),
      );
      return;
    }
    try {
      done(null, parse(body as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  // A POST without a body at all (no Content-Type, no length) reaches no parser.
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });
}

const repositoryRoutes: FastifyPluginAsyncZod<RepositoryRouteOptions> = async (app, { repository }) => {
  repositoryBodies(app);
  const config = { oip: true };
  const tags = ['inference protocol'];
  const common = {
    405: error('Known route, other method (see `Allow`)'),
    413: error('Request body larger than BODY_LIMIT_BYTES'),
    415: error('Content-Type is neither application/json nor absent'),
    500: error('Unexpected server error (logged; no details exposed)'),
  };
  const control = (summary: string, description: string) => ({
    tags,
    summary,
    description,
    params: ModelParams,
    response: {
      200: { description: 'Done', content: { 'application/json': { schema: RepositoryControlResponse } } },
      400: error('The body or its parameters are invalid, or (load) a version failed to load: the error names each'),
      404: error('There is no such model in the repository'),
      503: error('MODEL_CONTROL_MODE is not explicit: models change by polling, or not at all'),
      ...common,
    },
  });

  app.post('/v2/repository/index', {
    config,
    schema: {
      tags,
      summary: 'The repository index: every model and version with its state and the reason when not READY',
      description:
        "Triton's model repository extension: every model and version the repository knows, each with its state " +
        '(READY, LOADING, UNLOADING, UNAVAILABLE) and the reason when it is not READY; with `{"ready": true}`, only ' +
        'the READY ones. In explicit mode, model directories not loaded are listed too, without a version. The body ' +
        'may be empty (tritonclient sends none) and needs no Content-Type.',
      body: RepositoryIndexRequest,
      response: {
        200: { description: 'The index', content: { 'application/json': { schema: RepositoryIndex } } },
        400: error('The body is not a repository index request'),
        ...common,
      },
    },
    handler: async (request) => repository.index(request.body.ready === true),
  });
  app.post('/v2/repository/models/:name/load', {
    config,
    schema: {
      ...control(
        'Load or reload a model from MODELS_DIR (MODEL_CONTROL_MODE=explicit)',
        'Reads the model directory now: its config.pbtxt (or the `config` parameter), the versions its version policy ' +
          'selects, each checked in full before it replaces the version serving. Answers once they are READY.',
      ),
      body: RepositoryLoadRequest,
    },
    handler: async (request) => {
      const override = loadConfigParameter(request.body.parameters);
      await repository.load(request.params.name, override);
      return {};
    },
  });
  app.post('/v2/repository/models/:name/unload', {
    config,
    schema: {
      ...control(
        'Unload a model (MODEL_CONTROL_MODE=explicit)',
        'Its versions take no new requests from now on and are freed when their last request ends; the index lists ' +
          "them UNLOADING, then UNAVAILABLE 'unloaded'.",
      ),
      body: RepositoryUnloadRequest,
    },
    handler: async (request) => {
      checkUnloadParameters(request.body.parameters);
      await repository.unload(request.params.name);
      return {};
    },
  });
};

export default repositoryRoutes;
