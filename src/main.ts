/**
 * The process: reads the environment, builds the app, listens, and stops cleanly on SIGTERM/SIGINT.
 * The only place that listens or touches `process`.
 */
import pino from 'pino';
import { SERVICE_VERSION, buildApp } from './http/app.js';
import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, loadConfig } from './config/config.js';
import { ModelLoadError } from './models/repository.js';
import { type GrpcServer, grpcDefinitions, startGrpcServer } from './grpc/server.js';
import { routePathExecutor } from './grpc/infer-adapter.js';

/** The gRPC frontend on GRPC_PORT, sharing the app's serving state, metrics and readiness (null: GRPC_PORT=0). */
async function startGrpc(app: FastifyInstance, config: Config, logger: pino.Logger): Promise<GrpcServer | null> {
  if (config.grpc.port === 0) return null;
  return startGrpcServer(config.grpc, config.host, {
    repository: app.serving.repository,
    readiness: app.readiness,
    registry: app.metrics.registry,
    logger,
    // Inference through the HTTP route's code path until the serving core executes requests (infer-adapter.ts).
    infer: routePathExecutor({
      ...app.serving,
      metrics: app.metrics,
      maxConcurrent: config.overload.maxConcurrentForward,
      retryAfterSeconds: config.overload.retryAfterSeconds,
    }),
    apiKeys: config.access.apiKeys,
    serverName: 'rnn-serve',
    serverVersion: SERVICE_VERSION,
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`rnn-serve: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel });
  // Before the app: its load shedding would see the time this takes as event-loop delay.
  if (config.grpc.port !== 0) grpcDefinitions();
  let app: FastifyInstance;
  try {
    app = await buildApp(config, { logger });
  } catch (error) {
    // One line naming the file and the problem; MODELS_ON_ERROR=skip serves the other models instead.
    if (error instanceof ModelLoadError) {
      process.stderr.write(`rnn-serve: cannot load model ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // SIGTERM: not ready at once (load balancers stop sending new work), keep serving for SHUTDOWN_DELAY_MS
  // (endpoints take a moment to update, and connections already queued must not be reset), then stop
  // accepting and finish in-flight requests; exit 0, or 1 if that takes longer than SHUTDOWN_GRACE_MS.
  let closing = false;
  let grpc: GrpcServer | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.readiness.drain();
    const { delayMs, graceMs } = config.shutdown;
    logger.info({ signal, delayMs, graceMs }, 'shutting down: not ready, still serving until the delay ends');
    const force = setTimeout(() => {
      logger.error({ graceMs }, 'in-flight requests did not finish within SHUTDOWN_GRACE_MS; exiting');
      process.exit(1);
    }, delayMs + graceMs);
    force.unref();
    setTimeout(() => {
      logger.info('closing: no new connections, finishing in-flight requests');
      // gRPC calls still open a second before the grace ends (streams their clients keep open) are cancelled.
      const grpcClosed = grpc?.close(Math.max(graceMs - 1000, graceMs / 2));
      Promise.all([app.close(), grpcClosed]).then(
        () => {
          logger.info('closed');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while closing');
          process.exit(1);
        },
      );
    }, delayMs);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  grpc = await startGrpc(app, config, logger);
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`rnn-serve: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
