/**
 * buildApp(config) returns a ready Fastify instance with no side effects: no listen, no process handlers,
 * no environment reads (`main.ts` does those). Order: external plugins (security headers, CORS, load
 * shedding, rate limits, OpenAPI, docs), then our own (request log, problem details, readiness, metrics,
 * API keys, compute admission), then routes; the warm-up forward pass runs in onReady.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import pino, { type Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { type Config, type Limits, defaultConfig } from '../config/config.js';
import { tidyOpenApi } from './openapi.js';
import { validatorCompiler } from './validation.js';
import { clientErrorResponse } from '../errors/problem-error.js';
import problems from './plugins/error-handler.js';
import jsonBody from './plugins/json-body.js';
import requestDecompression from './plugins/request-decompression.js';
import compression from './plugins/compression.js';
import requestLog, { AccessLog, requestId } from './plugins/request-log.js';
import readiness from './plugins/readiness.js';
import metrics from './plugins/metrics.js';
import overload from './plugins/overload.js';
import forwardAdmission from './plugins/forward-admission.js';
import securityHeaders, { docsContext } from './plugins/security-headers.js';
import cors from './plugins/cors.js';
import clientRateLimit from './plugins/rate-limit.js';
import apiKeys from './plugins/api-keys.js';
import opsResponses from './plugins/ops-responses.js';
import { type ForwardRunner, createForwardRunner } from '../runtime/pool.js';
import forwardRoute from './routes/rnn/forward-route.js';
import { EndOfTurnAnswers } from './end-of-turn.js';
import weightsRoute from './routes/rnn/weights-route.js';
import healthRoutes from './routes/ops/health-route.js';
import metricsRoute from './routes/ops/metrics-route.js';
import playgroundRoute from './routes/playground/playground-route.js';
import modelsRoutes, { MODEL_FORWARD_ROUTES } from './routes/models/models-route.js';
import { type ModelRepository, loadRepository } from '../models/repository.js';
import oipRoutes, { OIP_INFER_ROUTES } from './routes/v2/inference-route.js';
import { warmUp } from '../runtime/warm-up.js';
import { SeededWeightsCache } from '../inference/weights-cache.js';
import { MemoryBudget } from '../runtime/memory-budget.js';

export const SERVICE_VERSION = '0.1.0';
/** The routes that run forward passes: admission-bounded, and documented with their 422 and 503. */
const COMPUTE_ROUTES = ['/rnn/forward', ...MODEL_FORWARD_ROUTES, ...OIP_INFER_ROUTES];

/**
 * The app's serving state, which the gRPC frontend shares (main.ts hands it over): one repository, one compute
 * runner, one weights cache and one memory budget for both protocols.
 */
export interface Serving {
  readonly repository: ModelRepository;
  readonly limits: Limits;
  readonly cache: SeededWeightsCache;
  readonly runner: ForwardRunner;
  readonly budget: MemoryBudget;
}

declare module 'fastify' {
  interface FastifyInstance {
    serving: Serving;
  }
}

export interface BuildOptions {
  /** A pino logger to use instead of one made from `config.logLevel` (tests pass one writing to a stream). */
  logger?: Logger;
}

