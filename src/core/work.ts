/**
 * A planned request as the scheduler handles it: what it costs (multiply-adds: where it runs, how long others wait
 * behind it), what it may be merged with, and the job that computes it (runtime/jobs.ts), alone or merged with
 * others. One kind of work per backend plan; nothing past here looks at which backend made it.
 */
import type { Limits } from '../config/config.js';
import type { WeightsRequest } from '../../schemas/weights.js';
import type { LayerPlan } from '../inference/layer-plan.js';
import { layerFacts } from '../inference/layer-run.js';
import { planMemoryBytes } from '../inference/memory-estimate.js';
import { batchKey, mergeLayerPlans } from '../inference/layer-batch.js';
import type { OnnxPlan } from '../models/onnx/backend.js';
import type { OnnxProgram, OnnxSource } from '../models/onnx/program.js';
import type { AnswerEncoding } from '../protocols/encoding.js';
import type { Job, LayerTaskPlan } from '../runtime/jobs.js';
import { type Batching, UNBATCHED } from './batching.js';
import type { ModelQueue } from './model-schedule.js';
import type { ServedName } from './observer.js';

export { type Batching, UNBATCHED };

export interface Work {
  /** Multiply-adds (MAX_COMPUTE's measure); an estimate for a body not parsed yet. */
  readonly cost: number;
  /** The memory it holds while in flight, estimated from its shapes (inference/memory-estimate.ts). */
  readonly bytes: number;
  /** [batch, time, ...] for the metrics; null until known (a body parsed on a worker). */
  readonly shape: readonly number[] | null;
  /** The served model and version; null for a model the request described (and for weights). */
  readonly model: ServedName | null;
  /** Sequences (batch rows). */
  readonly rows: number;
  /** Passes with an equal key may be merged into one (layer-batch.ts); null: never merged. */
  readonly key: string | null;
  /** How its model's passes are merged. */
  readonly batching: Batching;
  /** Its model's own queue rules (config.pbtxt); null: the server's. */
  readonly queue: ModelQueue | null;
  /** The layer plan, for merging; null for other work. */
  readonly layers: LayerPlan | null;
  /** The job that computes it alone; `inline`: it runs here, with what the event loop already holds. */
  job(inline: boolean): Job;
}

/** A layer plan as it crosses to a worker: listed field by field (spreading the model would run its lazy `weights` getter). */
function taskPlan(plan: LayerPlan): LayerTaskPlan {
  const { spec, inputDim, seed, buildCost, maskValue, embedding, head, lastStep } = plan.model;
  const model = {
    spec,
    inputDim,
    seed,
    buildCost,
    maskValue,
    embedding,
    head,
    lastStep,
    // Seeded weights are built again on the worker, from its own cache, rather than copied.
    weights: seed === null ? plan.model.weights : null,
  };
  return { ...plan, model };
}

export function layerWork(
  plan: LayerPlan,
  encoding: AnswerEncoding,
  batching: Batching,
  queue: ModelQueue | null = null,
): Work {
  const facts = layerFacts(plan);
  return {
    cost: plan.cost,
    bytes: planMemoryBytes(plan),
    shape: plan.shape,
    model: plan.servedAs,
    rows: plan.shape[0],
    key: batching.maxRows > 1 ? batchKey(plan) : null,
    batching,
    queue,
    layers: plan,
    job: (inline) => ({
      kind: 'layers',
      plan: inline ? plan : taskPlan(plan),
      members: [{ rows: null, carry: plan.carry, facts, encoding }],
    }),
  };
}

/** Layer works of one batch key as one pass: its job, with each request's rows, facts and answer form. */
export function mergedJob(works: readonly Work[], encodings: readonly AnswerEncoding[], inline: boolean): Job {
  const plans = works.map((w) => w.layers as LayerPlan);
  const merged = mergeLayerPlans(plans);
  return {
    kind: 'layers',
    plan: inline ? merged : taskPlan(merged),
    members: plans.map((plan, i) => ({
      rows: { rows: plan.shape[0], time: plan.shape[1] },
      carry: plan.carry,
      facts: layerFacts(plan),
      encoding: encodings[i],
    })),
  };
}

export function onnxWork(
  plan: OnnxPlan,
  model: ServedName & { readonly program: OnnxProgram; readonly source: OnnxSource },
  encoding: AnswerEncoding,
  queue: ModelQueue | null = null,
): Work {
  return {
    cost: plan.plan.compute,
    bytes: plan.bytes,
    shape: plan.shape,
    model: { name: model.name, version: model.version },
    rows: plan.shape[0],
    key: null,
    batching: UNBATCHED,
    queue,
    layers: null,
    job: (inline) => ({
      kind: 'onnx',
      source: model.source,
      run: plan.runInputs(),
      encoding,
      ...(inline ? { local: { program: model.program, plan: plan.plan } } : {}),
    }),
  };
}

/** Work that runs alone, its job known in advance: a body not parsed yet, a weights export. */
function alone(cost: number, bytes: number, job: Job): Work {
  return {
    cost,
    bytes,
    shape: null,
    model: null,
    rows: 1,
    key: null,
    batching: UNBATCHED,
    queue: null,
    layers: null,
    job: () => job,
  };
}

/**
 * A POST /rnn/forward body left unparsed (large bodies are parsed on a worker). Its cost is not known before it is
 * parsed; for the queue it counts as `estimate` multiply-adds, and its limits are checked where it is parsed.
 */
export function jsonForwardWork(bytes: Uint8Array, limits: Limits, estimate: number, memory: number): Work {
  return alone(estimate, memory, { kind: 'forward-json', bytes, limits });
}

export function weightsWork(request: WeightsRequest, limits: Limits, cost: number, memory: number): Work {
  return alone(cost, memory, { kind: 'weights', request, limits });
}
