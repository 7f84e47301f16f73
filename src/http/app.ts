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
import { type Config, defaultConfig, SERVICE_NAME } from '../config/config.js';
import { tidyOpenApi } from './openapi.js';
import { validatorCompiler } from './validation.js';
import { clientErrorResponse } from '../errors/problem-error.js';
import problems from './plugins/error-handler.js';
import jsonBody from './plugins/json-body.js';
import requestDecompression from './plugins/request-decompression.js';
import compression, { COMPRESS_THRESHOLD_BYTES } from './plugins/compression.js';
import requestLog, { AccessLog, requestId } from './plugins/request-log.js';
import readiness from './plugins/readiness.js';
import metrics from './plugins/metrics.js';
import overload from './plugins/overload.js';
import securityHeaders, { docsContext } from './plugins/security-headers.js';
import cors from './plugins/cors.js';
import clientRateLimit from './plugins/rate-limit.js';
import apiKeys from './plugins/api-keys.js';
import opsResponses from './plugins/ops-responses.js';
import tracingPlugin from './plugins/tracing.js';
import { createWorkerPool } from '../runtime/pool.js';
import { InferenceCore } from '../core/core.js';
import { SequenceSteps } from '../core/sequence-steps.js';
import { createSequenceStore } from '../core/sequences/create-store.js';
import { SequenceMetrics } from '../core/sequences/sequence-metrics.js';
import forwardRoute from './routes/rnn/forward-route.js';
import weightsRoute from './routes/rnn/weights-route.js';
import healthRoutes from './routes/ops/health-route.js';
import metricsRoute from './routes/ops/metrics-route.js';
import playgroundRoute from './routes/playground/playground-route.js';
import modelsRoutes, { MODEL_FORWARD_ROUTES } from './routes/models/models-route.js';
import { type ModelRepository, loadRepository } from '../models/repository.js';
import oipRoutes, { OIP_INFER_ROUTES } from './routes/v2/inference-route.js';
import repositoryRoutes from './routes/v2/repository-route.js';
import { modelLifecycleMetrics } from './model-metrics.js';
import { workerModelLoader } from '../runtime/model-loader.js';
import { warmUp } from '../runtime/warm-up.js';
import { SeededWeightsCache } from '../inference/weights-cache.js';
import { MemoryBudget } from '../runtime/memory-budget.js';

export const SERVICE_VERSION = '0.1.0';
/** The routes that run forward passes: admission-bounded, and documented with their 422 and 503. */
const COMPUTE_ROUTES = ['/rnn/forward', ...MODEL_FORWARD_ROUTES, ...OIP_INFER_ROUTES];

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The serving core and the model repository, which the gRPC frontend (src/grpc/, wired by main.ts) shares with
     * this app's routes: one admission, queue, batching and set of models for both protocols.
     */
    core: InferenceCore;
    repository: ModelRepository;
    /**
     * The other frontends on this core (the gRPC server, added by main.ts), each as its close: app.close() starts
     * them when it stops taking requests itself, and waits for them before the core's pool, stores and repository
     * close, so that their calls in flight finish as HTTP's requests do.
     */
    frontends: Set<() => Promise<void>>;
  }
}

export interface BuildOptions {
  /** A pino logger to use instead of one made from `config.logLevel` (tests pass one writing to a stream). */
  logger?: Logger;
}

