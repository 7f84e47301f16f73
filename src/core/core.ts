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
import type { InferenceRequest, SequenceControl } from '../inference/request.js';
import { carriedSlots, planLayers } from '../inference/layer-plan.js';
import type { ModelMetadata } from '../inference/metadata.js';
import { unparsedBodyMemoryBytes, weightsMemoryBytes } from '../inference/memory-estimate.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { describeCost, resolveWeightsRequest, weightCount } from '../inference/weights-export.js';
import { layerMetadata } from '../models/layer-metadata.js';
import { onnxCarry, planOnnx } from '../models/onnx/backend.js';
import { onnxMetadata } from '../models/onnx/metadata.js';
import { type ModelRepository, type ModelState, type ServedModel, servedLayers } from '../models/repository.js';
import { checkRequestBatch, checkRequestShapes } from '../models/model-config/model-fit.js';
import type { AnswerEncoding, AnswerOf, EncodedAnswer } from '../protocols/encoding.js';
import type { JsonAnswer } from '../codec/json-stream.js';
import type { WorkerPool } from '../runtime/pool.js';
import { type MemoryBudget, UNRESERVED } from '../runtime/memory-budget.js';
import type { JobEnvironment } from '../runtime/jobs.js';
import { type CoreObserver, SILENT } from './observer.js';
import { type Entry, Scheduler } from './scheduler.js';
import { answerSafely, failSafely } from './sink.js';
import { modelSchedule, queuePlace } from './model-schedule.js';
import { type SequenceSteps, sourceDigest, weightsDigestOf } from './sequence-steps.js';
import type { Sink } from './sink.js';
import { type Batching, UNBATCHED, type Work, jsonForwardWork, layerWork, onnxWork, weightsWork } from './work.js';

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
  /** Where stateful sequences keep their state between chunks; without it, sequence requests are refused. */
  readonly sequences?: SequenceSteps;
  /** The workers' rate assumed until one is measured (scheduler.ts); for tests that control time. */
  readonly initialRate?: number;
}

/** A request received this turn, planned at its end. */
interface Arrival {
  readonly plan: () => Work;
  /** An inference request (the others are a body to parse on a worker, a weights export). */
  readonly request?: { readonly inference: InferenceRequest; readonly encoding: AnswerEncoding };
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
  /** How served models' passes merge (BATCH_MAX_ROWS, BATCH_MAX_DELAY_MS). */
  readonly #batching: Batching;

  constructor(options: CoreOptions) {
    this.#options = options;
    this.#batching = {
      maxRows: options.queue.maxBatchRows,
      maxDelayMs: options.queue.maxDelayMs,
      preferredRows: [],
    };
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
      plan: () => this.#plan(request, encoding, sink as Sink<EncodedAnswer>),
      request: { inference: request, encoding },
      encoding,
      sink: sink as Sink<EncodedAnswer>,
      arrived: arrivalOf(sink),
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
      arrived: arrivalOf(sink),
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
      arrived: arrivalOf(sink),
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

  /**
   * The served models: each name with its versions READY to serve, oldest first, and the state of every version the
   * repository knows of it.
   */
  models(): {
    readonly name: string;
    readonly versions: readonly string[];
    readonly states: readonly { readonly version: string; readonly state: ModelState; readonly reason: string }[];
  }[] {
    const { repository } = this.#options;
    return repository.names().map((name) => ({
      name,
      versions: repository.versions(name).map((v) => v.version),
      states: repository
        .entries(name)
        .flatMap(({ version, state, reason }) => (version === undefined ? [] : [{ version, state, reason }])),
    }));
  }

  /** The request's model and its backend's plan: the one place that tells the kinds of model apart. */
  #plan(request: InferenceRequest, encoding: AnswerEncoding, sink: Sink<EncodedAnswer>): Work {
    const { limits, cache } = this.#options;
    const target = request.model;
    if (target.kind === 'described') {
      const plan = planLayers(request, limits, cache, null, target.description);
      return layerWork(plan, encoding, UNBATCHED);
    }
    const served = this.#hold(target.name, target.version, sink);
    // The model's configuration (config.pbtxt) holds requests to its max_batch_size and input dims.
    checkRequestShapes(served.config, request.inputs);
    const batchAt = request.inputs[0]?.at.tensor ?? 'inputs';
    const schedule = modelSchedule(served, this.#batching);
    if (served.kind === 'onnx') {
      const onnx = planOnnx(served, request, limits);
      checkRequestBatch(served.config, onnx.shape[0], batchAt);
      return onnxWork(onnx, served, encoding, schedule.queue);
    }
    const plan = planLayers(request, limits, cache, servedLayers(served), null);
    checkRequestBatch(served.config, plan.shape[0], batchAt);
    return layerWork(plan, encoding, schedule.batching, schedule.queue);
  }

