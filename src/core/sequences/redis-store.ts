/**
 * The sequence store in Redis (REDIS_URL): any replica continues any sequence, and a rollout or a crashed pod loses
 * none. Each write is one Lua script (redis-scripts.ts), so the step's compare-and-set, the idle expiry (the key's
 * PEXPIRE) and the bound on sequences are atomic; a load is one HMGET.
 *
 * The client is ioredis, set to fail fast: while Redis is down or reconnecting every call is refused at once
 * (no offline queue), a command without an answer within REDIS_TIMEOUT_MS is refused, and a command whose
 * connection dropped is never resent (a resent save would find its own step and read as a conflict). Each refusal
 * is the 503 `sequence-store-unavailable`; `ready()` says why, in the client's words. The client reconnects by
 * itself, every MAX_RECONNECT_DELAY_MS at most, and calls work again as soon as it has.
 */
import { Redis } from 'ioredis';
import type { SequenceMetrics, StoreOperation } from './sequence-metrics.js';
import { BEGIN, END, type LuaScript, SAVE, SWEEP } from './redis-scripts.js';
import {
  type Begun,
  type SequenceEntry,
  type SequenceKey,
  type SequenceOwner,
  type SequenceState,
  type SequenceStore,
  type SequenceStoreStats,
  type StoreReadiness,
  checkKey,
  stepConflict,
  storeUnavailable,
  tooManySequences,
} from './sequence-store.js';
import { encodeState, readState } from './state-bytes.js';

/** Reconnection attempts back off by 100 ms each, up to this: Redis back is Redis used within a second. */
export const MAX_RECONNECT_DELAY_MS = 1000;

/** A TCP (and TLS) connection gets at least this long to open, even with a shorter REDIS_TIMEOUT_MS. */
export const MIN_CONNECT_TIMEOUT_MS = 2000;

/** Expired sequences one sweep drops from the index at most, per script call (a sweep makes up to 10 calls). */
const SWEEP_BATCH = 500;

/** The suffix of the index's key, after REDIS_KEY_PREFIX; no colon, so no sequence's key (redis-scripts.ts). */
export const INDEX_KEY_SUFFIX = 'sequences';

/** Where the store logs its connection going down and coming back (a pino logger fits). */
export interface StoreLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  readonly idleMs: number;
  /** Sequences in progress in all replicas together. */
  readonly maxSequences: number;
  readonly retryAfterSeconds: number;
  readonly metrics?: SequenceMetrics;
  readonly log?: StoreLog;
  /** How often expired sequences are counted and the active count read; by default half the idle limit, 10 ms to 1 s. */
  readonly sweepIntervalMs?: number;
}

/** `<model>:i:<decimal>` or `<model>:s:<string>`; `%` and `:` in a model name are escaped, so the parts never blur. */
export function sequenceMember(key: SequenceKey): string {
  const model = ESCAPED.test(key.model)
    ? key.model.replace(ESCAPED_ALL, (c) => (c === '%' ? '%25' : '%3A'))
    : key.model;
  return typeof key.id === 'bigint' ? `${model}:i:${key.id}` : `${model}:s:${key.id}`;
}

const ESCAPED = /[%:]/;
const ESCAPED_ALL = /[%:]/g;

