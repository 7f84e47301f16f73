/**
 * The Redis sequence store against a real redis-server this test starts (Debian's package; `.ci/run` installs it):
 * the contract every store keeps, then what sharing and a remote store bring: two replicas continuing each other's
 * sequences and racing on one, the entry's layout and expiry in Redis, scripts Redis forgot, an ACL user and a
 * database in the URL, and Redis stopped, paused and started again under a store that keeps running.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { RedisSequenceStore, type RedisStoreOptions } from '../../../src/core/sequences/redis-store.js';
import { SequenceMetrics } from '../../../src/core/sequences/sequence-metrics.js';
import type { ProblemError } from '../../../src/errors/problem-error.js';
import { sample } from '../../helpers/metrics.js';
import {
  opensslMissing,
  type RedisServer,
  redisServerMissing,
  selfSignedTls,
  startRedisServer,
} from '../../helpers/redis-server.js';
import { OWNER, RETRY_AFTER, sequenceStoreContract } from '../../helpers/sequence-store-contract.js';
import { TYPESCRIPT_CHILD_ARGS } from '../../helpers/typescript-child.js';

const missing = redisServerMissing();
const skip = missing ?? false;
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to 10 s) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 10_000) throw new Error(`still not ${what} after 10 s`);
    await delay(20);
  }
}

let prefixes = 0;

/** A store on `server`, ready, closed when `t` ends; its own key prefix unless one is given. */
async function storeOn(
  t: Test,
  server: RedisServer,
  options: Partial<RedisStoreOptions> = {},
  wait = true,
): Promise<RedisSequenceStore> {
  const store = new RedisSequenceStore({
    url: server.url,
    keyPrefix: `test-${++prefixes}:`,
    timeoutMs: 1000,
    idleMs: 60_000,
    maxSequences: 100,
    retryAfterSeconds: RETRY_AFTER,
    ...options,
  });
  t.teardown(() => store.close());
  if (wait) await until(() => store.ready().ready, 'connected');
  return store;
}

function admin(t: Test, server: RedisServer): Redis {
  const client = new Redis(server.url, { lazyConnect: false });
  t.teardown(() => client.disconnect());
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    return error as ProblemError;
  }
  throw new Error('expected a refusal');
}

t.test('the store contract, against redis-server', { skip }, async (t) => {
  const server = await startRedisServer(t);
  sequenceStoreContract(t, (t, limits, metrics) => storeOn(t, server, { ...limits, metrics }));
});

t.test(
  'two replicas on one Redis: either continues the other’s sequence; their race has one winner',
  { skip },
  async (t) => {
    const server = await startRedisServer(t);
    const a = await storeOn(t, server, { keyPrefix: 'shared:' });
    const b = await storeOn(t, server, { keyPrefix: 'shared:' });
    const key = { model: 'lstm', id: 2n ** 63n };
    await a.begin(key, OWNER, [new Float32Array([1, 2]), new Float32Array([3, 4])]);
    const onB = await b.load(key);
    t.equal(onB!.step, 0, 'b sees what a began');
    t.same(
      onB!.state.map((s) => [...s]),
      [
        [1, 2],
        [3, 4],
      ],
    );
    t.equal(await b.save(key, [new Float32Array([5, 6]), new Float32Array([7, 8])], 0), 1);
    const onA = await a.load(key);
    t.equal(onA!.step, 1, 'a continues from b’s step');
    t.same(
      onA!.state.map((s) => [...s]),
      [
        [5, 6],
        [7, 8],
      ],
    );

    for (let round = 0; round < 20; round++) {
      const raced = { model: 'lstm', id: `race-${round}` };
      await a.begin(raced, OWNER, [new Float32Array([0])]);
      const [fromA, fromB] = await Promise.allSettled([
        a.save(raced, [new Float32Array([1])], 0),
        b.save(raced, [new Float32Array([2])], 0),
      ]);
      const winners = [fromA, fromB].filter((o) => o.status === 'fulfilled');
      t.equal(winners.length, 1, `round ${round}: exactly one replica's step is applied`);
      const loser = [fromA, fromB].find((o) => o.status === 'rejected') as PromiseRejectedResult;
      t.equal((loser.reason as ProblemError).status, 409);
      t.match((loser.reason as ProblemError).message, /is at step 1, not step 0/);
      const stored = (await b.load(raced))!.state[0][0];
      t.equal(stored, fromA.status === 'fulfilled' ? 1 : 2, 'the winner’s state is stored');
    }
    t.equal(await b.end(key, 1), true, 'b ends what a began');
    t.equal(await a.load(key), null);
  },
);

