/**
 * The sequences' metrics: what the store and the core report, as Prometheus reads it, and `promtool check metrics`
 * (Debian's prometheus package) finding nothing to say about it.
 */
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import t from 'tap';
import { MemorySequenceStore } from '../../../src/core/sequences/memory-store.js';
import { REFUSAL_REASONS, SequenceMetrics } from '../../../src/core/sequences/sequence-metrics.js';
import { sample } from '../../helpers/metrics.js';
import { OWNER } from '../../helpers/sequence-store-contract.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const probe = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
const promtoolMissing =
  probe.error === undefined && probe.status === 0
    ? false
    : `${PROMTOOL} is missing: install Debian's prometheus (apt-get install -y prometheus)`;

async function exercised() {
  const registry = new Registry();
  const metrics = new SequenceMetrics(registry);
  const store = new MemorySequenceStore({ maxSequences: 2, idleMs: 60_000, retryAfterSeconds: 1, metrics });
  const a = { model: 'm', id: 1n };
  await store.begin(a, OWNER, [new Float32Array(4)]);
  await store.begin(a, OWNER, [new Float32Array(4)]);
  await store.begin({ model: 'm', id: 2n }, OWNER, []);
  await store.begin({ model: 'm', id: 3n }, OWNER, []).catch(() => {});
  await store.save(a, [], 0).catch(() => {});
  await store.end({ model: 'm', id: 2n });
  metrics.refused('not-started');
  metrics.refused('not-started');
  metrics.storeSeconds('load', 0.0003);
  metrics.storeSeconds('save', 0.002);
  return { registry, metrics, store };
}

t.test('what the store and the core report', async (t) => {
  const { registry, store } = await exercised();
  t.teardown(() => store.close());
  const text = await registry.metrics();
  t.equal(sample(text, 'rnn_sequences_active'), 1);
  t.equal(sample(text, 'rnn_sequence_state_bytes'), store.stats().bytes);
  t.ok(store.stats().bytes > 16, 'the held state counted');
  t.equal(sample(text, 'rnn_sequence_store_up'), 1);
  t.equal(sample(text, 'rnn_sequences_started_total'), 3);
  t.equal(sample(text, 'rnn_sequences_restarted_total'), 1);
  t.equal(sample(text, 'rnn_sequences_ended_total'), 1);
  t.equal(sample(text, 'rnn_sequences_expired_total'), 0);
  t.equal(sample(text, 'rnn_sequences_refused_total', 'reason="limit"'), 1);
  t.equal(sample(text, 'rnn_sequences_refused_total', 'reason="conflict"'), 1);
  t.equal(sample(text, 'rnn_sequences_refused_total', 'reason="not-started"'), 2);
  t.equal(sample(text, 'rnn_sequence_store_seconds_bucket', 'le="0.0005",operation="load"'), 1);
  t.equal(sample(text, 'rnn_sequence_store_seconds_count', 'operation="save"'), 1);
});

t.test('every refusal reason is exposed from the start, at 0; without a store the gauges read 0 and up', async (t) => {
  const registry = new Registry();
  new SequenceMetrics(registry);
  const text = await registry.metrics();
  for (const reason of REFUSAL_REASONS) t.equal(sample(text, 'rnn_sequences_refused_total', `reason="${reason}"`), 0);
  t.equal(sample(text, 'rnn_sequences_active'), 0);
  t.equal(sample(text, 'rnn_sequence_store_up'), 1);
});

t.test('promtool check metrics finds nothing', { skip: promtoolMissing }, async (t) => {
  const { registry, store } = await exercised();
  t.teardown(() => store.close());
  const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
  t.equal(checked.status, 0, checked.stderr);
  t.equal(checked.stdout + checked.stderr, '', 'no lint finding');
});
