/** The store the configuration asks for: this process by default, Redis with REDIS_URL. */
import { Registry } from 'prom-client';
import t from 'tap';
import { loadConfig } from '../../../src/config/config.js';
import { createSequenceStore } from '../../../src/core/sequences/create-store.js';
import { SequenceMetrics } from '../../../src/core/sequences/sequence-metrics.js';
import { sample } from '../../helpers/metrics.js';
import { freePort } from '../../helpers/redis-server.js';
import { OWNER } from '../../helpers/sequence-store-contract.js';

t.test('without REDIS_URL: in this process, with its limits and the reserve function', async (t) => {
  const reserved: number[] = [];
  const store = createSequenceStore(loadConfig({ SEQUENCE_MAX: '1' }).sequences, {
    retryAfterSeconds: 4,
    reserve: (bytes) => {
      reserved.push(bytes);
      return () => {};
    },
  });
  t.teardown(() => store.close());
  t.equal(store.kind, 'memory');
  await store.begin({ model: 'm', id: 1n }, OWNER, [new Float32Array(1)]);
  t.same(reserved, [1024 * 1024], 'memory reserved through the function passed');
  const refused = await store.begin({ model: 'm', id: 2n }, OWNER, []).catch((error) => error);
  t.match(refused.message, /SEQUENCE_MAX=1/);
  t.same(refused.headers, { 'retry-after': '4' });
});

t.test('with REDIS_URL: Redis, not ready while nothing listens, and the metrics say so', async (t) => {
  const port = await freePort();
  const registry = new Registry();
  const store = createSequenceStore(
    loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_TIMEOUT_MS: '200' }).sequences,
    { retryAfterSeconds: 1, metrics: new SequenceMetrics(registry) },
  );
  t.teardown(() => store.close());
  t.equal(store.kind, 'redis');
  for (let wait = 0; wait < 200 && !/ECONNREFUSED/.test(JSON.stringify(store.ready())); wait++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  t.same(store.ready(), { ready: false, reason: `redis: connect ECONNREFUSED 127.0.0.1:${port}` });
  t.equal(sample(await registry.metrics(), 'rnn_sequence_store_up'), 0);
  const refused = await store.load({ model: 'm', id: 1n }).catch((error) => error);
  t.equal(refused.status, 503);
});
