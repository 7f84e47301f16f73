/**
 * How a served model's requests are queued and merged: its configuration's `dynamic_batching` (config.pbtxt,
 * Triton's model configuration) where it has one, else the server's settings (BATCH_MAX_*, QUEUE_*).
 *
 * - No config.pbtxt: the server's batching (BATCH_MAX_ROWS rows, BATCH_MAX_DELAY_MS) and queue (QUEUE_*).
 * - A config.pbtxt without `dynamic_batching`: its passes are never merged (Triton batches only with a dynamic or
 *   sequence batcher), and the server's queue settings apply.
 * - With `dynamic_batching`: passes of up to `max_batch_size` rows, waiting up to `max_queue_delay_microseconds`
 *   for a pass to fill or reach a `preferred_batch_size`; `priority_levels` and `default_priority_level` replace the
 *   server's levels for its requests; the queue policy of a request's level (`priority_queue_policy`, else
 *   `default_queue_policy`) sets its default timeout (0: QUEUE_TIMEOUT_MS, as no request waits without bound),
 *   whether the request's own timeout may shorten it (`allow_timeout_override`: Triton lets a request lower the
 *   model's timeout, never raise it) and how many of its requests may wait (`max_queue_size`).
 * - With `sequence_batching`: chunks of different sequences merge into passes of up to `max_batch_size` rows, with
 *   its strategy's delay (and the `oldest` strategy's preferred sizes).
 */
import type { QueueSettings } from '../config/config.js';
import { invalidAt } from '../errors/problem-error.js';
import type { DynamicBatching, QueuePolicy, SequenceBatching } from '../models/model-config/model-config.js';
import type { ServedModel } from '../models/repository.js';
import { type Batching, UNBATCHED } from './batching.js';

export interface ModelSchedule {
  readonly batching: Batching;
  /** How the chunks of stateful sequences merge: `sequence_batching` where configured, else as other passes. */
  readonly sequences: Batching;
  /** The model's own queue rules; null: the server's. */
  readonly queue: ModelQueue | null;
}

export interface ModelQueue {
  /** The configuration file, for messages. */
  readonly source: string;
  readonly name: string;
  readonly version: string;
  readonly batching: DynamicBatching;
}

/** A request's place in the queue, as its model's rules and its own fields set it. */
export interface QueuePlace {
  readonly priority: number;
  readonly timeoutMs: number;
  /** What set the timeout: the request's field, the model's policy, or QUEUE_TIMEOUT_MS. */
  readonly timeoutFrom: string;
  /** How many requests of its model and level may wait, and what says so; null: no bound but POOL_MAX_QUEUE. */
  readonly bound: { readonly key: string; readonly max: number; readonly from: string } | null;
}

/** What a request asks for, and where it asked. */
export interface ScheduleFields {
  readonly schedule: { readonly priority?: number; readonly timeoutMs?: number };
  readonly scheduleAt: { readonly priority: string; readonly timeoutMs: string };
}

const schedules = new WeakMap<ServedModel, ModelSchedule>();

/** The schedule of a served model (read once per loaded version). */
export function modelSchedule(served: ServedModel, serverBatching: Batching): ModelSchedule {
  let schedule = schedules.get(served);
  if (schedule === undefined) {
    schedule = readSchedule(served, serverBatching);
    schedules.set(served, schedule);
  }
  return schedule;
}

function readSchedule(served: ServedModel, serverBatching: Batching): ModelSchedule {
  const { config } = served;
  if (config.source === null) return { batching: serverBatching, sequences: serverBatching, queue: null };
  const dynamic = config.dynamicBatching;
  const batching =
    dynamic === null
      ? UNBATCHED
      : {
          maxRows: config.maxBatchSize,
          maxDelayMs: dynamic.maxQueueDelayMicroseconds / 1000,
          preferredRows: ascending(dynamic.preferredBatchSizes),
        };
  return {
    batching,
    sequences: sequenceBatching(config.sequenceBatching, config.maxBatchSize) ?? batching,
    queue:
      dynamic === null
        ? null
        : { source: config.source, name: served.name, version: served.version, batching: dynamic },
  };
}

