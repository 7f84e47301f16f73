/**
 * Prometheus metrics in a registry of this app's own (several apps in one process do not clash): requests
 * by route template, method and status; request latency; requests in flight; requests shed; the engine's
 * compute time and the batch sizes and time steps it sees; and prom-client's process metrics (event loop
 * lag, heap, RSS, CPU). Labels use the route template, never the raw URL, so their number stays bounded.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ProblemError } from '../problems.js';

/** The route label of a request no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const POWERS_OF_TWO = (max: number) => Array.from({ length: Math.log2(max) + 1 }, (_, i) => 2 ** i);

export interface Metrics {
  readonly registry: Registry;
  /** Runs one forward pass, timing it and recording its batch size and time steps (`shape` = [batch, time, …]). */
  /**
   * With `model` (a served model of the repository), also counts the inference by model, version and outcome
   * (`ok`, or the problem kind) and times it per model. Labels come only from the repository, so they are bounded.
   */
  timeForward<T>(shape: readonly number[], compute: () => Promise<T>, model?: { readonly name: string; readonly version: string }): Promise<T>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

const inFlightRequests = new WeakSet<object>();

export default fp(
  async function metrics(app: FastifyInstance) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const labelNames = ['method', 'route', 'status_code'] as const;
    const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
    const latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its answer',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const inFlight = new Gauge({ name: 'http_requests_in_flight', help: 'Requests received and not yet answered', registers: [registry] });
    const shed = new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests refused to protect latency (overloaded: 503, rate-limited: 429)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const computeSeconds = new Histogram({
      name: 'rnn_forward_compute_seconds',
      help: 'Time of one forward pass: the engine and writing its JSON answer, inline or on a worker (not parsing or validation)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const batchSize = new Histogram({
      name: 'rnn_forward_batch_size',
      help: 'Sequences per forward request',
      buckets: POWERS_OF_TWO(1024),
      registers: [registry],
    });
    const timeSteps = new Histogram({
      name: 'rnn_forward_time_steps',
      help: 'Time steps per forward request',
      buckets: POWERS_OF_TWO(16384),
      registers: [registry],
    });

    const modelInferences = new Counter({
      name: 'rnn_model_inferences_total',
      help: 'Forward passes of served models (POST /models/... and /v2/.../infer), by model, version and outcome',
      labelNames: ['model', 'version', 'outcome'] as const,
      registers: [registry],
    });
    const modelComputeSeconds = new Histogram({
      name: 'rnn_model_compute_seconds',
      help: 'Time of one forward pass of a served model, by model and version',
      labelNames: ['model', 'version'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });

    app.decorate('metrics', {
      registry,
      async timeForward<T>(shape: readonly number[], compute: () => Promise<T>, model?: { readonly name: string; readonly version: string }): Promise<T> {
        const stop = computeSeconds.startTimer();
        const stopModel = model ? modelComputeSeconds.startTimer({ model: model.name, version: model.version }) : null;
        let outcome = 'ok';
        try {
          return await compute();
        } catch (error) {
          outcome = error instanceof ProblemError ? error.kind : 'error';
          throw error;
        } finally {
          stop();
          batchSize.observe(shape[0]);
          timeSteps.observe(shape[1]);
          if (model && stopModel) {
            stopModel();
            modelInferences.inc({ model: model.name, version: model.version, outcome });
          }
        }
      },
    });

    app.addHook('onRequest', async (request, reply) => {
      inFlight.inc();
      inFlightRequests.add(request);
      // 'close' comes for every response, also when the client went away before it was sent.
      reply.raw.once('close', () => {
        if (inFlightRequests.delete(request)) inFlight.dec();
      });
    });
    app.addHook('onResponse', async (request, reply) => {
      const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: reply.statusCode };
      requests.inc(labels);
      latency.observe(labels, reply.elapsedTime / 1000);
      const kind = request.problem?.kind;
      if (kind === 'overloaded' || kind === 'rate-limited') shed.inc({ reason: kind });
    });
  },
  { name: 'metrics', dependencies: ['problems'] },
);
