/**
 * config.ts reads the settings once from the environment. Held to each variable reaching its field, the default
 * priority kept within the levels, the Redis settings only with REDIS_URL, the contact only with what is given, and
 * a bad value as one ConfigError line naming the variable (secrets redacted, never echoed).
 */
import t from 'tap';
import { ConfigError, DEFAULT_PRIORITY_LEVEL, defaultConfig, loadConfig } from '../../src/config/config.js';

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration loaded');
};

t.test('variables reach their fields', async (t) => {
  const config = loadConfig({
    PORT: '9000',
    MAX_LAYERS: '3',
    POOL_THREADS: '0',
    QUEUE_PRIORITY_LEVELS: '5',
    QUEUE_DEFAULT_PRIORITY: '4',
    RATE_LIMIT_MAX: '10',
    CORS_ORIGINS: 'https://a.example',
    MODELS_DIR: '/srv/models',
    SEQUENCE_MAX: '3',
    REDIS_URL: 'redis://cache:6379/1',
    REDIS_KEY_PREFIX: 'x:',
    OPENAPI_CONTACT_NAME: 'Team',
    OPENAPI_CONTACT_EMAIL: 'team@example.com',
  });
  t.equal(config.port, 9000);
  t.equal(config.limits.maxLayers, 3);
  t.equal(config.pool.threads, 0);
  t.equal(config.pool.maxHeapMb, 0, 'no heap cap (see PoolSettings)');
  t.same([config.queue.priorityLevels, config.queue.defaultPriority], [5, 4]);
  t.same([config.access.rateLimitMax, config.access.corsOrigins], [10, ['https://a.example']]);
  t.equal(config.models.dir, '/srv/models');
  t.same(config.sequences.redis, { url: 'redis://cache:6379/1', keyPrefix: 'x:', timeoutMs: 500 });
  t.equal(config.sequences.maxSequences, 3);
  t.same(config.apiContact, { name: 'Team', email: 'team@example.com' }, 'no url: none given');
});

t.test('defaults', async (t) => {
  t.same(loadConfig({}), defaultConfig);
  t.equal(defaultConfig.sequences.redis, null, 'sequences in this process without REDIS_URL');
  t.equal(defaultConfig.queue.defaultPriority, DEFAULT_PRIORITY_LEVEL);
  t.equal(defaultConfig.models.startupModels, '*');
  t.same(defaultConfig.access.apiKeys, []);
  t.equal(
    loadConfig({ QUEUE_PRIORITY_LEVELS: '1' }).queue.defaultPriority,
    1,
    'the default level kept within the levels',
  );
});

t.test('a bad value: one line naming the variable; secrets redacted', async (t) => {
  t.equal(
    refusal({ MAX_BATCH: 'lots' }),
    'invalid environment variable MAX_BATCH="lots": Invalid input: expected number, received NaN',
  );
  t.equal(
    refusal({ API_KEYS: 'short-secret' }),
    'invalid environment variable API_KEYS=(redacted): each key must be at least 16 printable ASCII characters without spaces',
  );
  const redis = refusal({ REDIS_URL: 'http://user:hunter2@cache' });
  t.equal(redis, 'invalid environment variable REDIS_URL=(redacted): the scheme is not redis:// or rediss:// (TLS)');
  t.notMatch(redis, /hunter2/);
  t.match(
    refusal({ MODELS_LOAD: 'hello' }),
    /^invalid environment variable MODELS_LOAD="hello": names the models loaded at start-up in MODEL_CONTROL_MODE=explicit; with none every model is loaded/,
  );
  t.same(loadConfig({ MODELS_LOAD: 'hello', MODEL_CONTROL_MODE: 'explicit' }).models.startupModels, ['hello']);
});