  /**
   * The served model of a request, held until its exchange is over (answered, failed, or its client gone): a
   * version replaced or removed meanwhile finishes the requests it started, and is freed after the last.
   */
  #hold(name: string, version: string | undefined, sink: Sink<EncodedAnswer>): ServedModel {
    const lease = this.#options.repository.acquire(name, version);
    sink.onClose(lease.release);
    return lease.served;
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
      const trace = arrival.sink.trace;
      const start = trace ? performance.now() : 0;
      try {
        const sequence = arrival.request?.inference.sequence ?? null;
        if (sequence !== null) void this.#sequenceEntry(arrival, sequence).then((entry) => this.#chunkReady(entry));
        else {
          const entry = this.#entry(arrival, arrival.plan());
          trace?.planned(start, performance.now(), entry.work, entry.priority);
          entries.push(entry);
        }
      } catch (error) {
        trace?.planFailed(start, error);
        failSafely(arrival.sink, error);
      }
    }
    this.#scheduler.place(entries);
    this.#options.observer?.turn(arrivals.length);
  };

  /** Sequence chunks whose state is loaded, placed together at the end of the turn (they may merge into one pass). */
  #readyChunks: Entry[] = [];

  #chunkReady(entry: Entry | null): void {
    if (entry === null) return;
    this.#readyChunks.push(entry);
    if (this.#readyChunks.length === 1)
      setImmediate(() => {
        const ready = this.#readyChunks;
        this.#readyChunks = [];
        this.#scheduler.place(ready);
      });
  }

  /**
   * One chunk of a stateful sequence (sequence-steps.ts): planned with the state its previous chunk left, its final
   * state saved before its answer goes out. Null when it was refused (its sink has the problem).
   */
  async #sequenceEntry(arrival: Arrival, control: SequenceControl): Promise<Entry | null> {
    const { limits, cache, sequences } = this.#options;
    const { inference, encoding } = arrival.request as NonNullable<Arrival['request']>;
    const trace = arrival.sink.trace;
    // The plan is timed for the trace: a start's before the sequence begins, any other chunk's after its state loads.
    let planStart = 0;
    let planEnd = 0;
    try {
      const target = inference.model;
      if (sequences === undefined || target.kind !== 'served')
        invalidAt(control.at, 'names a sequence, but this server keeps no sequence state');
      const served = this.#hold(target.name, target.version, arrival.sink);
      // A chunk is held to the model's configured input dims as any request is (its one row is checked below).
      checkRequestShapes(served.config, inference.inputs);
      const schedule = modelSchedule(served, this.#batching);
      const named = `sequence ${typeof control.id === 'bigint' ? control.id : JSON.stringify(control.id)}`;
      let plan: (carried: readonly Float32Array[] | null) => Work;
      let digest: () => string;
      if (served.kind === 'onnx') {
        // The pairs the configuration declares (sequence_batching.state), else those the graph's names show.
        const declared = (served.config.sequenceBatching?.states ?? []).map((state) => ({
          input: state.inputName,
          output: state.outputName,
        }));
        const pairs = onnxCarry(served, control.at, declared);
        plan = (carried) =>
          onnxWork(
            planOnnx(served, inference, limits, { carried, named, pairs, at: control.at }),
            served,
            encoding,
            schedule.queue,
          );
        digest = () => sourceDigest(served.source.bytes);
      } else {
        const layers = servedLayers(served);
        carriedSlots(layers, control.at);
        plan = (carried) =>
          layerWork(
            planLayers(inference, limits, cache, layers, null, { carried, named }),
            encoding,
            schedule.sequences,
            schedule.queue,
          );
        digest = () => weightsDigestOf(served.model);
      }
      let started: Work | null = null;
      const model = { name: served.name, version: served.version, digest };
      const timedPlan = (carried: readonly Float32Array[] | null) => {
        if (trace) planStart = performance.now();
        const work = plan(carried);
        if (trace) planEnd = performance.now();
        return work;
      };
      const chunk = await sequences.chunk(
        control,
        model,
        () => {
          started = timedPlan(null);
        },
        trace,
      );
      try {
        const work = started ?? timedPlan(chunk.carried);
        const sink = arrival.sink;
        // A chunk refused or failed after it took its sequence's turn gives the turn back.
        const failing: Sink<EncodedAnswer> = {
          gone: () => sink.gone(),
          onClose: (release) => sink.onClose(release),
          answer: (answer) => sink.answer(answer),
          fail: (error) => {
            chunk.abandon();
            sink.fail(error);
          },
          trace,
        };
        const entry = this.#entry(arrival, work, failing, (outcome) =>
          chunk.commit(outcome.carried ?? []).then(
            () => answerSafely(sink, outcome.answer),
            (error: unknown) => failSafely(sink, error),
          ),
        );
        trace?.planned(planStart, planEnd, entry.work, entry.priority);
        return entry;
      } catch (error) {
        chunk.abandon();
        throw error;
      }
    } catch (error) {
      if (planStart !== 0 && planEnd === 0) trace?.planFailed(planStart, error);
      failSafely(arrival.sink, error);
      return null;
    }
  }

  /** `sink`: the arrival's, or a sequence chunk's wrapper of it; `onAnswer`: a sequence chunk's commit. */
  #entry(arrival: Arrival, work: Work, sink = arrival.sink, onAnswer?: Entry['onAnswer']): Entry {
    const { queue, budget } = this.#options;
    const place = queuePlace(queue, work.queue, arrival);
    const release = budget.reserve(work.bytes, "the request's estimated memory");
    if (release !== UNRESERVED) sink.onClose(release);
    // Every entry has the same properties (onAnswer undefined but for sequence chunks): one shape for the scheduler.
    return {
      work,
      encoding: arrival.encoding,
      sink,
      arrived: arrival.arrived,
      deadline: arrival.arrived + place.timeoutMs,
      timeoutMs: place.timeoutMs,
      timeoutFrom: place.timeoutFrom,
      priority: place.priority,
      bound: place.bound,
      onAnswer,
    };
  }

  /** Stops taking work: nothing is pending once the turn's requests are placed. */
  get pending(): number {
    return this.#turn.length + this.#scheduler.waiting;
  }
}

/** When a request reached the server: its frontend's word, else now. */
function arrivalOf(sink: { arrived?(): number }): number {
  return sink.arrived === undefined ? performance.now() : sink.arrived();
}
