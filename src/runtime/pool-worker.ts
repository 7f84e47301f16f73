/**
 * The worker side of the pool: runs one job (jobs.ts: a layer pass with its answers, an ONNX graph's run, a POST
 * /rnn/forward body, a /rnn/weights export) off the event loop and hands back its outcomes, their typed arrays
 * transferred, not copied. Seeded weights are rebuilt from the seed here, with a cache of the worker's own, so they
 * never cross threads. An ONNX graph's program is decoded here from its model.onnx bytes (shared with the event
 * loop, not copied), once per source and worker, and kept for the next job.
 */
import { Piscina } from 'piscina';
import { SeededWeightsCache } from '../inference/weights-cache.js';
import { type OnnxProgram, type OnnxSource, loadOnnxProgram } from '../models/onnx/program.js';
import { type Job, runJob } from './jobs.js';
import { owned } from './transferables.js';
import { lowerThreadPriority } from './thread-priority.js';

const cache = new SeededWeightsCache(16);

/** ONNX programs this worker keeps decoded; a repository serving more graphs decodes the least used again. */
const PROGRAMS_KEPT = 8;

interface Decoded {
  readonly program: OnnxProgram;
  /** Buffers the program holds (initializers, Constant values): an answer over one is copied, never moved. */
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

lowerThreadPriority((Piscina.workerData as { nice?: number } | undefined)?.nice ?? 0);

export default function runTask(job: Job): unknown {
  const held = job.kind === 'onnx' ? decoded(job.source).held : undefined;
  const result = runJob(job, { cache, program: (source) => decoded(source).program });
  const { value, buffers } = owned(result, held);
  const movable = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value };
  return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
}
