/**
 * The sequence store in this process (the default, without REDIS_URL). Bounded by SEQUENCE_MAX sequences and by the
 * bytes the core lets it reserve from the memory budget; a start beyond either is refused, never made room for by
 * evicting a sequence in progress. A sequence without a write for SEQUENCE_IDLE_MS is dropped.
 *
 * A step (load, then save) is a few map lookups and two copies of the state (~1.3 µs for an LSTM's h and c of 64
 * units, bench/sequence-store.ts), with no timer per sequence: entries
 * sit in one list ordered by their last write, which is also their expiry order (every write sets the same idle
 * limit), so one unref'd timer drops the expired ones from the head of the list and stops at the first live one.
 * Loads check the deadline too, so an entry past it is never returned, whenever the timer runs.
 */
import type { SequenceMetrics } from './sequence-metrics.js';
import {
  type Begun,
  type SequenceEntry,
  type SequenceId,
  type SequenceKey,
  type SequenceOwner,
  type SequenceState,
  type SequenceStore,
  type SequenceStoreStats,
  type StoreReadiness,
  checkKey,
  stepConflict,
  tooManySequences,
} from './sequence-store.js';

/**
 * Reserves `bytes` of the memory budget and returns the function that gives them back, or throws the ProblemError
 * that refuses the start (the core's, backed by MEMORY_BUDGET_BYTES).
 */
export type ReserveBytes = (bytes: number) => () => void;

/**
 * The store reserves memory in blocks of at least this size, not per sequence: a sequence's state is usually a few
 * KiB, below what a per-request budget bothers to count (src/runtime/memory-budget.ts leaves requests under 256 KiB
 * uncounted), and a block keeps begin and end from calling into the budget each time.
 */
export const RESERVE_BLOCK_BYTES = 1024 * 1024;

/** Bytes an entry costs beyond its state: the entry object, its list links, its map slot, the version strings. */
export const ENTRY_OVERHEAD_BYTES = 256;

export interface MemoryStoreOptions {
  readonly maxSequences: number;
  readonly idleMs: number;
  /** The Retry-After of a refused start. */
  readonly retryAfterSeconds: number;
  /** Memory for the states; without it they are bounded by SEQUENCE_MAX only. */
  readonly reserve?: ReserveBytes;
  readonly metrics?: SequenceMetrics;
  /** A monotonic clock in ms (tests pass their own); performance.now by default. */
  readonly now?: () => number;
  /** How often expired sequences are dropped; by default half the idle limit, from 10 ms to 1 s. */
  readonly sweepIntervalMs?: number;
}

/** One sequence in progress, and its links in the list ordered by last write (oldest first). */
class Held {
  older: Held | null = null;
  newer: Held | null = null;

  constructor(
    readonly model: string,
    readonly id: SequenceId,
    public version: string,
    public weightsDigest: string,
    public step: number,
    /**
     * The state's arrays, one after the other, with their lengths. Copied in and out with TypedArray set and slice,
     * which copy a Float32Array's bits as they are (a NaN keeps its payload), as the language requires.
     */
    public values: Float32Array,
    public readonly lengths: number[],
    /** Bytes counted against the reservation: the state plus the entry's overhead. */
    public charged: number,
    public deadline: number,
  ) {}
}

const performanceNow = () => performance.now();