export async function buildApp(config: Config = defaultConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  // The model repository is read first: a bad model stops start-up before anything else is built.
  const cache = new SeededWeightsCache(config.seededWeightsCache);
  const repository = await loadRepository(config.models, config.limits, cache);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.limits.bodyLimitBytes,
    genReqId: requestId,
    logController: new AccessLog(),
    return503OnClosing: true,
    requestTimeout: config.http.requestTimeoutMs,
    // Node checks no request timeout at all while headersTimeout (60 s by default) exceeds requestTimeout.
    http: config.http.requestTimeoutMs > 0 ? { headersTimeout: Math.min(60_000, config.http.requestTimeoutMs) } : {},
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    // request.ip, which the rate limit keys on and the access log writes: the socket's peer, or with TRUST_PROXY
    // the client as the trusted proxies name it in X-Forwarded-For.
    trustProxy:
      typeof config.access.trustProxy === 'boolean' ? config.access.trustProxy : [...config.access.trustProxy],
    clientErrorHandler(error: Error & { code?: string }, socket) {
      // A reset connection has nobody left to answer.
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      logger.debug({ err: error }, 'client error');
      if (socket.writable) socket.write(clientErrorResponse(error.code));
      socket.destroy(error);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our own code from typed arrays; they are documented by their zod schemas but
  // serialised without re-validating every float.
  app.setSerializerCompiler(serializerCompiler);

  // Registered before /docs (so it gets their hooks too); their onRequest hooks run in this order, before
  // ours: security headers, CORS preflights, load shedding, rate limits.
  await app.register(securityHeaders);
  // Before any route: it gives each route (Swagger UI and /openapi.json included) its compressing onSend hook,
  // except the forward passes, whose answers sendJson compresses.
  await app.register(compression, { hotRoutes: ['/rnn/forward', '/rnn/weights', ...MODEL_FORWARD_ROUTES] });
  await app.register(cors, { origins: config.access.corsOrigins });
  await app.register(overload, config.overload);
  await app.register(clientRateLimit, { max: config.access.rateLimitMax, windowMs: config.access.rateLimitWindowMs });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rnn-serve',
        version: SERVICE_VERSION,
        description:
          'Keras-style recurrent network (SimpleRNN, LSTM, GRU) inference over HTTP. Every error is `application/problem+json` (RFC 9457) ' +
          'with the JSON path of each offending value, except on the Open Inference Protocol routes (`/v2`, ' +
          '`/v2/models/...`), which answer `{"error": "..."}` as that protocol requires. Request bodies may be ' +
          'compressed (`Content-Encoding`: gzip, deflate, br); answers of 1 KiB or more are compressed for ' +
          'clients that send `Accept-Encoding`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Relative: the document describes whichever host served it.
      servers: [{ url: '/', description: 'This server' }],
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description:
              'Only when the server is configured with API_KEYS: `Authorization: Bearer <key>`. Probes never need one.',
          },
        },
      },
      // Either: without API_KEYS the API is open, with them it needs a key.
      security: [{}, { apiKey: [] }],
      tags: [
        { name: 'rnn', description: 'Recurrent network inference' },
        { name: 'models', description: 'Models served from the model repository (MODELS_DIR)' },
        {
          name: 'inference protocol',
          description: 'The Open Inference Protocol (KServe v2) over the model repository; errors are `{"error": ...}`',
        },
        { name: 'health', description: 'Liveness and readiness probes (also as Open Inference Protocol aliases)' },
        { name: 'operations', description: 'Metrics for monitoring' },
        { name: 'playground', description: 'A browser page that runs /rnn/forward and draws the results' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: tidyOpenApi,
  });
  // In a context of its own: Swagger UI's answers get the policy and, for its pages, the headers it needs.
  await app.register(async (docs) => {
    await docsContext(docs);
    await docs.register(fastifySwaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(requestLog);
  await app.register(jsonBody);
  await app.register(requestDecompression, { bodyLimit: config.limits.bodyLimitBytes });
  await app.register(problems, { bodyLimit: config.limits.bodyLimitBytes });
  await app.register(readiness);
  await app.register(metrics);
  await app.register(apiKeys, { keys: config.access.apiKeys, protectMetrics: config.access.metricsAuth });
  await app.register(opsResponses, { computeRoutes: COMPUTE_ROUTES });
  await app.register(forwardAdmission, {
    routes: COMPUTE_ROUTES,
    maxConcurrent: config.overload.maxConcurrentForward,
    retryAfterSeconds: config.overload.retryAfterSeconds,
  });

  for (const skipped of repository.skipped)
    app.log.warn({ model: skipped }, `model skipped (MODELS_ON_ERROR=skip): ${skipped.error}`);
  const runner = createForwardRunner(
    { ...config.pool, onError: (err) => app.log.error({ err }, 'worker failed') },
    cache,
  );
  app.addHook('onClose', () => runner.close());
  new Gauge({
    name: 'rnn_pool_queue_depth',
    help: 'Forward passes waiting for a worker thread',
    registers: [app.metrics.registry],
    collect() {
      this.set(runner.queueSize);
    },
  });
  new Counter({
    name: 'rnn_pool_tasks_abandoned_total',
    help: 'Tasks stopped on the worker pool because their client had gone (dropped from the queue, or worker replaced)',
    registers: [app.metrics.registry],
    collect() {
      this.reset();
      this.inc(runner.abandonedTasks);
    },
  });
  const budget = new MemoryBudget(config.overload.memoryBudgetBytes, config.overload.retryAfterSeconds);
  new Gauge({
    name: 'rnn_memory_budget_bytes',
    help: 'MEMORY_BUDGET_BYTES: the bytes requests in flight may hold (0: no budget)',
    registers: [app.metrics.registry],
    collect() {
      this.set(config.overload.memoryBudgetBytes);
    },
  });
  new Gauge({
    name: 'rnn_memory_budget_reserved_bytes',
    help: 'Bytes of MEMORY_BUDGET_BYTES held by requests in flight (estimated from their shapes)',
    registers: [app.metrics.registry],
    collect() {
      this.set(budget.reserved);
    },
  });
  app.decorate('serving', { repository, limits: config.limits, cache, runner, budget });
  const endOfTurn = new EndOfTurnAnswers({
    onTurn: (answers) => app.metrics.observeAnswersPerTurn(answers),
    log: app.log,
  });
  await app.register(forwardRoute, {
    limits: config.limits,
    cache,
    runner,
    endOfTurn,
    minBodyBytes: config.pool.minBodyBytes,
    budget,
  });
  await app.register(weightsRoute, { limits: config.limits, cache, runner, budget });
  await app.register(modelsRoutes, { repository, limits: config.limits, cache, runner, endOfTurn, budget });
  await app.register(oipRoutes, {
    repository,
    limits: config.limits,
    cache,
    runner,
    budget,
    serverName: 'rnn-serve',
    serverVersion: SERVICE_VERSION,
    retryAfterSeconds: config.overload.retryAfterSeconds,
  });
  await app.register(healthRoutes, {
    retryAfterSeconds: config.overload.retryAfterSeconds,
    skippedModels: repository.skipped,
  });
  await app.register(metricsRoute);
  await app.register(playgroundRoute);

  // Ready only after one forward pass through the route's own code path has worked.
  app.addHook('onReady', async () => {
    warmUp(cache);
    app.readiness.markReady();
  });

  await app.ready();
  return app;
}
