/**
 * The sequences' metrics, registered in the registry the app passes in. The store reports what it decides (starts,
 * ends, expiries, its own refusals, Redis round trips); the core reports the refusals it words itself (a sequence
 * never started, state of another model version). Gauges are read from the store at scrape time.
 *
 * With Redis, `rnn_sequences_active` is the count of all replicas together (every replica reports the same value:
 * aggregate with max, not sum); the counters are each replica's own (sum them).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SequenceStoreStats, StoreReadiness } from './sequence-store.js';

/** Why a sequence request was refused. */
export const REFUSAL_REASONS = [
  /** SEQUENCE_MAX sequences in progress (503). */
  'limit',
  /** The memory budget had no room for the state (503). */
  'memory',
  /** The store did not answer (503). */
  'unavailable',
  /** Another step of the sequence was saved meanwhile (409). */
  'conflict',
  /** The core's: a request for a sequence never started, ended or expired (400). */
  'not-started',
  /** The core's: the sequence's state belongs to another model version or weights (400). */
  'other-owner',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const STORE_OPERATIONS = ['begin', 'load', 'save', 'end', 'sweep'] as const;
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

/** From a tenth of a millisecond (a Redis round trip on loopback) to a second (past any sensible REDIS_TIMEOUT_MS). */
const STORE_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** What the gauges read at scrape time. */
export interface ObservedStore {
  stats(): SequenceStoreStats;
  ready(): StoreReadiness;
}

export class SequenceMetrics {
  #store: ObservedStore | null = null;
  readonly #started: Counter;
  readonly #restarted: Counter;
  readonly #ended: Counter;
  readonly #expired: Counter;
  readonly #refused: Counter<'reason'>;
  readonly #storeSeconds: Histogram<'operation'>;

  constructor(registry: Registry) {
    const metrics = this;
    const registers = [registry];
    new Gauge({
      name: 'rnn_sequences_active',
      help: 'Sequences in progress (with Redis: in all replicas together, as of the last sweep)',
      registers,
      collect() {
        this.set(metrics.#store?.stats().active ?? 0);
      },
    });
    new Gauge({
      name: 'rnn_sequence_state_bytes',
      help: 'Bytes of sequence state held in this process (0 with Redis)',
      registers,
      collect() {
        this.set(metrics.#store?.stats().bytes ?? 0);
      },
    });
    new Gauge({
      name: 'rnn_sequence_store_up',
      help: 'Whether the sequence store answers (1) or not (0; /readyz says why)',
      registers,
      collect() {
        this.set(metrics.#store === null || metrics.#store.ready().ready ? 1 : 0);
      },
    });
    this.#started = new Counter({
      name: 'rnn_sequences_started_total',
      help: 'Sequences started, restarts included',
      registers,
    });
    this.#restarted = new Counter({
      name: 'rnn_sequences_restarted_total',
      help: 'Starts that replaced a sequence in progress under the same id',
      registers,
    });
    this.#ended = new Counter({
      name: 'rnn_sequences_ended_total',
      help: 'Sequences ended by their last request',
      registers,
    });
    this.#expired = new Counter({
      name: 'rnn_sequences_expired_total',
      help: 'Sequences dropped after SEQUENCE_IDLE_MS without a step',
      registers,
    });
    this.#refused = new Counter({
      name: 'rnn_sequences_refused_total',
      help: 'Sequence requests refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.#refused.inc({ reason }, 0);
    this.#storeSeconds = new Histogram({
      name: 'rnn_sequence_store_seconds',
      help: 'Duration of sequence store round trips to Redis, by operation (the in-process store is not timed)',
      labelNames: ['operation'],
      buckets: STORE_SECONDS_BUCKETS,
      registers,
    });
  }

  /** The store whose gauges are reported; the store calls this when it is given these metrics. */
  observe(store: ObservedStore): void {
    this.#store = store;
  }

  started(restarted: boolean): void {
    this.#started.inc();
    if (restarted) this.#restarted.inc();
  }

  ended(): void {
    this.#ended.inc();
  }

  expired(count: number): void {
    if (count > 0) this.#expired.inc(count);
  }

  refused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
  }

  storeSeconds(operation: StoreOperation, seconds: number): void {
    this.#storeSeconds.observe({ operation }, seconds);
  }
}
