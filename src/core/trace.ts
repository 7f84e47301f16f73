/**
 * What the core tells a request's trace as the request goes through it: its plan, its wait in the queue, the pass
 * that computed it (on the event loop or a worker, alone or merged with others), the steps of its sequence's state.
 * src/telemetry/ records these as OpenTelemetry spans under the request's own span; the core knows nothing of
 * OpenTelemetry, as it knows nothing of Prometheus (observer.ts).
 *
 * A frontend hands the trace over with the request's sink (`Sink.trace`). It is absent when tracing is off or the
 * request is not sampled, and every call the core makes is behind that one check: an untraced request costs a
 * property read, no clock reading, no object. Times are performance.now() values (the thread's monotonic clock, which
 * the spans convert): a pass on a worker is timed here, from the moment it is handed over to the moment its result
 * is back, so its span needs no clock of the worker's and no export from the worker thread.
 */
import { ProblemError } from '../errors/problem-error.js';
import type { JobResult } from '../runtime/jobs.js';
import type { Work } from './work.js';

/** What a plan says about a request, for its trace: the model, the input's shape, its rows, cost and memory. */
export type PlannedWork = Pick<Work, 'model' | 'shape' | 'rows' | 'cost' | 'bytes'>;

/** Where a pass ran. */
export type PassThread = 'event-loop' | 'worker';

/** One pass that computed a request, as its trace records it. */
export interface PassFacts {
  readonly thread: PassThread;
  /** Requests the pass served (more than 1: a merged pass, dynamic batching). */
  readonly requests: number;
  /** Sequences (batch rows) of the whole pass, and of this request. */
  readonly rows: number;
  readonly requestRows: number;
  /** [batch, time, ...] of the whole pass; null when unknown (a body that failed to parse on a worker). */
  readonly shape: readonly number[] | null;
  /** The engine and the writing of the answers, in seconds, as the job measured it where it ran; null: it failed. */
  readonly computeSeconds: number | null;
  /** In a merged pass, the first traced request it served: the others' pass spans link to its pass span. */
  readonly lead: RequestTrace | null;
  /** Why the pass gave this request no answer; null when it did. */
  readonly problem: { readonly kind: string; readonly detail: string } | null;
}

export type SequenceOperation = 'begin' | 'load' | 'save' | 'end';

/** A stateful sequence's step as its trace records it. */
export interface SequenceFacts {
  readonly id: string;
  readonly store: 'memory' | 'redis';
  /** The chunk's flags (sequence_start, sequence_end). */
  readonly start: boolean;
  readonly end: boolean;
}

export interface RequestTrace {
  /** Planned between `start` and `end` (performance.now()): what it will compute, at which priority level. */
  planned(start: number, end: number, work: PlannedWork, priority: number): void;
  /** Refused while being planned (from `start` until now): the problem says why. */
  planFailed(start: number, error: unknown): void;
  /** From now it waits in the queue for a worker. */
  queued(priority: number, timeoutMs: number): void;
  /** It left the queue at `end`: its pass starts, or (`problem`) it waited past its deadline. */
  dequeued(end: number, problem?: { readonly kind: string; readonly message: string }): void;
  /** A pass computed it (or failed it) between `start` and `end`. */
  passed(start: number, end: number, pass: PassFacts): void;
  /** One step of its sequence's state in the sequence store, timed around `run`. */
  sequenceStep<T>(operation: SequenceOperation, sequence: SequenceFacts, run: () => Promise<T>): Promise<T>;
}

/** Anything that carries a request's sink (a scheduler entry), for the helpers below. */
interface Carried {
  readonly sink: { readonly trace?: RequestTrace | null };
  readonly work: Pick<Work, 'rows' | 'shape'>;
}

/** Whether any request of a unit (a pass's requests) is traced: the one check before the clock is read for it. */
export function traced(unit: readonly Carried[]): boolean {
  for (const entry of unit) if (entry.sink.trace) return true;
  return false;
}

/**
 * Records a pass in the trace of every traced request it served, each its own span (with the facts of the whole
 * pass: requests, rows, shape), so that every request's trace shows the pass it waited for; in a merged pass the
 * others' spans link to the first's.
 */
export function tracePass(
  unit: readonly Carried[],
  result: JobResult | Error,
  start: number,
  end: number,
  thread: PassThread,
): void {
  let rows = 0;
  let time = 0;
  for (const entry of unit) {
    rows += entry.work.rows;
    time = Math.max(time, entry.work.shape?.[1] ?? 0);
  }
  const failed = result instanceof Error;
  const shape =
    unit.length === 1
      ? (unit[0].work.shape ?? (failed ? null : (result.shape ?? null)))
      : ([rows, time] as readonly number[]);
  let lead: RequestTrace | null = null;
  unit.forEach((entry, i) => {
    const trace = entry.sink.trace;
    if (!trace) return;
    let problem: PassFacts['problem'] = null;
    if (failed) problem = { kind: result instanceof ProblemError ? result.kind : 'error', detail: result.message };
    else {
      const outcome = result.outcomes[i];
      if ('problem' in outcome) problem = { kind: outcome.problem.kind, detail: outcome.problem.detail };
    }
    trace.passed(start, end, {
      thread,
      requests: unit.length,
      rows: shape?.[0] ?? rows,
      requestRows: unit.length === 1 ? (shape?.[0] ?? entry.work.rows) : entry.work.rows,
      shape,
      computeSeconds: failed ? null : result.computeSeconds,
      lead,
      problem,
    });
    lead ??= trace;
  });
}

/** A sequence store's step, traced when the request is. */
export function traceStep<T>(
  trace: RequestTrace | null | undefined,
  operation: SequenceOperation,
  sequence: SequenceFacts | null,
  run: () => Promise<T>,
): Promise<T> {
  return trace && sequence ? trace.sequenceStep(operation, sequence, run) : run();
}