export async function buildApp(config: Config = defaultConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  // The model repository is read first: a bad model stops start-up before anything else is built. Loaded models are
  // charged to the memory budget; after start-up, versions load on a thread of their own.
  const cache = new SeededWeightsCache(config.seededWeightsCache);
  const budget = new MemoryBudget(config.overload.memoryBudgetBytes, config.overload.retryAfterSeconds);
  const repository = await loadRepository(config.models, config.limits, cache, {
    memory: budget,
    later: workerModelLoader(cache, config.pool.nice),
    log: logger,
    retryAfterSeconds: config.overload.retryAfterSeconds,
  });
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

  // First: a request's trace begins before any other hook runs (a request shed or refused is traced too).
  // The OpenTelemetry SDK is loaded only when tracing is configured: with it off, the process neither loads nor holds it.
  const tracing =
    config.tracing === null
      ? null
      : (await import('../telemetry/tracing.js')).createTracing(config.tracing, {
          serviceVersion: SERVICE_VERSION,
          log: logger,
        });
  await app.register(tracingPlugin, { tracing });
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
        title: SERVICE_NAME,
        version: SERVICE_VERSION,
        description:
          'Keras-style recurrent network (SimpleRNN, LSTM, GRU) inference over HTTP. Every error is `application/problem+json` (RFC 9457) ' +
          'with the JSON path of each offending value, except on the Open Inference Protocol routes (`/v2`, ' +
          '`/v2/models/...`), which answer `{"error": "..."}` as that protocol requires. Request bodies may be ' +
          `compressed (\`Content-Encoding\`: gzip, deflate, br); answers of ${COMPRESS_THRESHOLD_BYTES} bytes or more ` +
          'are compressed for clients that send `Accept-Encoding`.',
        contact: { ...config.apiContact },
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

  for (const skipped of repository.skipped)
    app.log.warn({ model: skipped }, `model skipped (MODELS_ON_ERROR=skip): ${skipped.error}`);
  const pool = createWorkerPool({ ...config.pool, onError: (err) => app.log.error({ err }, 'worker failed') });
  app.addHook('onClose', () => pool.close());
  const sequenceMetrics = new SequenceMetrics(app.metrics.registry);
  const sequenceStore = createSequenceStore(config.sequences, {
    retryAfterSeconds: config.overload.retryAfterSeconds,
    reserve: (bytes) => budget.reserve(bytes, 'the state of the sequences in progress'),
    metrics: sequenceMetrics,
    log: app.log,
  });
  app.addHook('onClose', () => sequenceStore.close());
  const core = new InferenceCore({
    sequences: new SequenceSteps(sequenceStore, sequenceMetrics, app.log),
    repository,
    limits: config.limits,
    cache,
    pool,
    poolSettings: config.pool,
    queue: config.queue,
    budget,
    retryAfterSeconds: config.overload.retryAfterSeconds,
    observer: app.metrics.core,
  });
  new Gauge({
    name: 'rnn_pool_queue_depth',
    help: 'Requests waiting in the queue for a worker thread',
    registers: [app.metrics.registry],
    collect() {
      this.set(core.waiting);
    },
  });
  new Gauge({
    name: 'rnn_queue_compute',
    help: 'Multiply-adds of the requests waiting in the queue for a worker thread',
    registers: [app.metrics.registry],
    collect() {
      this.set(core.waitingCost);
    },
  });
  new Counter({
    name: 'rnn_pool_tasks_abandoned_total',
    help: 'Passes stopped on a worker because all their clients had gone (the worker was replaced)',
    registers: [app.metrics.registry],
    collect() {
      this.reset();
      this.inc(pool.abandonedJobs);
    },
  });
  new Gauge({
    name: 'rnn_memory_budget_bytes',
    help: 'MEMORY_BUDGET_BYTES: the bytes requests in flight and loaded models may hold (0: no budget)',
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
  new Gauge({
    name: 'rnn_memory_budget_model_bytes',
    help: 'Bytes of MEMORY_BUDGET_BYTES held by loaded models (estimated from what they hold), draining ones included',
    registers: [app.metrics.registry],
    collect() {
      this.set(budget.resident);
    },
  });
  app.decorate('core', core);
  app.decorate('repository', repository);
  modelLifecycleMetrics(app.metrics.registry, repository);
  app.addHook('onClose', () => repository.close());
  await app.register(forwardRoute, { core, minBodyBytes: config.pool.minBodyBytes, threads: config.pool.threads });
  await app.register(weightsRoute, { core });
  await app.register(modelsRoutes, { core });
  await app.register(oipRoutes, {
    core,
    serverName: SERVICE_NAME,
    serverVersion: SERVICE_VERSION,
    retryAfterSeconds: config.overload.retryAfterSeconds,
  });
  await app.register(repositoryRoutes, { repository });
  await app.register(healthRoutes, {
    sequenceStore,
    retryAfterSeconds: config.overload.retryAfterSeconds,
    skippedModels: () => repository.skipped,
  });
  await app.register(metricsRoute);
  await app.register(playgroundRoute);

  // Ready only after one forward pass through the route's own code path has worked.
  app.addHook('onReady', async () => {
    warmUp(cache);
    app.readiness.markReady();
    repository.startPolling();
  });

  // Added last, so that it runs before every other onClose hook (Fastify runs them last added first).
  app.decorate('frontends', new Set<() => Promise<void>>());
  let frontendsClosed: Promise<unknown> = Promise.resolve();
  app.addHook('preClose', async () => {
    frontendsClosed = Promise.allSettled([...app.frontends].map((close) => close()));
  });
  app.addHook('onClose', () => frontendsClosed.then(() => {}));

  await app.ready();
  return app;
}
