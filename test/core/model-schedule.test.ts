/**
 * A served model's schedule read from its config.pbtxt (src/core/model-schedule.ts): the server's batching without a
 * configuration, none with a configuration that has no batcher, the dynamic and sequence batchers' settings.
 */
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import { modelSchedule, queuePlace } from '../../src/core/model-schedule.js';
import { defaultModelConfig, parseModelConfig } from '../../src/models/model-config/model-config.js';
import type { ServedModel } from '../../src/models/repository.js';

const SERVER = { maxRows: 64, maxDelayMs: 0, preferredRows: [] };
const servedWith = (config: string | null) =>
  ({
    name: 'm',
    version: '3',
    config: config === null ? defaultModelConfig() : parseModelConfig(config, 'm/config.pbtxt', { name: 'm' }),
  }) as unknown as ServedModel;

t.test('batching: the server, none, dynamic_batching, sequence_batching', async (t) => {
  const none = modelSchedule(servedWith(null), SERVER);
  t.same([none.batching, none.sequences, none.queue], [SERVER, SERVER, null], 'no config.pbtxt: the server');
  const plain = modelSchedule(servedWith('max_batch_size: 8'), SERVER);
  t.same(plain.batching, { maxRows: 1, maxDelayMs: 0, preferredRows: [] }, 'no batcher: never merged');
  const dynamic = modelSchedule(
    servedWith(
      'max_batch_size: 16 dynamic_batching { preferred_batch_size: [ 8, 4 ] max_queue_delay_microseconds: 1500 }',
    ),
    SERVER,
  );
  t.same(dynamic.batching, { maxRows: 16, maxDelayMs: 1.5, preferredRows: [4, 8] });
  t.same(dynamic.sequences, dynamic.batching, 'sequences batch as the rest without a sequence batcher');
  t.equal(dynamic.queue?.source, 'm/config.pbtxt');
  const oldest = modelSchedule(
    servedWith(`max_batch_size: 4 sequence_batching {
      oldest { max_candidate_sequences: 4 preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 3000 } }`),
    SERVER,
  );
  t.same(oldest.sequences, { maxRows: 4, maxDelayMs: 3, preferredRows: [2] }, 'the oldest strategy');
  t.same(oldest.batching, { maxRows: 1, maxDelayMs: 0, preferredRows: [] }, 'other requests: no dynamic batcher');
  const direct = modelSchedule(servedWith('max_batch_size: 4 sequence_batching { }'), SERVER);
  t.same(direct.sequences, { maxRows: 4, maxDelayMs: 0, preferredRows: [] }, "Triton's default: direct, no delay");
  const single = modelSchedule(servedWith('sequence_batching { }'), SERVER);
  t.same(single.sequences.maxRows, 1, 'max_batch_size 0: one sequence a pass');
});

t.test('the schedule is read once per loaded version', async (t) => {
  const served = servedWith('max_batch_size: 2 dynamic_batching { }');
  t.equal(modelSchedule(served, SERVER), modelSchedule(served, SERVER));
});

t.test("queuePlace: the server's levels and timeout for a model without its own", async (t) => {
  const queue = defaultConfig.queue;
  const at = { priority: 'parameters.priority', timeoutMs: 'parameters.timeout' };
  t.same(queuePlace(queue, null, { schedule: {}, scheduleAt: at }), {
    priority: queue.defaultPriority,
    timeoutMs: queue.timeoutMs,
    timeoutFrom: 'QUEUE_TIMEOUT_MS',
    bound: null,
  });
  t.same(queuePlace(queue, null, { schedule: { priority: 1, timeoutMs: 5 }, scheduleAt: at }), {
    priority: 1,
    timeoutMs: 5,
    timeoutFrom: 'parameters.timeout',
    bound: null,
  });
  const model = modelSchedule(
    servedWith('max_batch_size: 2 dynamic_batching { default_queue_policy { max_queue_size: 3 } }'),
    SERVER,
  ).queue;
  t.same(
    queuePlace(queue, model, { schedule: { timeoutMs: 5 }, scheduleAt: at }),
    {
      priority: queue.defaultPriority,
      timeoutMs: queue.timeoutMs,
      timeoutFrom:
        'QUEUE_TIMEOUT_MS; parameters.timeout is not used: dynamic_batching.default_queue_policy.allow_timeout_override is false',
      bound: {
        key: `m\u00003\u0000${queue.defaultPriority}`,
        max: 3,
        from: 'dynamic_batching.default_queue_policy.max_queue_size in m/config.pbtxt',
      },
    },
    "no timeout of the model's own (0): the server's; the request's only where the policy allows (Triton's rule)",
  );
});
