/**
 * The serving core: every frontend (our routes, the inference protocol over HTTP and gRPC) hands it one inference
 * request (inference/request.ts) with the form its answer is to take and the sink it goes to. The core owns what
 * every request goes through, once:
 *   1. at the end of the turn that received it (requests arriving together are planned and run together): the
 *      model, from the repository or described by the request;
 *   2. the plan, by the model's backend (layer models: inference/layer-plan.ts; ONNX graphs: models/onnx/backend.ts),
 *      which checks the request against the model and the limits and knows its cost before any work scales with it;
 *   3. its share of the memory budget (MEMORY_BUDGET_BYTES), held until its answer is over;
 *   4. its schedule (scheduler.ts): computed at once on the event loop, merged with others, or queued for a worker
 *      by priority and deadline; the answer written where the pass ran, and handed to the sink.
 * The one branch on what kind of model a request is for is here (`#plan`).
 */
import type { Limits, PoolSettings, QueueSettings } from '../config/config.js';
import type { WeightsRequest } from '../../schemas/weights.js';
import { invalidAt } from '../errors/problem-error.js';
import type { InferenceRequest } from '../inference/request.js';
import { planLayers } from '../inference/layer-plan.js';
import type { ModelMetadata } from '../inference/metadata.js';
import { unparsedBodyMemoryBytes, weightsMemoryBytes } from '../inference/memory-estimate.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { describeCost, resolveWeightsRequest, weightCount } from '../inference/weights-export.js';
import { layerMetadata } from '../models/layer-metadata.js';
import { planOnnx } from '../models/onnx/backend.js';
import { onnxMetadata } from '../models/onnx/metadata.js';
import { type ModelRepository, type ServedModel, servedLayers } from '../models/repository.js';
import type { AnswerEncoding, AnswerOf, EncodedAnswer } from '../protocols/encoding.js';
import type { JsonAnswer } from '../codec/json-stream.js';
import type { WorkerPool } from '../runtime/pool.js';
import { type MemoryBudget, UNRESERVED } from '../runtime/memory-budget.js';
import type { JobEnvironment } from '../runtime/jobs.js';
import { type CoreObserver, SILENT } from './observer.js';
import { type Entry, Scheduler, failSafely } from './scheduler.js';
import type { Sink } from './sink.js';
import { type Work, jsonForwardWork, layerWork, onnxWork, weightsWork } from './work.js';

export interface CoreOptions {
  readonly repository: ModelRepository;
  readonly limits: Limits;
  readonly cache: SeededWeightsCache;
  readonly pool: WorkerPool;
  readonly poolSettings: PoolSettings;
  readonly queue: QueueSettings;
  readonly budget: MemoryBudget;
  readonly retryAfterSeconds: number;
  readonly observer?: CoreObserver;
  /** The workers' rate assumed until one is measured (scheduler.ts); for tests that control time. */
  readonly initialRate?: number;
}

/** A request received this turn, planned at its end. */
interface Arrival {
  readonly plan: () => Work;
  readonly encoding: AnswerEncoding;
  readonly sink: Sink<EncodedAnswer>;
  readonly arrived: number;
  readonly schedule: { readonly priority?: number; readonly timeoutMs?: number };
  readonly scheduleAt: { readonly priority: string; readonly timeoutMs: string };
}

/** A request body not parsed yet counts for the queue as this many multiply-adds per byte (a guess: ~1 ms per 10 KB). */
const UNPARSED_COST_PER_BYTE = 200;

export class InferenceCore {
  readonly #options: CoreOptions;
  readonly #scheduler: Scheduler;
  #turn: Arrival[] = [];
  #scheduled = false;

