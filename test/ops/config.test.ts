import t from 'tap';
import { ConfigError, ConfigFromEnv, defaultConfig, loadConfig } from '../../src/config/config.js';
import { build } from '../helpers/build.js';
import { spawnServer } from '../helpers/server.js';

t.test('defaults of the operational settings', async (t) => {
  t.same(defaultConfig.http, { requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, connectionTimeoutMs: 0 });
  t.same(defaultConfig.shutdown, { delayMs: 5_000, graceMs: 20_000 });
  t.equal(defaultConfig.overload.maxConcurrentForward, 64);
  t.equal(defaultConfig.overload.maxEventLoopDelayMs, 1_000);
  t.same(defaultConfig.access, {
    apiKeys: [],
    metricsAuth: false,
    rateLimitMax: 0,
    rateLimitWindowMs: 60_000,
    corsOrigins: [],
  });
});

t.test('values are read from the environment', async (t) => {
  const config = loadConfig({
    REQUEST_TIMEOUT_MS: '1234',
    KEEP_ALIVE_TIMEOUT_MS: '5000',
    SHUTDOWN_DELAY_MS: '0',
    MAX_EVENT_LOOP_UTILIZATION: '0.9',
    API_KEYS: ' key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb,',
    METRICS_AUTH: 'true',
    CORS_ORIGINS: 'https://a.example,https://b.example',
  });
  t.equal(config.http.requestTimeoutMs, 1234);
  t.equal(config.http.keepAliveTimeoutMs, 5000);
  t.equal(config.shutdown.delayMs, 0);
  t.equal(config.overload.maxEventLoopUtilization, 0.9);
  t.same(config.access.apiKeys, ['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb'], 'trimmed, empty entries dropped');
  t.equal(config.access.metricsAuth, true);
  t.same(config.access.corsOrigins, ['https://a.example', 'https://b.example']);
  t.equal(loadConfig({ METRICS_AUTH: 'false' }).access.metricsAuth, false, '"false" is false');
  t.equal(loadConfig({ METRICS_AUTH: '1' }).access.metricsAuth, true);
});

t.test('a bad value throws one line naming the variable; secrets are not echoed', async (t) => {
  t.throws(() => loadConfig({ SHUTDOWN_GRACE_MS: 'soon' }), {
    name: 'Error',
    message: /^invalid environment variable SHUTDOWN_GRACE_MS="soon": /,
  });
  t.throws(() => loadConfig({ MAX_EVENT_LOOP_UTILIZATION: '1.5' }), /MAX_EVENT_LOOP_UTILIZATION="1.5"/);
  t.throws(() => loadConfig({ METRICS_AUTH: 'yes' }), /METRICS_AUTH="yes"/);
  t.throws(() => loadConfig({ KEEP_ALIVE_TIMEOUT_MS: '-1' }), /KEEP_ALIVE_TIMEOUT_MS/);
  try {
    loadConfig({ API_KEYS: 'short-secret' });
    t.fail('a short key is rejected');
  } catch (error) {
    t.ok(error instanceof ConfigError);
    t.match(
      (error as Error).message,
      /^invalid environment variable API_KEYS=\(redacted\): each key must be at least 16/,
    );
    t.notMatch((error as Error).message, /short-secret/);
  }
});

t.test('the HTTP timeouts reach the Node server', async (t) => {
  const { app } = await build(t, {
    http: { requestTimeoutMs: 4321, keepAliveTimeoutMs: 6543, connectionTimeoutMs: 98765 },
  });
  t.equal(app.server.requestTimeout, 4321);
  t.equal(app.server.keepAliveTimeout, 6543);
  t.equal(app.server.timeout, 98765);
});

t.test('the process refuses to start with a bad value: one line on stderr, exit code 2', async (t) => {
  const server = spawnServer({ MAX_CONCURRENT_FORWARD: 'many' });
  server.listening.catch(() => {});
  const exit = await server.exited;
  t.same(exit, { code: 2, signal: null });
  const lines = server.stderr().trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${server.stderr()}`);
  t.match(lines[0], /^rnn-serve: invalid environment variable MAX_CONCURRENT_FORWARD="many": /);
  t.same(server.logs, [], 'nothing was logged: the app was never built');
});

t.test('every variable of the schema has a default, so an empty environment starts', async (t) => {
  t.doesNotThrow(() => ConfigFromEnv.parse({}));
});
