/**
 * The sequence settings: SEQUENCE_IDLE_MS, SEQUENCE_MAX, and the Redis store's REDIS_URL, REDIS_KEY_PREFIX and
 * REDIS_TIMEOUT_MS. A bad REDIS_URL stops start-up with a message that never quotes it (it may hold a password).
 */
import t from 'tap';
import {
  ConfigError,
  DEFAULT_REDIS_KEY_PREFIX,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_SEQUENCE_IDLE_MS,
  DEFAULT_SEQUENCE_MAX,
  loadConfig,
} from '../../src/config/config.js';

t.test('defaults: a minute idle, 10,000 sequences, in this process', async (t) => {
  t.same(loadConfig({}).sequences, { idleMs: 60_000, maxSequences: 10_000, redis: null });
  t.equal(DEFAULT_SEQUENCE_IDLE_MS, 60_000);
  t.equal(DEFAULT_SEQUENCE_MAX, 10_000);
  t.same(loadConfig({ REDIS_URL: '  ' }).sequences.redis, null, 'a blank REDIS_URL is none');
});

t.test('values from the environment; the Redis settings only with REDIS_URL', async (t) => {
  t.same(
    loadConfig({
      SEQUENCE_IDLE_MS: '5000',
      SEQUENCE_MAX: '12',
      REDIS_URL: 'rediss://rnn:p%40ss@redis.internal:6380/2',
      REDIS_KEY_PREFIX: 'team-a:seq:',
      REDIS_TIMEOUT_MS: '250',
    }).sequences,
    {
      idleMs: 5000,
      maxSequences: 12,
      redis: { url: 'rediss://rnn:p%40ss@redis.internal:6380/2', keyPrefix: 'team-a:seq:', timeoutMs: 250 },
    },
  );
  t.same(loadConfig({ REDIS_URL: 'redis://127.0.0.1' }).sequences.redis, {
    url: 'redis://127.0.0.1',
    keyPrefix: DEFAULT_REDIS_KEY_PREFIX,
    timeoutMs: DEFAULT_REDIS_TIMEOUT_MS,
  });
  t.equal(DEFAULT_REDIS_KEY_PREFIX, 'rnn-serve:seq:');
  t.equal(DEFAULT_REDIS_TIMEOUT_MS, 500);
  for (const url of ['redis://h', 'redis://h:6379', 'redis://h:6379/', 'redis://:pw@h/15', 'redis://[::1]:6379/0'])
    t.equal(loadConfig({ REDIS_URL: url }).sequences.redis?.url, url, url);
});

t.test('a bad value names the variable; a bad REDIS_URL is described, never quoted', async (t) => {
  for (const [env, message] of [
    [{ SEQUENCE_IDLE_MS: '0' }, /^invalid environment variable SEQUENCE_IDLE_MS="0": /],
    [{ SEQUENCE_MAX: 'lots' }, /^invalid environment variable SEQUENCE_MAX="lots": /],
    [{ REDIS_TIMEOUT_MS: '-5' }, /^invalid environment variable REDIS_TIMEOUT_MS="-5": /],
    [{ REDIS_KEY_PREFIX: '' }, /^invalid environment variable REDIS_KEY_PREFIX="": /],
    [
      { REDIS_URL: 'http://user:hunter2@h:6379' },
      /REDIS_URL=\(redacted\): the scheme is not redis:\/\/ or rediss:\/\/ \(TLS\)$/,
    ],
    [
      { REDIS_URL: 'hunter2 at h' },
      /REDIS_URL=\(redacted\): is not a URL; expected redis:\/\/\[user\[:password\]@\]host/,
    ],
    [{ REDIS_URL: 'hunter2:x@h:6379' }, /REDIS_URL=\(redacted\): the scheme is not redis:\/\//],
    [{ REDIS_URL: 'redis://:hunter2@h:6379/zero' }, /REDIS_URL=\(redacted\): the path must be a database number/],
  ] as const) {
    try {
      loadConfig(env);
      t.fail(`${JSON.stringify(env)} is refused`);
    } catch (error) {
      t.ok(error instanceof ConfigError);
      t.match((error as Error).message, message);
      t.notMatch((error as Error).message, /hunter2/, 'the password is not echoed');
    }
  }
});