  constructor(options: CoreOptions) {
    this.#options = options;
    const env: JobEnvironment = {
      cache: options.cache,
      program: () => {
        throw new Error('an ONNX job on the event loop carries its program');
      },
    };
    this.#scheduler = new Scheduler({
      pool: options.pool,
      env,
      minCompute: options.poolSettings.minCompute,
      maxQueue: options.poolSettings.maxQueue,
      queue: options.queue,
      retryAfterSeconds: options.retryAfterSeconds,
      observer: options.observer ?? SILENT,
      ...(options.initialRate === undefined ? {} : { initialRate: options.initialRate }),
    });
  }

  /** Requests waiting for a worker, and their multiply-adds. */
  get waiting(): number {
    return this.#scheduler.waiting;
  }
  get waitingCost(): number {
    return this.#scheduler.waitingCost;
  }

  /** One inference; its answer (in `encoding`'s form) or its problem goes to `sink`. */
  infer<E extends AnswerEncoding>(request: InferenceRequest, encoding: E, sink: Sink<AnswerOf<E>>): void {
    this.#arrive({
      plan: () => this.#plan(request, encoding),
      encoding,
      sink: sink as Sink<EncodedAnswer>,
      arrived: performance.now(),
      schedule: request.options,
      scheduleAt: request.optionsAt,
    });
  }

  /**
   * A POST /rnn/forward body left as bytes (large bodies are parsed, validated, planned and answered on a worker);
   * its schedule is the default one (its fields are read there).
   */
  inferJson(bytes: Uint8Array, sink: Sink<JsonAnswer>): void {
    const { limits } = this.#options;
    this.#arrive({
      plan: () =>
        jsonForwardWork(
          bytes,
          limits,
          Math.min(limits.maxCompute, bytes.length * UNPARSED_COST_PER_BYTE),
          unparsedBodyMemoryBytes(bytes.length, limits.maxOutputValues),
        ),
      encoding: { kind: 'result' },
      sink: sink as Sink<EncodedAnswer>,
      arrived: performance.now(),
      schedule: {},
      scheduleAt: { priority: 'priority', timeoutMs: 'timeoutMs' },
    });
  }

  /** POST /rnn/weights: a model's weights in every layout (validated here, written where the core runs it). */
  exportWeights(request: WeightsRequest, sink: Sink<JsonAnswer>): void {
    const { limits, cache } = this.#options;
    const model = resolveWeightsRequest(request, limits, cache);
    this.#arrive({
      plan: () => weightsWork(request, limits, describeCost(model), weightsMemoryBytes(model, weightCount(model))),
      encoding: { kind: 'result' },
      sink: sink as Sink<EncodedAnswer>,
      arrived: performance.now(),
      schedule: {},
      scheduleAt: { priority: 'priority', timeoutMs: 'timeoutMs' },
    });
  }

  /** A served model's metadata (404 naming what exists for an unknown model or version), and its versions. */
  metadata(name: string, version?: string): ModelMetadata & { readonly versions: readonly string[] } {
    const served = this.#options.repository.get(name, version);
    const versions = this.#options.repository.versions(name).map((v) => v.version);
    return { ...(served.kind === 'onnx' ? onnxMetadata(served) : layerMetadata(served)), versions };
  }

  /** The served models: each name with its versions, oldest first. */
  models(): { readonly name: string; readonly versions: readonly string[] }[] {
    const { repository } = this.#options;
    return repository.names().map((name) => ({ name, versions: repository.versions(name).map((v) => v.version) }));
  }

  /** The request's model and its backend's plan: the one place that tells the kinds of model apart. */
  #plan(request: InferenceRequest, encoding: AnswerEncoding): Work {
    const { limits, cache, repository, queue } = this.#options;
    const target = request.model;
    if (target.kind === 'described') {
      const plan = planLayers(request, limits, cache, null, target.description);
      return layerWork(plan, encoding, 1);
    }
    const served: ServedModel = repository.get(target.name, target.version);
    if (served.kind === 'onnx') {
      return onnxWork(planOnnx(served, request, limits), served, encoding);
    }
    const plan = planLayers(request, limits, cache, servedLayers(served), null);
    return layerWork(plan, encoding, queue.maxBatchRows);
  }

  #arrive(arrival: Arrival): void {
    this.#turn.push(arrival);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** The turn's requests: planned, admitted against the memory budget, scheduled. */
  readonly #flush = (): void => {
    const arrivals = this.#turn;
    this.#turn = [];
    this.#scheduled = false;
    const entries: Entry[] = [];
    for (const arrival of arrivals) {
      try {
        entries.push(this.#entry(arrival));
      } catch (error) {
        failSafely(arrival.sink, error);
      }
    }
    this.#scheduler.place(entries);
    this.#options.observer?.turn(arrivals.length);
  };

  #entry(arrival: Arrival): Entry {
    const { queue, budget } = this.#options;
    const { schedule, scheduleAt } = arrival;
    const priority =
      schedule.priority === undefined || schedule.priority === 0 ? queue.defaultPriority : schedule.priority;
    if (priority > queue.priorityLevels)
      invalidAt(
        scheduleAt.priority,
        `is ${priority}; the priority levels are 1 (first) to ${queue.priorityLevels} (QUEUE_PRIORITY_LEVELS), 0 for the default (${queue.defaultPriority})`,
      );
    const work = arrival.plan();
    const release = budget.reserve(work.bytes, "the request's estimated memory");
    if (release !== UNRESERVED) arrival.sink.onClose(release);
    const timeoutMs = schedule.timeoutMs ?? queue.timeoutMs;
    return {
      work,
      encoding: arrival.encoding,
      sink: arrival.sink,
      arrived: arrival.arrived,
      deadline: arrival.arrived + timeoutMs,
      timeoutMs,
      timeoutFrom: schedule.timeoutMs === undefined ? 'QUEUE_TIMEOUT_MS' : scheduleAt.timeoutMs,
      priority,
    };
  }

  /** Stops taking work: nothing is pending once the turn's requests are placed. */
  get pending(): number {
    return this.#turn.length + this.#scheduler.waiting;
  }
}
