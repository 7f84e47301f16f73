/**
 * One request's trace: its server span (made by its frontend: HTTP here, gRPC alike) and, under it, the spans of what
 * the core tells it (src/core/trace.ts): the plan, the wait in the queue, the pass, the steps of its sequence's state;
 * and, from the frontend, the writing of its answer. Every span here is a child of the server span, made with an
 * explicit parent context (no context manager, no async hooks): a pass computed on a worker is recorded on the event
 * loop with the times measured there, under the request it served.
 *
 * A request that is not sampled has a trace too (its ids go into the log lines and the `traceresponse` header) that
 * records nothing: `recording` is false, and its frontend does not hand it to the core.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ProblemError } from '../errors/problem-error.js';
import type { PassFacts, PlannedWork, RequestTrace, SequenceFacts, SequenceOperation } from '../core/trace.js';
import {
  ATTR_COMPUTE,
  ATTR_INPUT_SHAPE,
  ATTR_MEMORY_BYTES,
  ATTR_MODEL_NAME,
  ATTR_MODEL_VERSION,
  ATTR_PASS_COMPUTE_SECONDS,
  ATTR_PASS_REQUESTS,
  ATTR_PASS_ROWS,
  ATTR_PASS_SHAPE,
  ATTR_PASS_THREAD,
  ATTR_PRIORITY,
  ATTR_PROBLEM,
  ATTR_QUEUE_TIMEOUT_MS,
  ATTR_REQUEST_ROWS,
  ATTR_SEQUENCE_END,
  ATTR_SEQUENCE_ID,
  ATTR_SEQUENCE_START,
  ATTR_SEQUENCE_STORE,
  SPAN_ANSWER,
  SPAN_PASS,
  SPAN_PLAN,
  SPAN_QUEUE,
  sequenceSpan,
} from './names.js';

/**
 * The times of our spans: wall-clock milliseconds as `origin + performance.now()`, so that the spans of a request,
 * and those of the requests of one merged pass, are placed by the one monotonic clock, to the microsecond (the SDK
 * anchors each span to Date.now() on its own, whose milliseconds would put a child up to 1 ms outside its parent).
 * The origin is checked against the wall clock at most every CHECK_MS and moved only when the two have parted by more
 * than Date.now()'s millisecond (the wall clock was stepped).
 */
export class SpanClock {
  static readonly CHECK_MS = 10_000;
  #origin = Date.now() - performance.now();
  #checked = performance.now();

  origin(): number {
    const now = performance.now();
    if (now - this.#checked >= SpanClock.CHECK_MS) {
      this.#checked = now;
      const wall = Date.now() - now;
      if (Math.abs(wall - this.#origin) > 2) this.#origin = wall;
    }
    return this.#origin;
  }
}

/** A problem as a span records it: its kind and its words. */
export interface SpanProblem {
  readonly kind: string;
  readonly message: string;
}

/** How a request ended, as its frontend tells it. */
export interface RequestOutcome {
  /** Attributes of the answer (HTTP: `http.response.status_code`). */
  readonly attributes?: Attributes;
  /** The problem it was answered with; null: its answer. */
  readonly problem?: SpanProblem | null;
  /** The client went away before its answer was complete. */
  readonly aborted?: boolean;
}

/** A thrown value as a span's problem: a ProblemError's kind and words, else `error` and its message. */
export function problemOf(error: unknown): SpanProblem {
  if (error instanceof ProblemError) return { kind: error.kind, message: error.message };
  return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
}

function fail(span: Span, problem: SpanProblem): void {
  span.setAttribute(ATTR_ERROR_TYPE, problem.kind);
  span.setStatus({ code: SpanStatusCode.ERROR, message: problem.message });
}

const CLIENT_GONE: SpanProblem = {
  kind: 'client-closed',
  message: 'the client went away before its answer was complete',
};

export class RequestSpans implements RequestTrace {
  /** The request's own span (kind SERVER). */
  readonly span: Span;
  readonly recording: boolean;
  readonly traceId: string;
  readonly spanId: string;
  /** W3C Trace Context's response header: this server span's `traceparent`. */
  readonly traceresponse: string;
  readonly #tracer: Tracer;
  /** The server span as the parent of every other span of the request. */
  readonly #context: Context;
  #queue: Span | null = null;
  #answer: Span | null = null;
  /** The context of this request's pass span, for the links of the other requests of a merged pass. */
  #pass: SpanContext | null = null;
  #finished = false;

  /** Wall-clock milliseconds at performance.now() 0 (SpanClock), for every time of this request's spans. */
  readonly #origin: number;

  /** `attributes` are read only when the request is recorded (an unsampled request's are never built). */
  constructor(tracer: Tracer, origin: number, name: string, attributes: () => Attributes, parent: Context) {
    this.#tracer = tracer;
    this.#origin = origin;
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: this.#now() }, parent);
    this.span = span;
    this.recording = span.isRecording();
    if (this.recording) span.setAttributes(attributes());
    const context = span.spanContext();
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.traceresponse = `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1) === 1 ? '01' : '00'}`;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
  }

  /** Now, as the spans of this request take times: wall-clock milliseconds (see #origin). */
  #now(): number {
    return this.#origin + performance.now();
  }

  /** A performance.now() value as the spans of this request take times. */
  #at(time: number): number {
    return this.#origin + time;
  }