t.test('SEQUENCE_MAX counts the sequences of all replicas together', { skip }, async (t) => {
  const server = await startRedisServer(t);
  const a = await storeOn(t, server, { keyPrefix: 'shared:', maxSequences: 2 });
  const b = await storeOn(t, server, { keyPrefix: 'shared:', maxSequences: 2 });
  await a.begin({ model: 'm', id: 1n }, OWNER, []);
  await b.begin({ model: 'm', id: 2n }, OWNER, []);
  const refused = await refusal(a.begin({ model: 'm', id: 3n }, OWNER, []));
  t.equal(refused.status, 503);
  t.match(refused.message, /2 sequences are in progress in all replicas, the limit \(SEQUENCE_MAX=2\)/);
  t.equal(a.stats().active, 2, 'the count is the shared one');
  await b.end({ model: 'm', id: 1n });
  t.same(await a.begin({ model: 'm', id: 3n }, OWNER, []), { step: 0, restarted: false });
});

t.test(
  'in Redis: one hash per sequence under the prefix, the idle limit as its expiry, and the index',
  { skip },
  async (t) => {
    const server = await startRedisServer(t);
    const store = await storeOn(t, server, { keyPrefix: 'app:seq:', idleMs: 30_000 });
    const redis = admin(t, server);
    await store.begin({ model: 'next-char', id: 18446744073709551615n }, OWNER, [new Float32Array([1.5])]);
    await store.begin({ model: 'next-char', id: 'user-7' }, OWNER, [new Float32Array([2.5])]);
    const keys = (await redis.keys('*')).sort();
    t.same(keys, ['app:seq:next-char:i:18446744073709551615', 'app:seq:next-char:s:user-7', 'app:seq:sequences']);
    const entry = await redis.hgetallBuffer('app:seq:next-char:i:18446744073709551615');
    t.same(Object.keys(entry).sort(), ['b', 'd', 'm', 's', 'v']);
    t.equal(entry.m.toString(), 'next-char');
    t.equal(entry.v.toString(), '1');
    t.equal(entry.d.toString(), 'sha256:aaaa');
    t.equal(entry.s.toString(), '0');
    t.same(
      [...entry.b],
      [1, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x00, 0xc0, 0x3f],
      'count, length, 1.5 as little-endian float32',
    );
    const ttl = await redis.pttl('app:seq:next-char:s:user-7');
    t.ok(ttl > 29_000 && ttl <= 30_000, `expiry set to the idle limit (${ttl} ms left)`);
    await store.save({ model: 'next-char', id: 'user-7' }, [new Float32Array([3])], 0);
    t.ok((await redis.pttl('app:seq:next-char:s:user-7')) > 29_000, 'and set again by a save');
    t.same(await redis.zrange('app:seq:sequences', 0, -1), ['next-char:i:18446744073709551615', 'next-char:s:user-7']);
    await store.end({ model: 'next-char', id: 'user-7' });
    t.same(await redis.keys('app:seq:next-char:s:*'), [], 'end deletes the entry');
    t.same(await redis.zrange('app:seq:sequences', 0, -1), ['next-char:i:18446744073709551615']);
  },
);