export class MemorySequenceStore implements SequenceStore {
  readonly kind = 'memory';
  readonly #options: MemoryStoreOptions;
  readonly #now: () => number;
  /** model → id → entry: no key string is built per call, and 42n and '42' are different map keys. */
  readonly #byModel = new Map<string, Map<SequenceId, Held>>();
  #oldest: Held | null = null;
  #newest: Held | null = null;
  #count = 0;
  /** Bytes charged by the entries, and the blocks reserved to cover them (newest last). */
  #charged = 0;
  #reserved = 0;
  readonly #blocks: { bytes: number; release: () => void }[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? performanceNow;
    const interval = options.sweepIntervalMs ?? Math.min(1000, Math.max(10, Math.floor(options.idleMs / 2)));
    this.#timer = setInterval(() => this.sweep(), interval);
    this.#timer.unref();
    options.metrics?.observe(this);
  }

  async begin(key: SequenceKey, owner: SequenceOwner, state: SequenceState): Promise<Begun> {
    checkKey(key);
    const now = this.#now();
    const held = this.#find(key, now);
    const total = totalLength(state);
    const charge = chargeOf(total, state.length, owner);
    if (held !== null) {
      this.#recharge(held, charge);
      if (held.values.length !== total) held.values = new Float32Array(total);
      copyIn(held, state);
      held.version = owner.version;
      held.weightsDigest = owner.weightsDigest;
      held.step += 1;
      this.#touch(held, now);
      this.#options.metrics?.started(true);
      return { step: held.step, restarted: true };
    }
    if (this.#count >= this.#options.maxSequences) {
      this.sweep();
      if (this.#count >= this.#options.maxSequences) {
        this.#options.metrics?.refused('limit');
        throw tooManySequences(key, this.#count, this.#options, ' in this process');
      }
    }
    this.#charge(charge);
    const entry = new Held(
      key.model,
      key.id,
      owner.version,
      owner.weightsDigest,
      0,
      new Float32Array(total),
      [],
      charge,
      now + this.#options.idleMs,
    );
    copyIn(entry, state);
    let ids = this.#byModel.get(key.model);
    if (ids === undefined) {
      ids = new Map();
      this.#byModel.set(key.model, ids);
    }
    ids.set(key.id, entry);
    this.#count += 1;
    this.#append(entry);
    this.#options.metrics?.started(false);
    return { step: 0, restarted: false };
  }

  async load(key: SequenceKey): Promise<SequenceEntry | null> {
    const held = this.#find(key, this.#now());
    if (held === null) return null;
    return {
      model: held.model,
      id: held.id,
      version: held.version,
      weightsDigest: held.weightsDigest,
      step: held.step,
      state: copyOut(held),
    };
  }

  async save(key: SequenceKey, state: SequenceState, expectedStep: number): Promise<number | null> {
    const now = this.#now();
    const held = this.#find(key, now);
    if (held === null) return null;
    if (held.step !== expectedStep) {
      this.#options.metrics?.refused('conflict');
      throw stepConflict(key, expectedStep, held.step);
    }
    const total = totalLength(state);
    if (total !== held.values.length || state.length !== held.lengths.length) {
      this.#recharge(held, chargeOf(total, state.length, held));
      if (total !== held.values.length) held.values = new Float32Array(total);
    }
    copyIn(held, state);
    held.step += 1;
    this.#touch(held, now);
    return held.step;
  }

  async end(key: SequenceKey, expectedStep?: number): Promise<boolean> {
    const held = this.#find(key, this.#now());
    if (held === null) return false;
    if (expectedStep !== undefined && held.step !== expectedStep) {
      this.#options.metrics?.refused('conflict');
      throw stepConflict(key, expectedStep, held.step);
    }
    this.#remove(held);
    this.#options.metrics?.ended();
    return true;
  }

  stats(): SequenceStoreStats {
    return { active: this.#count, bytes: this.#charged };
  }

  ready(): StoreReadiness {
    return READY;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (let held = this.#oldest; held !== null; held = this.#oldest) this.#remove(held);
    for (const block of this.#blocks.splice(0)) block.release();
    this.#reserved = 0;
  }

  /** Drops the sequences idle past their deadline; how many. The timer calls it; so does a start at the limit. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    while (this.#oldest !== null && this.#oldest.deadline <= now) {
      this.#remove(this.#oldest);
      dropped += 1;
    }
    this.#options.metrics?.expired(dropped);
    return dropped;
  }

  /** The live entry under `key`; one past its deadline is dropped here (counted as expired) and not returned. */
  #find(key: SequenceKey, now: number): Held | null {
    const held = this.#byModel.get(key.model)?.get(key.id);
    if (held === undefined) return null;
    if (held.deadline <= now) {
      this.#remove(held);
      this.#options.metrics?.expired(1);
      return null;
    }
    return held;
  }

  /** A write: the entry's deadline moves, and it goes to the newest end of the list. */
  #touch(held: Held, now: number): void {
    held.deadline = now + this.#options.idleMs;
    if (this.#newest === held) return;
    this.#unlink(held);
    this.#append(held);
  }

  #append(held: Held): void {
    held.older = this.#newest;
    held.newer = null;
    if (this.#newest !== null) this.#newest.newer = held;
    else this.#oldest = held;
    this.#newest = held;
  }

  #unlink(held: Held): void {
    if (held.older !== null) held.older.newer = held.newer;
    else this.#oldest = held.newer;
    if (held.newer !== null) held.newer.older = held.older;
    else this.#newest = held.older;
    held.older = null;
    held.newer = null;
  }

  #remove(held: Held): void {
    this.#unlink(held);
    const ids = this.#byModel.get(held.model)!;
    ids.delete(held.id);
    if (ids.size === 0) this.#byModel.delete(held.model);
    this.#count -= 1;
    this.#discharge(held.charged);
  }

  /** An entry's charge becomes `charge`: the growth is reserved first, so a refusal leaves the entry as it was. */
  #recharge(held: Held, charge: number): void {
    if (charge > held.charged) this.#charge(charge - held.charged);
    else this.#discharge(held.charged - charge);
    held.charged = charge;
  }

  #charge(bytes: number): void {
    const reserve = this.#options.reserve;
    if (reserve !== undefined && this.#charged + bytes > this.#reserved) {
      const block = Math.max(RESERVE_BLOCK_BYTES, this.#charged + bytes - this.#reserved);
      let release: () => void;
      try {
        release = reserve(block);
      } catch (error) {
        this.#options.metrics?.refused('memory');
        throw error;
      }
      this.#blocks.push({ bytes: block, release });
      this.#reserved += block;
    }
    this.#charged += bytes;
  }

  /**
   * Gives back whole blocks while a spare block's worth would remain (begin and end at a block's edge do not
   * thrash), and every block once nothing is held.
   */
  #discharge(bytes: number): void {
    this.#charged -= bytes;
    while (this.#blocks.length > 0) {
      const top = this.#blocks[this.#blocks.length - 1];
      if (this.#charged > 0 && this.#reserved - top.bytes < this.#charged + RESERVE_BLOCK_BYTES) break;
      this.#blocks.pop();
      this.#reserved -= top.bytes;
      top.release();
    }
  }
}

