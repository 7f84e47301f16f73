/**
 * Where a forward pass runs: small requests inline (a worker round trip costs more than they do), large
 * ones on a piscina worker pool so the event loop keeps answering small requests and health probes.
 * The split is a compute cost threshold (multiply-adds, as MAX_COMPUTE counts them), measured in
 * bench/pool-threshold.ts. Large POST /rnn/forward bodies go to a worker unparsed (parsing them is costly too).
 * Typed arrays go to the worker and the response bytes come back by transfer.
 *
 * A large answer (codec/json-stream.ts) is not written on the worker: the worker hands back the result's
 * tensors (transferred, not copied) and the event loop writes their JSON in chunks as the socket takes them.
 * The alternative, chunks written on the worker and sent back through a MessagePort as the socket drains,
 * keeps the writing off the event loop but needs a port, a protocol and a worker held per answer for as long
 * as its client reads. Writing on the event loop costs ~12 ms per MB of JSON (the chunked writer writes
 * ~85 MB/s on the 2-core test machine), in slices of one 64 KiB chunk (~0.75 ms each) between which other
 * requests are answered; only answers from STREAM_MIN_BYTES (1 MiB) of expected JSON take this path.
 *
 * A served ONNX graph is planned and checked on the event loop (models/onnx/protocol.ts) and runs by the same
 * threshold, on its plan's multiply-adds. A task names the program by its source (the model.onnx bytes in a
 * SharedArrayBuffer, shared, not copied), which a worker decodes once and keeps (pool-worker.ts); the graph's inputs
 * go by transfer and its outputs come back so, for the route to write the answer.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Piscina } from 'piscina';
import type { ProblemDetail } from '../../schemas/problem.js';
import { computeCost } from '../engine/index.js';
import type { WeightsRequest } from '../../schemas/weights.js';
import type { Limits, PoolSettings } from '../config/config.js';
import { type ForwardPlan, forwardBody } from '../inference/forward-pass.js';
import { type JsonForwardResult, forwardFromJson } from '../inference/forward-from-json.js';
import type { JsonAnswer } from '../codec/json-stream.js';
import type { ResolvedModel } from '../inference/model.js';
import { ProblemError, type ProblemKind } from '../errors/problem-error.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import type { AnsweredTensor, OnnxInference, OnnxRunInputs } from '../models/onnx/protocol.js';
import type { OnnxSource } from '../models/onnx/program.js';

export interface PoolOptions extends PoolSettings {
  /** Called when a worker fails outside a task (it is replaced). */
  readonly onError?: (error: unknown) => void;
}

/**
 * An inline pass of at least this many multiply-adds (≳ 0.4 ms) first yields to the event loop once, so that
 * requests already received are read (and counted by the admission bound) before it holds the loop; smaller
 * ones run at once (a turn of the event loop costs more than they do).
 */
const YIELD_MIN_COMPUTE = 250_000;

/** What crosses to a worker: a forward plan with seeded weights left out (the worker rebuilds them) … */
export interface ForwardTask {
  readonly kind: 'forward';
  readonly plan: Omit<ForwardPlan, 'model'> & {
    readonly model: Omit<ResolvedModel, 'weights'> & { readonly weights: ResolvedModel['weights'] | null };
  };
}

/** … or a POST /rnn/forward body as received, parsed, validated and answered on the worker … */
export interface JsonForwardTask {
  readonly kind: 'forward-json';
  readonly bytes: Uint8Array;
  readonly limits: Limits;
}

/** … or a POST /rnn/weights request, answered whole on the worker. */
export interface WeightsTask {
  readonly kind: 'weights';
  readonly request: WeightsRequest;
  readonly limits: Limits;
}

/** … or the run of an ONNX graph: its program by source (decoded once per worker) and the run's inputs. */
export interface OnnxTask {
  readonly kind: 'onnx';
  readonly source: OnnxSource;
  readonly run: OnnxRunInputs;
}

/** An ONNX graph's answered outputs, by name. */
export type OnnxOutputs = ReadonlyMap<string, AnsweredTensor>;

/** The response body, or the problem a worker found (ProblemError does not survive structured clone). */
export type ForwardTaskResult =
  | JsonAnswer
  | JsonForwardResult
  | {
      readonly problem: {
        readonly kind: ProblemKind;
        readonly detail: string;
        readonly errors: ProblemDetail[];
        /** How many errors were found; `errors` lists at most 20 of them. */
        readonly errorCount: number;
      };
    };