t.test('a sequence started again after it expired, before any sweep: counted as expired once', { skip }, async (t) => {
  const server = await startRedisServer(t);
  const registry = new Registry();
  const store = await storeOn(t, server, {
    idleMs: 100,
    sweepIntervalMs: 3_600_000,
    metrics: new SequenceMetrics(registry),
  });
  const key = { model: 'm', id: 1n };
  await store.begin(key, OWNER, [new Float32Array([1])]);
  await delay(200);
  t.same(await store.begin(key, OWNER, [new Float32Array([2])]), { step: 0, restarted: false }, 'a new sequence');
  t.equal(sample(await registry.metrics(), 'rnn_sequences_expired_total'), 1);
  t.equal(await store.sweep(), 0, 'the sweep finds nothing more to count');
  t.equal(sample(await registry.metrics(), 'rnn_sequences_expired_total'), 1);
  t.equal(store.stats().active, 1);
});

t.test('an entry under the prefix that is not a sequence state is refused, not decoded', { skip }, async (t) => {
  const server = await startRedisServer(t);
  const store = await storeOn(t, server, { keyPrefix: 'p:' });
  const redis = admin(t, server);
  await redis.hset('p:m:i:1', 'v', '1', 'd', 'x', 's', '0', 'b', 'garbage');
  const refused = await refusal(store.load({ model: 'm', id: 1n }));
  t.equal(refused.status, 503);
  t.match(refused.message, /holds an entry under its key that is not a sequence state/);
  await redis.set('p:m:i:2', 'a string');
  const wrongType = await refusal(store.load({ model: 'm', id: 2n }));
  t.match(wrongType.message, /refused the command \(WRONGTYPE\)/);
});

t.test('Redis refusing writes (OOM): 503 naming it, not ready until a call succeeds again', { skip }, async (t) => {
  const server = await startRedisServer(t, ['--maxmemory-policy', 'noeviction']);
  const store = await storeOn(t, server, { sweepIntervalMs: 50 });
  const redis = admin(t, server);
  const key = { model: 'm', id: 1n };
  await store.begin(key, OWNER, [new Float32Array([1])]);
  await redis.config('SET', 'maxmemory', '1');
  const refused = await refusal(store.save(key, [new Float32Array([2])], 0));
  t.equal(refused.status, 503);
  t.match(refused.message, /the sequence store \(Redis\) refused the command \(OOM\); retry after 2 s$/);
  t.match(store.ready(), { ready: false, reason: /^redis: OOM command not allowed when used memory > 'maxmemory'/ });
  t.same([...(await store.load(key))!.state[0]], [1], 'reads still work');
  t.equal(store.ready().ready, false, 'and do not make it ready');
  await redis.config('SET', 'maxmemory', '0');
  await until(() => store.ready().ready, 'ready once a sweep succeeds');
  t.equal(await store.save(key, [new Float32Array([2])], 0), 1);
});

t.test('scripts Redis no longer knows (SCRIPT FLUSH, a restart) are sent again', { skip }, async (t) => {
  const server = await startRedisServer(t);
  const store = await storeOn(t, server);
  const redis = admin(t, server);
  const key = { model: 'm', id: 1n };
  await store.begin(key, OWNER, [new Float32Array([1])]);
  await redis.script('FLUSH');
  t.equal(await store.save(key, [new Float32Array([2])], 0), 1, 'EVALSHA answered NOSCRIPT; EVAL ran it');
  t.equal(await store.save(key, [new Float32Array([3])], 1), 2, 'and it is known again');
  t.equal(await store.end(key), true);
});

