/**
 * Prometheus metrics in a registry of this app's own (several apps in one process do not clash): requests
 * by route template, method and status; request latency; requests in flight; requests shed; the engine's
 * compute time and the batch sizes and time steps it sees; and prom-client's process metrics (event loop
 * lag, heap, RSS, CPU). Labels use the route template, never the raw URL, so their number stays bounded.
 * What is recorded on every request goes to series of our own (metric-series.ts), which prom-client reads
 * at scrape time: its own `inc`/`observe` hash their labels on every call, which cost more than all the rest.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesSet, registerCounter, registerHistogram } from '../metric-series.js';
import { type CoreObserver, REFUSALS, type Refusal } from '../../core/observer.js';

/** The route label of a request no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * prom-client's default collectors expose, beside the per-type gauges `nodejs_active_handles{type}`,
 * `nodejs_active_requests{type}` and `nodejs_active_resources{type}`, their totals as gauges named like counters
 * (`…_total`), which `promtool check metrics` rejects and `rate()` would misread. A total is the sum of its per-type
 * gauge, so they are left out: `sum(nodejs_active_handles)` gives it (`or vector(0)` where none is active).
 */
export const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const POWERS_OF_TWO = (max: number) => Array.from({ length: Math.log2(max) + 1 }, (_, i) => 2 ** i);

export interface Metrics {
  readonly registry: Registry;
  /** What the serving core reports (src/core/observer.ts): passes, batches, queue waits, refusals, per-model outcomes. */
  readonly core: CoreObserver;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

/** A histogram without labels: its one series. */
function unlabelled(registry: Registry, name: string, help: string, buckets: readonly number[]) {
  const set = new SeriesSet([], buckets);
  registerHistogram(registry, name, help, set);
  return set.at();
}

export default fp(
  async function metrics(app: FastifyInstance) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
    // One series per label set serves both: a request's count is its latency histogram's count.
    const requests = new SeriesSet(['method', 'route', 'status_code'], LATENCY_BUCKETS);
    registerCounter(registry, 'http_requests_total', 'HTTP requests answered', requests);
    registerHistogram(
      registry,
      'http_request_duration_seconds',
      'Time from receiving a request to sending its answer',
      requests,
    );
    // Counted here and read at scrape time (prom-client's inc/dec on every request cost more).
    let inFlight = 0;
    new Gauge({
      name: 'http_requests_in_flight',
      help: 'Requests received and not yet answered',
      registers: [registry],
      collect() {
        this.set(inFlight);
      },
    });
    const shed = new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests refused to protect latency (overloaded: 503, rate-limited: 429)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const computeSeconds = unlabelled(
      registry,
      'rnn_forward_compute_seconds',
      'Time of one forward pass: the engine and writing its JSON answer, inline or on a worker (not parsing or validation)',
      LATENCY_BUCKETS,
    );
    const batchSize = unlabelled(
      registry,
      'rnn_forward_batch_size',
      'Sequences per forward request',
      POWERS_OF_TWO(1024),
    );
    const timeSteps = unlabelled(
      registry,
      'rnn_forward_time_steps',
      'Time steps per forward request',
      POWERS_OF_TWO(16384),
    );
    const answersPerTurn = unlabelled(
      registry,
      'rnn_forward_answers_per_turn',
      'Forward answers computed back to back at the end of one event-loop turn (more than 1 under concurrent load)',
      POWERS_OF_TWO(1024),
    );

    const modelInferences = new SeriesSet(['model', 'version', 'protocol', 'outcome']);
    registerCounter(
      registry,
      'rnn_model_inferences_total',
      'Forward passes of served models (POST /models/..., /v2/.../infer, gRPC ModelInfer and ModelStreamInfer), by model, version, protocol (http, grpc) and outcome (ok, or the kind of problem)',
      modelInferences,
    );
    const modelComputeSeconds = new SeriesSet(['model', 'version'], LATENCY_BUCKETS);
    registerHistogram(
      registry,
      'rnn_model_compute_seconds',
      'Time of one forward pass of a served model, by model and version',
      modelComputeSeconds,
    );

    const batchRequests = unlabelled(
      registry,
      'rnn_batch_requests',
      'Requests merged into one pass of a served model (dynamic batching; a pass of one request is not counted)',
      POWERS_OF_TWO(1024),
    );
    const batchRows = unlabelled(
      registry,
      'rnn_batch_rows',
      'Sequences (batch rows) of one merged pass of a served model',
      POWERS_OF_TWO(1024),
    );
    const queueSeconds = unlabelled(
      registry,
      'rnn_queue_wait_seconds',
      'Time a request waited in the queue for a worker, from its arrival to the start of its pass',
      LATENCY_BUCKETS,
    );
    const refusals = new SeriesSet(['reason']);
    registerCounter(
      registry,
      'rnn_queue_refused_total',
      'Requests refused without computing: queue-full (POOL_MAX_QUEUE), deadline (their turn would come after their queue deadline), queue-timeout (their deadline passed while they waited)',
      refusals,
    );
    // Every reason from the start, at 0: a rate over a series that appears only with its first refusal misses it.
    for (const reason of REFUSALS) refusals.at(reason);
    const core: CoreObserver = {
      pass(shape, seconds) {
        computeSeconds.observe(seconds);
        batchSize.observe(shape[0]);
        if (shape.length > 1) timeSteps.observe(shape[1]);
      },
      inference(model, outcome, seconds, protocol) {
        modelInferences.at(model.name, model.version, protocol, outcome).inc();
        if (outcome === 'ok') modelComputeSeconds.at(model.name, model.version).observe(seconds);
      },
      batch(requests, rows) {
        batchRequests.observe(requests);
        batchRows.observe(rows);
      },
      waited: (seconds) => queueSeconds.observe(seconds),
      refused: (reason: Refusal) => refusals.at(reason).inc(),
      turn: (answers) => answersPerTurn.observe(answers),
    };
    app.decorate('metrics', { registry, core });

    // 'close' comes once for every response (Node guards it), also when the client went away before the
    // answer was sent: one shared listener keeps the gauge exact with no per-request bookkeeping.
    const answered = () => {
      inFlight -= 1;
    };
    app.addHook('onRequest', (_request, reply, done) => {
      inFlight += 1;
      reply.raw.on('close', answered);
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      requests
        .at(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode)
        .observe(reply.elapsedTime / 1000);
      const kind = request.problem?.kind;
      if (kind === 'overloaded' || kind === 'rate-limited') shed.inc({ reason: kind });
      done();
    });
  },
  { name: 'metrics', dependencies: ['problems'] },
);
