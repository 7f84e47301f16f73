/**
 * The names of our spans and of the attributes we set beside OpenTelemetry's semantic conventions, in one place:
 * docs/operations/tracing.md lists them, and a user's queries (`rnn.model.name = "hello"`) depend on them.
 */
import type { SequenceOperation } from '../core/trace.js';

export const SPAN_PLAN = 'rnn.plan';
export const SPAN_QUEUE = 'rnn.queue';
export const SPAN_PASS = 'rnn.pass';
export const SPAN_ANSWER = 'rnn.answer';
export const sequenceSpan = (operation: SequenceOperation): string => `rnn.sequence.${operation}`;

/** The request id (`x-request-id`), the one in the request's log lines and problem answers. */
export const ATTR_REQUEST_ID = 'rnn.request.id';
/** A served model's name and version (absent for a model the request described). */
export const ATTR_MODEL_NAME = 'rnn.model.name';
export const ATTR_MODEL_VERSION = 'rnn.model.version';
/** The request's input shape, [batch, time, features]. */
export const ATTR_INPUT_SHAPE = 'rnn.input.shape';
/** The request's sequences (batch rows). */
export const ATTR_REQUEST_ROWS = 'rnn.request.rows';
/** Its multiply-adds, and its memory estimate in bytes (MEMORY_BUDGET_BYTES' measure). */
export const ATTR_COMPUTE = 'rnn.request.compute';
export const ATTR_MEMORY_BYTES = 'rnn.request.memory_bytes';
/** Its priority level (1 first), and its queue deadline in ms. */
export const ATTR_PRIORITY = 'rnn.priority';
export const ATTR_QUEUE_TIMEOUT_MS = 'rnn.queue.timeout_ms';
/** Where its pass ran: `event-loop` or `worker`. */
export const ATTR_PASS_THREAD = 'rnn.pass.thread';
/** Requests merged into the pass (dynamic batching), the pass's rows and shape. */
export const ATTR_PASS_REQUESTS = 'rnn.pass.requests';
export const ATTR_PASS_ROWS = 'rnn.pass.rows';
export const ATTR_PASS_SHAPE = 'rnn.pass.shape';
/** The engine and the answers' writing, in seconds, as measured where the pass ran. */
export const ATTR_PASS_COMPUTE_SECONDS = 'rnn.pass.compute_seconds';
/** A stateful sequence's id, the chunk's flags, and where its state is kept (`memory`, `redis`). */
export const ATTR_SEQUENCE_ID = 'rnn.sequence.id';
export const ATTR_SEQUENCE_START = 'rnn.sequence.start';
export const ATTR_SEQUENCE_END = 'rnn.sequence.end';
export const ATTR_SEQUENCE_STORE = 'rnn.sequence.store';
/** The kind of problem a request was answered with (`invalid-request`, `overloaded`, …); also as `error.type`. */
export const ATTR_PROBLEM = 'rnn.problem';