t.test('an ACL user with a password and a database number, from the URL', { skip }, async (t) => {
  // The least the store needs: its commands, inside its scripts too, on its keys only.
  const acl = [
    'on',
    '>s3cret/p@ss',
    '~rnn-serve:seq:*',
    '+@read',
    '+@write',
    '+@scripting',
    '+time',
    '+select',
    '+ping',
  ];
  const server = await startRedisServer(t, ['--user', 'rnn', ...acl]);
  const url = `redis://rnn:${encodeURIComponent('s3cret/p@ss')}@127.0.0.1:${server.port}/3`;
  const store = await storeOn(t, server, { url, keyPrefix: 'rnn-serve:seq:', idleMs: 100, maxSequences: 1 });
  const key = { model: 'm', id: 'acl' };
  await store.begin(key, OWNER, [new Float32Array([1])]);
  t.equal(await store.save(key, [new Float32Array([2])], 0), 1);
  t.same([...(await store.load(key))!.state[0]], [2]);
  await delay(150);
  t.same(
    await store.begin({ model: 'm', id: 'next' }, OWNER, []),
    { step: 0, restarted: false },
    'the sweep in a script',
  );
  const redis = admin(t, server);
  t.same(await redis.keys('*'), [], 'nothing in database 0');
  await redis.select(3);
  t.same(
    (await redis.keys('*')).sort(),
    ['rnn-serve:seq:m:s:next', 'rnn-serve:seq:sequences'],
    'database 3 holds them',
  );
  t.equal(await store.end({ model: 'm', id: 'next' }), true);

  const wrong = await storeOn(t, server, { url: url.replace('s3cret', 'guess') }, false);
  await until(() => !wrong.ready().ready && /WRONGPASS/.test((wrong.ready() as { reason: string }).reason), 'refused');
  t.match(wrong.ready(), { ready: false, reason: /^redis: WRONGPASS invalid username-password pair/ });
  t.notMatch(JSON.stringify(wrong.ready()), /guess|s3cret/, 'no password in the reason');
  const refused = await refusal(wrong.load(key));
  t.equal(refused.status, 503);
  t.notMatch(refused.message, /guess|s3cret/);
});

t.test(
  'Redis stopped: 503 at once and ready() says why; Redis started again: the same store works',
  { skip },
  async (t) => {
    const server = await startRedisServer(t);
    const registry = new Registry();
    const metrics = new SequenceMetrics(registry);
    const store = await storeOn(t, server, { timeoutMs: 1000, metrics });
    const key = { model: 'm', id: 1n };
    await store.begin(key, OWNER, [new Float32Array([1])]);
    t.equal(sample(await registry.metrics(), 'rnn_sequence_store_up'), 1);

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await server.stop(signal);
      await until(() => !store.ready().ready, `down after ${signal}`);
      await until(
        () => /ECONNREFUSED/.test((store.ready() as { reason?: string }).reason ?? ''),
        'refused reconnecting',
      );
      t.match(store.ready(), { ready: false, reason: `redis: connect ECONNREFUSED 127.0.0.1:${server.port}` });
      for (const call of [
        () => store.load(key),
        () => store.save(key, [], 0),
        () => store.begin({ model: 'm', id: 2n }, OWNER, []),
        () => store.end(key),
      ]) {
        const started = performance.now();
        const refused = await refusal(call());
        const took = performance.now() - started;
        t.equal(refused.status, 503, `${signal}: 503`);
        t.equal(refused.kind, 'sequence-store-unavailable');
        t.same(refused.headers, { 'retry-after': String(RETRY_AFTER) });
        t.match(
          refused.message,
          /^sequence (1|2) of model "m" could not be \w+: the sequence store \(Redis\) is not connected; retry after 2 s$/,
        );
        t.ok(took < 1000, `${signal}: refused at once, not after REDIS_TIMEOUT_MS (${took.toFixed(1)} ms)`);
      }
      const text = await registry.metrics();
      t.equal(sample(text, 'rnn_sequence_store_up'), 0, 'the metrics say it is down');
      t.ok(sample(text, 'rnn_sequences_refused_total', 'reason="unavailable"')! >= 4);

      await server.start();
      await until(() => store.ready().ready, `up again after ${signal}`);
      t.equal(await store.load(key), null, 'an unpersisted Redis comes back empty');
      t.same(await store.begin(key, OWNER, [new Float32Array([2])]), { step: 0, restarted: false }, 'and works');
      t.equal(sample(await registry.metrics(), 'rnn_sequence_store_up'), 1);
    }
  },
);