/**
 * Chunks of different sequences merged into one pass (Triton's sequence batcher): up to max_batch_size sequences,
 * the `oldest` strategy's delay and preferred sizes, or the `direct` strategy's delay.
 */
function sequenceBatching(sequences: SequenceBatching | null, maxBatchSize: number): Batching | null {
  if (sequences === null) return null;
  if (maxBatchSize < 2) return UNBATCHED;
  const strategy = sequences.strategy;
  if (strategy === null) return { maxRows: maxBatchSize, maxDelayMs: 0, preferredRows: [] };
  return {
    maxRows: maxBatchSize,
    maxDelayMs: strategy.maxQueueDelayMicroseconds / 1000,
    preferredRows: strategy.kind === 'oldest' ? ascending(strategy.preferredBatchSizes) : [],
  };
}

const ascending = (sizes: readonly number[]): number[] => [...sizes].sort((a, b) => a - b);

/** Where a request goes in the queue: its level, its deadline and its model's bound (400 for a level beyond). */
export function queuePlace(queue: QueueSettings, model: ModelSchedule['queue'], fields: ScheduleFields): QueuePlace {
  const { schedule, scheduleAt } = fields;
  const own = model !== null && model.batching.priorityLevels > 0;
  const levels = own ? model.batching.priorityLevels : queue.priorityLevels;
  const defaultLevel = own ? model.batching.defaultPriorityLevel : queue.defaultPriority;
  const priority = schedule.priority === undefined || schedule.priority === 0 ? defaultLevel : schedule.priority;
  if (priority > levels)
    invalidAt(
      scheduleAt.priority,
      `is ${priority}; the priority levels are 1 (first) to ${levels} (` +
        `${own ? `dynamic_batching.priority_levels in ${model.source}` : 'QUEUE_PRIORITY_LEVELS'}), 0 for the default (${defaultLevel})`,
    );
  if (model === null) {
    const given = schedule.timeoutMs !== undefined;
    return {
      priority,
      timeoutMs: schedule.timeoutMs ?? queue.timeoutMs,
      timeoutFrom: given ? scheduleAt.timeoutMs : 'QUEUE_TIMEOUT_MS',
      bound: null,
    };
  }
  const levelPolicy = model.batching.priorityQueuePolicies.get(priority);
  const policy: QueuePolicy = levelPolicy ?? model.batching.defaultQueuePolicy;
  const policyAt =
    levelPolicy === undefined
      ? 'dynamic_batching.default_queue_policy'
      : `dynamic_batching.priority_queue_policy[${priority}]`;
  const modelTimeout = policy.defaultTimeoutMicroseconds > 0 ? policy.defaultTimeoutMicroseconds / 1000 : null;
  let timeoutMs = modelTimeout ?? queue.timeoutMs;
  let timeoutFrom =
    modelTimeout === null ? 'QUEUE_TIMEOUT_MS' : `${policyAt}.default_timeout_microseconds in ${model.source}`;
  const asked = schedule.timeoutMs;
  if (asked !== undefined) {
    if (!policy.allowTimeoutOverride)
      timeoutFrom += `; ${scheduleAt.timeoutMs} is not used: ${policyAt}.allow_timeout_override is false`;
    else if (modelTimeout === null || asked < modelTimeout) {
      timeoutMs = asked;
      timeoutFrom = scheduleAt.timeoutMs;
    }
  }
  const bound =
    policy.maxQueueSize > 0
      ? {
          key: `${model.name}\u0000${model.version}\u0000${priority}`,
          max: policy.maxQueueSize,
          from: `${policyAt}.max_queue_size in ${model.source}`,
        }
      : null;
  return { priority, timeoutMs, timeoutFrom, bound };
}
