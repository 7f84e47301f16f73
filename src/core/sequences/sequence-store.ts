/**
 * The sequence state store: where a stateful sequence's recurrent state (h, and c for an LSTM, of every layer and
 * direction) waits between the requests that stream the sequence, chunk by chunk, as Triton's sequence batcher
 * carries it. Two stores answer to this interface: memory-store.ts (this process, the default) and redis-store.ts
 * (REDIS_URL, shared by every replica).
 *
 * The store knows nothing of HTTP, protocols or engines: the core hands it keys, the owner's identity strings and
 * lists of Float32Array, and words the client's errors about sequences that are unknown or belong to another
 * model version. The store's own refusals (the bound on sequences, a step conflict, a store that is down) are
 * ProblemErrors naming the sequence, the limit and its variable.
 */
import { ProblemError, quoted, truncated } from '../../errors/problem-error.js';

/**
 * A sequence id as the client sent it: an unsigned 64-bit integer, as a bigint (a number loses integers past 2^53),
 * or a string. The type is the id's kind: `42n` and `'42'` are two different sequences, as they are to Triton.
 */
export type SequenceId = bigint | string;

export const MAX_SEQUENCE_ID = 2n ** 64n - 1n;
/** A string id's longest length, in characters (code points). */
export const MAX_SEQUENCE_ID_CHARS = 128;

/** One sequence: the model it runs on and its id. Model names and ids are the core's; the store compares them. */
export interface SequenceKey {
  readonly model: string;
  readonly id: SequenceId;
}

/** What a sequence's state belongs to: state computed by one version's weights means nothing to another's. */
export interface SequenceOwner {
  readonly version: string;
  /** The weights' digest, so that a version rebuilt with other weights is another owner too. */
  readonly weightsDigest: string;
}

/** h (and c) of every layer and direction, in an order the core chooses and keeps; any lengths. */
export type SequenceState = readonly Float32Array[];

export interface SequenceEntry extends SequenceOwner {
  readonly model: string;
  readonly id: SequenceId;
  /**
   * 0 when the sequence began; each save and each restart adds 1. A restart continues the count rather than going
   * back to 0, so a step computed before the restart cannot pass for one computed after it.
   */
  readonly step: number;
  /** A copy, the caller's to keep or change. */
  readonly state: Float32Array[];
}

export interface Begun {
  /** The entry's step: 0 for a new sequence, the old step + 1 for a restart. */
  readonly step: number;
  /** Whether a sequence in progress under this key was replaced (the core logs it). */
  readonly restarted: boolean;
}

export interface SequenceStoreStats {
  /** Sequences in progress: in this process, or with Redis in all replicas (as of the last sweep). */
  readonly active: number;
  /** Bytes of state held in this process (0 for Redis). */
  readonly bytes: number;
}

export type StoreReadiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * Every write (begin, save) sets the sequence's idle expiry to SEQUENCE_IDLE_MS from now; loads do not. States
 * passed in are copied: the caller may reuse its arrays once the promise settles.
 */
export interface SequenceStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Starts the sequence with `state`, or restarts it if it is in progress. Throws `too-many-sequences` (503) when
   * SEQUENCE_MAX sequences are in progress or the memory budget has no room: a sequence in progress is never
   * evicted to make room.
   */
  begin(key: SequenceKey, owner: SequenceOwner, state: SequenceState): Promise<Begun>;
  /** The sequence in progress, or null: never started, ended and expired are alike (the core words the 400). */
  load(key: SequenceKey): Promise<SequenceEntry | null>;
  /**
   * Replaces the state if the sequence is still at `expectedStep` (compare-and-set) and returns the new step. Null
   * when the sequence is gone (ended or expired meanwhile). Throws `sequence-conflict` (409) naming the expected and
   * found steps when another step was saved meanwhile.
   */
  save(key: SequenceKey, state: SequenceState, expectedStep: number): Promise<number | null>;
  /**
   * Ends the sequence; whether it was in progress. With `expectedStep`, only if it is still at that step (else
   * `sequence-conflict`), so that a final step cannot discard a step saved meanwhile unnoticed.
   */
  end(key: SequenceKey, expectedStep?: number): Promise<boolean>;
  /** For the metrics: cheap, no round trip. */
  stats(): SequenceStoreStats;
  /** For /readyz: whether calls can succeed now, and if not why (`redis: connect ECONNREFUSED 127.0.0.1:6379`). */
  ready(): StoreReadiness;
  /** Stops the expiry timer, gives back every byte reserved, closes connections. */
  close(): Promise<void>;
}