t.test(
  'Redis paused: refused after REDIS_TIMEOUT_MS, not later; it answers again once resumed',
  { skip },
  async (t) => {
    const server = await startRedisServer(t);
    const store = await storeOn(t, server, { timeoutMs: 300 });
    const key = { model: 'm', id: 1n };
    await store.begin(key, OWNER, [new Float32Array([1])]);
    server.pause();
    const started = performance.now();
    const refused = await refusal(store.save(key, [new Float32Array([2])], 0));
    const took = performance.now() - started;
    t.equal(refused.status, 503);
    t.match(refused.message, /the sequence store \(Redis\) did not answer within 300 ms \(REDIS_TIMEOUT_MS\)/);
    t.ok(took >= 290 && took < 2000, `refused after the timeout (${took.toFixed(0)} ms)`);
    t.same(store.ready(), { ready: false, reason: 'redis: did not answer within 300 ms (REDIS_TIMEOUT_MS)' });
    server.resume();
    await until(() => store.ready().ready, 'answering again (the sweep checks)');
    // The timed-out save may have run once Redis resumed: the step is 0 or 1, and the next save says which.
    const entry = await store.load(key);
    t.ok(entry!.step === 0 || entry!.step === 1);
    t.equal(await store.save(key, [new Float32Array([3])], entry!.step), entry!.step + 1);
  },
);

t.test('the store’s round trips are timed by operation', { skip }, async (t) => {
  const server = await startRedisServer(t);
  const registry = new Registry();
  const store = await storeOn(t, server, { metrics: new SequenceMetrics(registry) });
  const key = { model: 'm', id: 1n };
  await store.begin(key, OWNER, []);
  await store.load(key);
  await store.save(key, [], 0);
  await store.end(key);
  const text = await registry.metrics();
  for (const operation of ['begin', 'load', 'save', 'end'])
    t.equal(sample(text, 'rnn_sequence_store_seconds_count', `operation="${operation}"`), 1, operation);
});

t.test(
  'rediss://: TLS, with the server’s certificate checked',
  { skip: missing ?? opensslMissing() ?? false },
  async (t) => {
    const tls = selfSignedTls(t);
    const server = await startRedisServer(t, [], tls);
    t.match(server.url, /^rediss:/);
    const untrusted = await storeOn(t, server, {}, false);
    const reason = () => (untrusted.ready() as { reason?: string }).reason ?? '';
    await until(() => /certificate/.test(reason()), 'refused for its certificate');
    t.match(reason(), /^redis: (unable to verify|self-signed certificate|unable to get local issuer certificate)/);
    t.equal((await refusal(untrusted.load({ model: 'm', id: 1n }))).status, 503);

    // Trusted through NODE_EXTRA_CA_CERTS, which Node reads as it starts: a process of its own.
    const script = `
    const { RedisSequenceStore } = await import('./src/core/sequences/redis-store.ts');
    const store = new RedisSequenceStore({
      url: process.env.STORE_URL, keyPrefix: 'tls:', timeoutMs: 5000, idleMs: 60000, maxSequences: 10, retryAfterSeconds: 1,
    });
    for (let i = 0; i < 400 && !store.ready().ready; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    const key = { model: 'm', id: 1n };
    const begun = await store.begin(key, { version: '1', weightsDigest: 'd' }, [new Float32Array([1.5])]);
    const entry = await store.load(key);
    console.log(JSON.stringify({ ready: store.ready(), begun, state: [...entry.state[0]] }));
    await store.close();
  `;
    const run = await promisify(execFile)(
      process.execPath,
      [...TYPESCRIPT_CHILD_ARGS, '--input-type=module', '-e', script],
      { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca, STORE_URL: server.url }, timeout: 60_000 },
    );
    t.same(JSON.parse(run.stdout.trim().split('\n').pop()!), {
      ready: { ready: true },
      begun: { step: 0, restarted: false },
      state: [1.5],
    });
    const redis = new Redis(server.url, { tls: { ca: readFileSync(tls.ca) } });
    t.teardown(() => redis.disconnect());
    t.same((await redis.keys('*')).sort(), ['tls:m:i:1', 'tls:sequences'], 'written over TLS');
  },
);

if (missing !== null) t.comment(`skipped: ${missing}`);
