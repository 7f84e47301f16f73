/**
 * The process: reads the environment, builds the app, listens, and stops cleanly on SIGTERM/SIGINT.
 * The only place that listens or touches `process`.
 */
import pino from 'pino';
import { SERVICE_VERSION, buildApp } from './http/app.js';
import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, SERVICE_NAME, loadConfig } from './config/config.js';
import { ModelLoadError } from './models/repository.js';
import { type GrpcServer, grpcDefinitions, startGrpcServer } from './grpc/server.js';

/** The gRPC frontend on GRPC_PORT, on the app's core, repository, metrics and readiness (null: GRPC_PORT=0). */
async function startGrpc(app: FastifyInstance, config: Config, logger: pino.Logger): Promise<GrpcServer | null> {
  if (config.grpc.port === 0) return null;
  return startGrpcServer(config.grpc, config.host, {
    core: app.core,
    repository: app.repository,
    readiness: app.readiness,
    registry: app.metrics.registry,
    logger,
    apiKeys: config.access.apiKeys,
    serverName: SERVICE_NAME,
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
      app.close().then(
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

  const grpc = await startGrpc(app, config, logger);
  // Closed with the app: gRPC calls still open a second before the grace ends (streams their clients keep open)
  // are cancelled.
  if (grpc !== null)
    app.frontends.add(() => grpc.close(Math.max(config.shutdown.graceMs - 1000, config.shutdown.graceMs / 2)));
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`rnn-serve: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