/** Why `id` cannot name a sequence, or null when it can. The core checks ids with this before it calls a store. */
export function sequenceIdProblem(id: SequenceId): string | null {
  if (typeof id === 'bigint') {
    if (id < 1n || id > MAX_SEQUENCE_ID)
      return `${truncated(String(id))} is not a sequence id; expected an integer from 1 to 2^64 - 1`;
    return null;
  }
  if (id === '') return 'an empty string is not a sequence id';
  if (id.length > MAX_SEQUENCE_ID_CHARS && codePoints(id) > MAX_SEQUENCE_ID_CHARS)
    return `a sequence id is at most ${MAX_SEQUENCE_ID_CHARS} characters; this one has ${codePoints(id)}`;
  // A lone surrogate has no UTF-8 form: two such ids would be the same key in Redis.
  if (LONE_SURROGATE.test(id)) return 'a sequence id must be valid Unicode (it has a lone surrogate)';
  return null;
}

const LONE_SURROGATE = /\p{Cs}/u;

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** `sequence 42 of model "m"`; a string id is quoted, so `"42"` and 42 read apart. */
export function describeSequence(key: SequenceKey): string {
  const id = typeof key.id === 'bigint' ? String(key.id) : quoted(key.id);
  return `sequence ${id} of model ${quoted(key.model)}`;
}

export function sameOwner(entry: SequenceOwner, owner: SequenceOwner): boolean {
  return entry.version === owner.version && entry.weightsDigest === owner.weightsDigest;
}

/** Throws unless `key` can be stored: a non-empty model name and an id `sequenceIdProblem` accepts. */
export function checkKey(key: SequenceKey): void {
  if (typeof key.model !== 'string' || key.model === '') throw new TypeError('a sequence key needs a model name');
  const problem = sequenceIdProblem(key.id);
  if (problem !== null) throw new TypeError(problem);
}

export function stepConflict(key: SequenceKey, expectedStep: number, foundStep: number): ProblemError {
  return new ProblemError(
    'sequence-conflict',
    `${describeSequence(key)} is at step ${foundStep}, not step ${expectedStep} as when this request read it: ` +
      'another request of the sequence was processed meanwhile, and this one was not applied; send the requests ' +
      'of a sequence one at a time, each after the previous answer',
  );
}

export function tooManySequences(
  key: SequenceKey,
  active: number,
  limits: { readonly maxSequences: number; readonly idleMs: number; readonly retryAfterSeconds: number },
  where: string,
): ProblemError {
  return new ProblemError(
    'too-many-sequences',
    `${describeSequence(key)} cannot start: ${active} sequences are in progress${where}, the limit ` +
      `(SEQUENCE_MAX=${limits.maxSequences}); one ends with its last request or after ${limits.idleMs} ms idle ` +
      `(SEQUENCE_IDLE_MS); retry after ${limits.retryAfterSeconds} s`,
    [],
    { 'retry-after': String(limits.retryAfterSeconds) },
  );
}

export function storeUnavailable(
  key: SequenceKey,
  operation: string,
  why: string,
  retryAfterSeconds: number,
  cause: unknown,
): ProblemError {
  const error = new ProblemError(
    'sequence-store-unavailable',
    `${describeSequence(key)} could not be ${operation}: the sequence store (Redis) ${why}; retry after ` +
      `${retryAfterSeconds} s`,
    [],
    { 'retry-after': String(retryAfterSeconds) },
  );
  error.cause = cause;
  return error;
}
