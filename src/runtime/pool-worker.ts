/**
 * The worker side of the compute pool: runs one forward plan (compute and JSON writing, the two costly
 * parts), answers one POST /rnn/forward body received as bytes (parsing and validation too), or answers one
 * /rnn/weights request, off the event loop, and hands back the answer; bytes are transferred, not copied. A
 * large answer comes back as its tensors, transferred, for the event loop to stream (see pool.ts).
 * Seeded weights are rebuilt from the seed here, with a cache of the worker's own, so they never cross threads.
 * An ONNX graph's program is decoded here from its model.onnx bytes (shared with the event loop, not copied), once
 * per source and worker, and kept for the next task.
 */
import { Piscina } from 'piscina';
import { forwardBody, type ForwardPlan } from '../inference/forward-pass.js';
import { forwardFromJson } from '../inference/forward-from-json.js';
import { ProblemError } from '../errors/problem-error.js';
import { SeededWeightsCache } from '../inference/weights-cache.js';
import type { ForwardTask, ForwardTaskResult, JsonForwardTask, OnnxTask, WeightsTask } from './pool.js';
import { type OnnxProgram, type OnnxSource, loadOnnxProgram, planProgram } from '../models/onnx/program.js';
import { type AnsweredTensor, runOnnxGraph } from '../models/onnx/protocol.js';
import { resolveWeightsRequest, weightsAnswer } from '../inference/weights-export.js';
import { isStreamed, ownBuffers, tensorBuffers } from '../codec/json-stream.js';
import { lowerThreadPriority } from './thread-priority.js';

const cache = new SeededWeightsCache(16);

/** ONNX programs this worker keeps decoded; a repository serving more graphs decodes the least used again. */
const PROGRAMS_KEPT = 8;

interface Decoded {
  readonly program: OnnxProgram;
  /** Buffers the program holds (initializers, Constant values): an output over one is copied, never moved. */
  readonly held: ReadonlySet<ArrayBufferLike>;
}

/** Decoded programs by source id, least recently used first. */
const programs = new Map<number, Decoded>();

/** The typed arrays' buffers reachable from `value` (a program: its graph and its nodes' settings). */
function heldBuffers(
  value: unknown,
  found = new Set<ArrayBufferLike>(),
  seen = new Set<object>(),
): Set<ArrayBufferLike> {
  if (typeof value !== 'object' || value === null || seen.has(value)) return found;
  seen.add(value);
  if (ArrayBuffer.isView(value)) found.add(value.buffer);
  else if (value instanceof Map) for (const entry of value.values()) heldBuffers(entry, found, seen);
  else for (const entry of Object.values(value)) heldBuffers(entry, found, seen);
  return found;
}

function decoded(source: OnnxSource): Decoded {
  let entry = programs.get(source.id);
  if (entry === undefined) {
    const program = loadOnnxProgram(source.bytes);
    entry = { program, held: heldBuffers(program) };
    if (programs.size >= PROGRAMS_KEPT) programs.delete(programs.keys().next().value as number);
  } else programs.delete(source.id);
  programs.set(source.id, entry);
  return entry;
}

/**
 * Plans the graph again from the inputs' shapes (cheap; the event loop checked this same plan against the limits)
 * and runs it. The outputs are moved back, but for one over a buffer the program holds, or part of a larger one.
 */
function runOnnx(task: OnnxTask): unknown {
  const { program, held } = decoded(task.source);
  const metas = new Map([...task.run.inputs].map(([name, { type, shape }]) => [name, { type, shape }]));
  const outputs = runOnnxGraph(program, planProgram(program, metas), task.run);
  const buffers = new Set<ArrayBuffer>();
  const answer = new Map<string, AnsweredTensor>();
  for (const [name, { shape, data }] of outputs) {
    const { buffer } = data;
    const free = buffer instanceof ArrayBuffer && data.byteLength === buffer.byteLength && !held.has(buffer);
    const own = free ? data : data.slice();
    buffers.add(own.buffer as ArrayBuffer);
    answer.set(name, { shape, data: own });
  }
  return movable(answer, [...buffers]);
}

lowerThreadPriority((Piscina.workerData as { nice?: number } | undefined)?.nice ?? 0);

function answer(task: ForwardTask | JsonForwardTask | WeightsTask): ForwardTaskResult {
  if (task.kind === 'weights') return weightsAnswer(resolveWeightsRequest(task.request, task.limits, cache));
  if (task.kind === 'forward-json') return forwardFromJson(task.bytes, task.limits, cache);
  const { model } = task.plan;
  const plan: ForwardPlan = {
    ...task.plan,
    model: {
      ...model,
      buildCost: 0,
      weights: model.weights ?? cache.get(model.seed as number, model.spec, model.inputDim),
    },
  };
  return forwardBody(plan);
}

/** A movable object of our own: `value` is cloned, except these buffers, which are transferred. */
function movable(value: unknown, buffers: ArrayBufferLike | ArrayBufferLike[]): unknown {
  const object = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value };
  return Piscina.move(object as unknown as Parameters<typeof Piscina.move>[0]);
}

/**
 * Bytes are moved (their buffer is transferred), not copied; text (a small answer) is cloned; an answer to
 * stream (its parts) is cloned but for its tensors, which are transferred.
 */
function moved(result: ForwardTaskResult): unknown {
  if (typeof result === 'string' || 'problem' in result) return result;
  if (result instanceof Uint8Array) return Piscina.move(result);
  if ('streamed' in result) {
    const answer = ownBuffers(result);
    return movable(answer, tensorBuffers(answer));
  }
  if (result.body instanceof Uint8Array) return movable(result, result.body.buffer);
  if (isStreamed(result.body)) {
    const body = ownBuffers(result.body);
    return movable({ ...result, body }, tensorBuffers(body));
  }
  return result;
}

export default function runTask(task: ForwardTask | JsonForwardTask | WeightsTask | OnnxTask): unknown {
  try {
    return task.kind === 'onnx' ? runOnnx(task) : moved(answer(task));
  } catch (error) {
    if (error instanceof ProblemError)
      return {
        problem: { kind: error.kind, detail: error.message, errors: [...error.errors], errorCount: error.errorCount },
      };
    throw error;
  }
}