const READY: StoreReadiness = { ready: true };

function totalLength(state: SequenceState): number {
  let total = 0;
  for (let i = 0; i < state.length; i++) total += state[i].length;
  return total;
}

/**
 * What an entry is charged: its state as state-bytes.ts would write it (a count, the lengths, the values), plus the
 * entry's overhead and its owner's strings (UTF-16).
 */
function chargeOf(total: number, count: number, owner: SequenceOwner): number {
  return 4 + 4 * count + 4 * total + ENTRY_OVERHEAD_BYTES + 2 * (owner.version.length + owner.weightsDigest.length);
}

/** `state` into the entry, whose `values` holds exactly its values. */
function copyIn(held: Held, state: SequenceState): void {
  const { values, lengths } = held;
  lengths.length = state.length;
  let offset = 0;
  for (let i = 0; i < state.length; i++) {
    const array = state[i];
    values.set(array, offset);
    lengths[i] = array.length;
    offset += array.length;
  }
}

/** A copy of the entry's state: one new buffer, one view per array. */
function copyOut(held: Held): Float32Array[] {
  const copy = held.values.slice();
  const { lengths } = held;
  const state: Float32Array[] = new Array(lengths.length);
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    state[i] = copy.subarray(offset, offset + lengths[i]);
    offset += lengths[i];
  }
  return state;
}
