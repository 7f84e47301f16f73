/**
 * The store the configuration asks for: Redis with REDIS_URL, else this process. The core calls this once and passes
 * what only it has: the memory budget (as a reserve function), the metrics' registry, the logger.
 */
import type { Sequences } from '../../config/config.js';
import { MemorySequenceStore, type ReserveBytes } from './memory-store.js';
import { RedisSequenceStore, type StoreLog } from './redis-store.js';
import type { SequenceMetrics } from './sequence-metrics.js';
import type { SequenceStore } from './sequence-store.js';

export interface StoreDependencies {
  /** The Retry-After of the store's 503s (RETRY_AFTER_SECONDS). */
  readonly retryAfterSeconds: number;
  /** Memory for states held in this process (unused with Redis). */
  readonly reserve?: ReserveBytes;
  readonly metrics?: SequenceMetrics;
  readonly log?: StoreLog;
}

export function createSequenceStore(settings: Sequences, dependencies: StoreDependencies): SequenceStore {
  const { idleMs, maxSequences, redis } = settings;
  const { retryAfterSeconds, metrics } = dependencies;
  if (redis === null)
    return new MemorySequenceStore({ idleMs, maxSequences, retryAfterSeconds, metrics, reserve: dependencies.reserve });
  return new RedisSequenceStore({ ...redis, idleMs, maxSequences, retryAfterSeconds, metrics, log: dependencies.log });
}
