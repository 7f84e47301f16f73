/**
 * buildApp(config) returns a ready Fastify instance with no side effects: no listen, no process handlers,
 * no environment reads (`main.ts` does those). Order: external plugins (OpenAPI, docs), then our own
 * (request log, problem details), then routes.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino, { type Logger } from 'pino';
import { type Config, defaultConfig } from './config.js';
import { tidyOpenApi } from './openapi.js';
import problems from './plugins/problems.js';
import jsonBody from './plugins/json-body.js';
import requestLog, { AccessLog, requestId } from './plugins/request-log.js';
import forwardRoute from './routes/forward.js';
import { SeededWeightsCache } from './weights-cache.js';

export const SERVICE_VERSION = '0.1.0';

export interface BuildOptions {
  /** A pino logger to use instead of one made from `config.logLevel` (tests pass one writing to a stream). */
  logger?: Logger;
}

export async function buildApp(config: Config = defaultConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (options.logger ?? pino({ level: config.logLevel })) as FastifyBaseLogger,
    bodyLimit: config.limits.bodyLimitBytes,
    genReqId: requestId,
    logController: new AccessLog(),
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our own code from typed arrays; they are documented by their zod schemas but
  // serialised without re-validating every float.
  app.setSerializerCompiler(serializerCompiler);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rnn-serve',
        version: SERVICE_VERSION,
        description:
          'Keras-style SimpleRNN inference over HTTP. Every error is `application/problem+json` (RFC 9457) ' +
          'with the JSON path of each offending value.',
      },
      tags: [{ name: 'rnn', description: 'Recurrent network inference' }],
    },
    transform: jsonSchemaTransform,
    transformObject: tidyOpenApi,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(requestLog);
  await app.register(jsonBody);
  await app.register(problems, { bodyLimit: config.limits.bodyLimitBytes });

  const cache = new SeededWeightsCache(config.seededWeightsCache);
  await app.register(forwardRoute, { limits: config.limits, cache });

  await app.ready();
  return app;
}