export class RedisSequenceStore implements SequenceStore {
  readonly kind = 'redis';
  readonly #options: RedisStoreOptions;
  readonly #client: Redis;
  readonly #indexKey: string;
  readonly #timer: NodeJS.Timeout;
  /** Why calls cannot succeed now, or null when they can. */
  #down: string | null = 'redis: connecting';
  #closing = false;
  #sweeping = false;
  /** All replicas' sequences in progress, as the last script that counted them saw it. */
  #active = 0;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.#indexKey = `${options.keyPrefix}${INDEX_KEY_SUFFIX}`;
    this.#client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.timeoutMs,
      connectTimeout: Math.max(options.timeoutMs, MIN_CONNECT_TIMEOUT_MS),
      // The ready check sends INFO, one more command for the ACL to allow; a Redis still loading its data answers
      // LOADING, which is refused like any other error.
      enableReadyCheck: false,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    this.#client.on('ready', () => {
      this.#markUp();
      void this.sweep();
    });
    this.#client.on('error', (error: Error) => this.#markDown(`redis: ${error.message}`));
    this.#client.on('close', () => {
      if (this.#down === null) this.#markDown('redis: connection closed');
    });
    const interval = options.sweepIntervalMs ?? Math.min(1000, Math.max(10, Math.floor(options.idleMs / 2)));
    this.#timer = setInterval(() => void this.sweep(), interval);
    this.#timer.unref();
    options.metrics?.observe(this);
  }

  async begin(key: SequenceKey, owner: SequenceOwner, state: SequenceState): Promise<Begun> {
    checkKey(key);
    const member = sequenceMember(key);
    const o = this.#options;
    const [step, restarted, expired, active] = (await this.#command('begin', key, 'started', () =>
      this.#script(
        BEGIN,
        [o.keyPrefix + member, this.#indexKey],
        [
          member,
          o.keyPrefix,
          key.model,
          owner.version,
          owner.weightsDigest,
          asBuffer(encodeState(state)),
          o.idleMs,
          o.maxSequences,
          SWEEP_BATCH,
        ],
      ),
    )) as number[];
    this.#active = active;
    o.metrics?.expired(expired);
    if (step < 0) {
      o.metrics?.refused('limit');
      throw tooManySequences(key, active, o, ' in all replicas');
    }
    o.metrics?.started(restarted === 1);
    return { step, restarted: restarted === 1 };
  }

  async load(key: SequenceKey): Promise<SequenceEntry | null> {
    const [version, weightsDigest, step, bytes] = await this.#command('load', key, 'loaded', () =>
      this.#client.hmgetBuffer(this.#options.keyPrefix + sequenceMember(key), 'v', 'd', 's', 'b'),
    );
    if (step === null) return null;
    if (version === null || weightsDigest === null || bytes === null)
      throw this.#foreign(key, new Error('a field of the entry is missing'));
    let state: Float32Array[];
    try {
      state = readState(bytes);
    } catch (error) {
      throw this.#foreign(key, error);
    }
    return {
      model: key.model,
      id: key.id,
      version: version.toString(),
      weightsDigest: weightsDigest.toString(),
      step: Number(step.toString()),
      state,
    };
  }

  async save(key: SequenceKey, state: SequenceState, expectedStep: number): Promise<number | null> {
    const member = sequenceMember(key);
    const o = this.#options;
    const [outcome, step] = (await this.#command('save', key, 'saved', () =>
      this.#script(
        SAVE,
        [o.keyPrefix + member, this.#indexKey],
        [member, expectedStep, asBuffer(encodeState(state)), o.idleMs],
      ),
    )) as number[];
    if (outcome === 1) return step;
    if (outcome === 0) return null;
    o.metrics?.refused('conflict');
    throw stepConflict(key, expectedStep, step);
  }

  async end(key: SequenceKey, expectedStep?: number): Promise<boolean> {
    const member = sequenceMember(key);
    const o = this.#options;
    const [outcome, found, active] = (await this.#command('end', key, 'ended', () =>
      this.#script(END, [o.keyPrefix + member, this.#indexKey], [member, expectedStep ?? '']),
    )) as number[];
    this.#active = active;
    if (outcome === 1) {
      o.metrics?.ended();
      return true;
    }
    if (outcome === 0) {
      o.metrics?.expired(found);
      return false;
    }
    o.metrics?.refused('conflict');
    throw stepConflict(key, expectedStep!, found);
  }

  stats(): SequenceStoreStats {
    return { active: this.#active, bytes: 0 };
  }

  ready(): StoreReadiness {
    if (this.#down === null && this.#client.status === 'ready') return READY;
    return { ready: false, reason: this.#down ?? `redis: ${this.#client.status}` };
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    // QUIT lets Redis close its side cleanly; a Redis that is down or silent gets no more than REDIS_TIMEOUT_MS.
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => {});
    this.#client.disconnect();
  }

  /**
   * Counts the sequences that expired since the last sweep and reads how many are in progress. The timer calls it
   * (it doubles as the health check after a timed-out command); it never throws.
   */
  async sweep(): Promise<number> {
    if (this.#sweeping || this.#closing || this.#client.status !== 'ready') return 0;
    this.#sweeping = true;
    let total = 0;
    try {
      for (let batch = 0; batch < 10; batch++) {
        const start = performance.now();
        const [expired, active] = (await this.#script(
          SWEEP,
          [this.#indexKey],
          [this.#options.keyPrefix, SWEEP_BATCH],
        )) as number[];
        this.#options.metrics?.storeSeconds('sweep', (performance.now() - start) / 1000);
        this.#markUp();
        this.#active = active;
        this.#options.metrics?.expired(expired);
        total += expired;
        if (expired < SWEEP_BATCH) break;
      }
    } catch (error) {
      this.#noteFailure(error);
    } finally {
      this.#sweeping = false;
    }
    return total;
  }

  /** Runs one round trip, timed; a failure becomes the 503 naming the sequence and what could not be done. */
  async #command<T>(operation: StoreOperation, key: SequenceKey, done: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const result = await run();
      this.#options.metrics?.storeSeconds(operation, (performance.now() - start) / 1000);
      // Only a write clears a failure: a Redis that refuses writes (OOM, READONLY) still answers reads.
      if (this.#down !== null && operation !== 'load') this.#markUp();
      return result;
    } catch (error) {
      this.#options.metrics?.storeSeconds(operation, (performance.now() - start) / 1000);
      this.#options.metrics?.refused('unavailable');
      const why = this.#noteFailure(error);
      throw storeUnavailable(key, done, why, this.#options.retryAfterSeconds, error);
    }
  }

  /** EVALSHA, and EVAL when Redis does not know the script (restarted, or SCRIPT FLUSH): EVAL also caches it. */
  async #script(script: LuaScript, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await this.#client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.#client.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  /** Records a failed command for ready(), and says in a client's words why it failed. */
  #noteFailure(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'Command timed out') {
      const why = `did not answer within ${this.#options.timeoutMs} ms (REDIS_TIMEOUT_MS)`;
      this.#markDown(`redis: ${why}`);
      return why;
    }
    if (error instanceof Error && error.name === 'ReplyError') {
      // Redis's own refusal: its first word names it. WRONGTYPE is one key's (something else wrote it, logged);
      // any other (OOM, NOPERM, READONLY, LOADING...) refuses every call until a later one succeeds.
      const code = message.split(' ', 1)[0];
      if (code === 'WRONGTYPE') this.#options.log?.warn({ err: error }, 'a Redis key under the prefix is not a hash');
      else this.#markDown(`redis: ${message}`);
      return `refused the command (${code})`;
    }
    return 'is not connected';
  }

  /** An entry under our prefix that this service did not write: refused, never decoded into a state. */
  #foreign(key: SequenceKey, cause: unknown): Error {
    this.#options.metrics?.refused('unavailable');
    this.#options.log?.warn({ err: cause, sequence: sequenceMember(key) }, 'a Redis entry is not a sequence state');
    return storeUnavailable(
      key,
      'loaded',
      'holds an entry under its key that is not a sequence state',
      this.#options.retryAfterSeconds,
      cause,
    );
  }

  #markDown(reason: string): void {
    if (this.#closing) return;
    if (this.#down === null) this.#options.log?.warn({ reason }, 'sequence store down: sequence requests get 503');
    this.#down = reason;
  }

  #markUp(): void {
    if (this.#down === null || this.#client.status !== 'ready') return;
    if (this.#down !== 'redis: connecting') this.#options.log?.info({ was: this.#down }, 'sequence store up again');
    this.#down = null;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const READY: StoreReadiness = { ready: true };