  /** A child of the server span, from `start` (a performance.now() value) or now. */
  #child(name: string, start: number | undefined, attributes: Attributes, links?: Link[]): Span {
    const startTime = start === undefined ? this.#now() : this.#at(start);
    return this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, startTime, links }, this.#context);
  }

  /** Attributes the request is filtered on, set on the server span too. */
  setAttributes(attributes: Attributes): void {
    if (this.recording) this.span.setAttributes(attributes);
  }

  planned(start: number, end: number, work: PlannedWork, priority: number): void {
    const attributes: Attributes = {
      [ATTR_REQUEST_ROWS]: work.rows,
      [ATTR_COMPUTE]: work.cost,
      [ATTR_MEMORY_BYTES]: work.bytes,
      [ATTR_PRIORITY]: priority,
    };
    if (work.model !== null) {
      attributes[ATTR_MODEL_NAME] = work.model.name;
      attributes[ATTR_MODEL_VERSION] = work.model.version;
    }
    if (work.shape !== null) attributes[ATTR_INPUT_SHAPE] = [...work.shape];
    this.#child(SPAN_PLAN, start, attributes).end(this.#at(end));
    this.span.setAttributes(attributes);
  }

  planFailed(start: number, error: unknown): void {
    const span = this.#child(SPAN_PLAN, start, {});
    fail(span, problemOf(error));
    span.end(this.#now());
  }

  queued(priority: number, timeoutMs: number): void {
    this.#queue?.end(this.#now());
    this.#queue = this.#child(SPAN_QUEUE, undefined, { [ATTR_PRIORITY]: priority, [ATTR_QUEUE_TIMEOUT_MS]: timeoutMs });
  }

  dequeued(end: number, problem?: SpanProblem): void {
    const queue = this.#queue;
    if (queue === null) return;
    this.#queue = null;
    if (problem !== undefined) fail(queue, { kind: problem.kind, message: problem.message });
    queue.end(this.#at(end));
  }

  passed(start: number, end: number, pass: PassFacts): void {
    const attributes: Attributes = {
      [ATTR_PASS_THREAD]: pass.thread,
      [ATTR_PASS_REQUESTS]: pass.requests,
      [ATTR_PASS_ROWS]: pass.rows,
      [ATTR_REQUEST_ROWS]: pass.requestRows,
    };
    if (pass.shape !== null) attributes[ATTR_PASS_SHAPE] = [...pass.shape];
    if (pass.computeSeconds !== null) attributes[ATTR_PASS_COMPUTE_SECONDS] = pass.computeSeconds;
    const lead = pass.lead instanceof RequestSpans ? pass.lead.#pass : null;
    const span = this.#child(SPAN_PASS, start, attributes, lead === null ? undefined : [{ context: lead }]);
    if (pass.problem !== null) fail(span, { kind: pass.problem.kind, message: pass.problem.detail });
    this.#pass = span.spanContext();
    span.end(this.#at(end));
    // A body parsed on a worker tells its shape only now.
    if (pass.requests === 1 && pass.shape !== null) this.span.setAttribute(ATTR_INPUT_SHAPE, [...pass.shape]);
  }

  async sequenceStep<T>(operation: SequenceOperation, sequence: SequenceFacts, run: () => Promise<T>): Promise<T> {
    const attributes: Attributes = {
      [ATTR_SEQUENCE_ID]: sequence.id,
      [ATTR_SEQUENCE_START]: sequence.start,
      [ATTR_SEQUENCE_END]: sequence.end,
      [ATTR_SEQUENCE_STORE]: sequence.store,
    };
    this.span.setAttributes(attributes);
    const span = this.#child(sequenceSpan(operation), undefined, attributes);
    try {
      return await run();
    } catch (error) {
      fail(span, problemOf(error));
      throw error;
    } finally {
      span.end(this.#now());
    }
  }

  /** The frontend starts writing the answer (the span ends when the request does). */
  answering(): void {
    if (this.recording && this.#answer === null) this.#answer = this.#child(SPAN_ANSWER, undefined, {});
  }

  /**
   * Ends the request's spans: the answer's, a wait in the queue still open (its client went away), and the server
   * span, whose status is ERROR with the problem's words when it was answered with one (or its client went away).
   */
  finish(outcome: RequestOutcome): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.recording) return;
    const problem = outcome.problem ?? (outcome.aborted ? CLIENT_GONE : null);
    if (this.#answer !== null) {
      if (outcome.aborted) fail(this.#answer, CLIENT_GONE);
      this.#answer.end(this.#now());
    }
    if (this.#queue !== null) this.dequeued(performance.now(), CLIENT_GONE);
    if (outcome.attributes) this.span.setAttributes(outcome.attributes);
    if (problem !== null) {
      this.span.setAttribute(ATTR_PROBLEM, problem.kind);
      fail(this.span, problem);
    }
    this.span.end(this.#now());
  }
}