/**
 * The signal that the client of a request has gone (asked for only when its task goes to a worker, so small passes
 * make none). A task whose client has gone is dropped from the queue, or its worker is stopped and replaced: the
 * worker is free at once, whatever step of the pass or of building seeded weights it was at.
 */
export type Abandoned = () => AbortSignal;

export interface ForwardRunner {
  /**
   * The response body for a plan: at once when it runs inline without first yielding to the event loop
   * (a small pass: no promise, no turn of the loop), else a promise (inline after a yield, or on a worker).
   */
  run(plan: ForwardPlan, abandoned?: Abandoned): JsonAnswer | Promise<JsonAnswer>;
  /** The answer to a POST /rnn/forward body not parsed yet (see minBodyBytes): on a worker, or inline without one. */
  runJson(bytes: Uint8Array, limits: Limits, abandoned?: Abandoned): Promise<JsonForwardResult>;
  /** The body of a /rnn/weights answer costing `cost` multiply-adds: `inline()` here, or the task on a worker. */
  runWeights(task: WeightsTask, cost: number, inline: () => JsonAnswer, abandoned?: Abandoned): Promise<JsonAnswer>;
  /**
   * An ONNX inference's outputs: at once when it runs inline without first yielding (as `run`, by the plan's
   * multiply-adds), else a promise. On a worker, problems are put in the request's terms by `inference.inTerms`.
   */
  runOnnx(source: OnnxSource, inference: OnnxInference, abandoned?: Abandoned): OnnxOutputs | Promise<OnnxOutputs>;
  /** Tasks waiting for a worker. */
  readonly queueSize: number;
  /** Tasks stopped because their client had gone (dropped from the queue, or their worker replaced). */
  readonly abandonedTasks: number;
  readonly threads: number;
  close(): Promise<void>;
}

/** The buffer under `array` when the array spans all of it (so moving the buffer moves nothing else). */
function wholeBuffer(array: ArrayBufferView | null | undefined): ArrayBuffer | null {
  return array && array.buffer instanceof ArrayBuffer && array.byteLength === array.buffer.byteLength
    ? array.buffer
    : null;
}

function transferables(
  plan: Pick<ForwardPlan, 'inputs' | 'mask' | 'initialStates' | 'initialCellStates'>,
): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const array of [plan.inputs, plan.mask, ...(plan.initialStates ?? []), ...(plan.initialCellStates ?? [])]) {
    const buffer = wholeBuffer(array);
    if (buffer !== null) buffers.add(buffer);
  }
  return [...buffers];
}

type WorkerProblem = Extract<ForwardTaskResult, { problem: unknown }>;
const isProblem = (result: unknown): result is WorkerProblem =>
  typeof result === 'object' && result !== null && 'problem' in result;

/** Runs a plan on the event loop: at once, or after yielding once when it is large enough to hold the loop. */
function inline(plan: ForwardPlan, cost: number): JsonAnswer | Promise<JsonAnswer> {
  return cost < YIELD_MIN_COMPUTE ? forwardBody(plan) : yieldToEventLoop().then(() => forwardBody(plan));
}

/** An ONNX inference run on the event loop, by the rule of `inline`. */
function inlineOnnx(inference: OnnxInference, cost: number): OnnxOutputs | Promise<OnnxOutputs> {
  return cost < YIELD_MIN_COMPUTE ? inference.run() : yieldToEventLoop().then(() => inference.run());
}

/** The run's inputs with arrays of their own (a binary input is a view into the request body), and their buffers. */
function ownInputs(run: OnnxRunInputs): { run: OnnxRunInputs; buffers: ArrayBuffer[] } {
  const buffers = new Set<ArrayBuffer>();
  const inputs = new Map(
    [...run.inputs].map(([name, tensor]) => {
      const own = wholeBuffer(tensor.data) === null ? { ...tensor, data: tensor.data.slice() } : tensor;
      buffers.add(own.data.buffer as ArrayBuffer);
      return [name, own];
    }),
  );
  return { run: { ...run, inputs }, buffers: [...buffers] };
}

const costOf = (plan: ForwardPlan) => computeCost(plan.model.spec, plan.shape) + plan.model.buildCost;

