/**
 * The process: reads the environment, builds the app, listens, and stops cleanly on SIGTERM/SIGINT.
 * The only place that listens or touches `process`.
 */
import pino from 'pino';
import { buildApp } from './http/app.js';
import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, loadConfig } from './config/config.js';
import { ModelLoadError } from './models/repository.js';

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

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`rnn-serve: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