export function createForwardRunner(settings: PoolOptions, cache: SeededWeightsCache): ForwardRunner {
  if (settings.threads === 0) {
    return {
      run: (plan) => inline(plan, costOf(plan)),
      runJson: async (bytes, limits) => forwardFromJson(bytes, limits, cache),
      runWeights: async (_task, _cost, inline) => inline(),
      runOnnx: (_source, inference) => inlineOnnx(inference, inference.plan.compute),
      queueSize: 0,
      abandonedTasks: 0,
      threads: 0,
      close: async () => {},
    };
  }
  const pool = new Piscina({
    // Running from source (tsx, tap) the worker is the .ts file, loaded by the same loader (workers inherit
    // execArgv); from dist/ it is the compiled .js.
    filename: new URL(`./pool-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href,
    minThreads: settings.threads,
    maxThreads: settings.threads,
    maxQueue: settings.maxQueue,
    idleTimeout: 60_000,
    workerData: { nice: settings.nice },
    // A worker whose heap outgrows the budget fails alone: its task is answered 503 and piscina replaces it.
    ...(settings.maxHeapMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: settings.maxHeapMb } } : {}),
  });
  // A worker that dies (out of memory, a bug) must not take the process down: piscina replaces it, the
  // request it ran gets a 503 (worker-failed), and the event is logged.
  pool.on('error', (error: unknown) => settings.onError?.(error));
  let abandonedTasks = 0;
  /**
   * Runs a task on a worker (refused at once when the queue is full), mapping a worker's problem back. `T`: what
   * pool-worker.ts answers to this kind of task (a JSON body; for 'forward-json' a JsonForwardResult; for 'onnx'
   * OnnxOutputs).
   */
  async function onWorker<T>(
    task: ForwardTask | JsonForwardTask | WeightsTask | OnnxTask,
    transferList: ArrayBuffer[],
    abandoned: Abandoned | undefined,
  ): Promise<T> {
    if (pool.queueSize >= settings.maxQueue) {
      throw new ProblemError(
        'overloaded',
        `the compute queue is full (${settings.maxQueue} waiting, POOL_MAX_QUEUE); retry shortly`,
        [],
        { 'retry-after': '1' },
      );
    }
    const signal = abandoned?.();
    let result: unknown;
    try {
      result = await pool.run(task, { transferList, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) {
        abandonedTasks += 1;
        throw new ProblemError('client-closed', 'the client went away; its task was stopped');
      }
      settings.onError?.(error);
      throw new ProblemError(
        'worker-failed',
        `the worker computing this request failed (${error instanceof Error ? error.message : String(error)}); it ` +
          'was replaced: retry',
        [],
        { 'retry-after': '1' },
      );
    }
    if (isProblem(result)) throw ProblemError.at(result.problem.kind, result.problem.errors, result.problem.errorCount);
    return result as T;
  }

  return {
    run(plan, abandoned) {
      const cost = costOf(plan);
      if (cost < settings.minCompute) return inline(plan, cost);
      // Listed field by field: spreading the model would run its lazy `weights` getter here.
      const { spec, inputDim, seed, buildCost, maskValue, embedding, head } = plan.model;
      const model = {
        spec,
        inputDim,
        seed,
        buildCost,
        maskValue,
        embedding,
        head,
        weights: seed === null ? plan.model.weights : null,
      };
      // Small inputs are views into a shared slab (engine/arrays.ts): a copy of their own is moved instead.
      const inputs = wholeBuffer(plan.inputs) === null ? plan.inputs.slice() : plan.inputs;
      const task = { ...plan, inputs, model };
      return onWorker<JsonAnswer>({ kind: 'forward', plan: task }, transferables(task), abandoned);
    },
    async runJson(bytes, limits, abandoned) {
      const buffer = wholeBuffer(bytes);
      const task: JsonForwardTask = { kind: 'forward-json', bytes, limits };
      return onWorker<JsonForwardResult>(task, buffer === null ? [] : [buffer], abandoned);
    },
    async runWeights(task, cost, inline, abandoned) {
      return cost < settings.minCompute ? inline() : onWorker<JsonAnswer>(task, [], abandoned);
    },
    runOnnx(source, inference, abandoned) {
      const cost = inference.plan.compute;
      if (cost < settings.minCompute) return inlineOnnx(inference, cost);
      const worked = async () => {
        try {
          const { run, buffers } = ownInputs(inference.runInputs());
          return await onWorker<OnnxOutputs>({ kind: 'onnx', source, run }, buffers, abandoned);
        } catch (error) {
          throw inference.inTerms(error);
        }
      };
      return worked();
    },
    get queueSize() {
      return pool.queueSize;
    },
    get abandonedTasks() {
      return abandonedTasks;
    },
    threads: settings.threads,
    // close, not destroy: tasks still running (their client may have gone) finish instead of failing with a
    // logged 500 "Terminating worker thread"; piscina's closeTimeout (30 s) bounds the wait.
    close: () => pool.close(),
  };
}
