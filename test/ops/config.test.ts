import t from 'tap';
import {
  ConfigError,
  ConfigFromEnv,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  defaultConfig,
  loadConfig,
} from '../../src/config/config.js';
import { build } from '../helpers/build.js';
import { spawnServer } from '../helpers/server.js';

t.test('defaults of the operational settings', async (t) => {
  t.same(defaultConfig.http, { requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, connectionTimeoutMs: 60_000 });
  t.same(defaultConfig.shutdown, { delayMs: 5_000, graceMs: 20_000 });
  t.equal(defaultConfig.queue.timeoutMs, 10_000);
  t.equal(defaultConfig.queue.defaultPriority, 2);
  t.equal(defaultConfig.overload.maxEventLoopDelayMs, 1_000);
  t.same(defaultConfig.access, {
    apiKeys: [],
    metricsAuth: false,
    rateLimitMax: 0,
    rateLimitWindowMs: 60_000,
    corsOrigins: [],
    trustProxy: false,
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

t.test('the model lifecycle: MODEL_CONTROL_MODE, MODEL_POLL_SECONDS (fractions allowed), MODELS_LOAD', async (t) => {
  t.same(defaultConfig.models, {
    dir: './models',
    onError: 'fail',
    control: 'none',
    pollSeconds: 5,
    startupModels: '*',
  });
  const poll = loadConfig({ MODEL_CONTROL_MODE: 'poll', MODEL_POLL_SECONDS: '0.2' }).models;
  t.same([poll.control, poll.pollSeconds], ['poll', 0.2]);
  const explicit = loadConfig({ MODEL_CONTROL_MODE: 'explicit', MODELS_LOAD: ' a, b ,,' }).models;
  t.same([explicit.control, explicit.startupModels], ['explicit', ['a', 'b']]);
  t.same(loadConfig({ MODEL_CONTROL_MODE: 'explicit', MODELS_LOAD: '' }).models.startupModels, [], 'none at start-up');
  t.throws(
    () => loadConfig({ MODEL_CONTROL_MODE: 'watch' }),
    /^invalid environment variable MODEL_CONTROL_MODE="watch": /,
  );
  t.throws(() => loadConfig({ MODEL_POLL_SECONDS: '0' }), /MODEL_POLL_SECONDS="0"/);
  t.throws(
    () => loadConfig({ MODELS_LOAD: 'a' }),
    /^invalid environment variable MODELS_LOAD="a": names the models loaded at start-up in MODEL_CONTROL_MODE=explicit; with none every model is loaded/,
  );
});

t.test('TRUST_PROXY: false, true, or proxy addresses and CIDRs; anything else stops start-up naming it', async (t) => {
  const trust = (value: string) => loadConfig({ TRUST_PROXY: value }).access.trustProxy;
  t.equal(loadConfig({}).access.trustProxy, false, 'off by default');
  t.equal(trust('false'), false);
  t.equal(trust(''), false, 'blank: off');
  t.equal(trust('true'), true);
  t.same(trust('10.0.0.0/8,127.0.0.1'), ['10.0.0.0/8', '127.0.0.1']);
  t.same(trust(' 10.0.0.0/8 , ::1,, fd00::/8 '), ['10.0.0.0/8', '::1', 'fd00::/8'], 'trimmed, empty entries dropped');
  t.same(trust('192.168.0.0/255.255.0.0,loopback,linklocal,uniquelocal'), [
    '192.168.0.0/255.255.0.0',
    'loopback',
    'linklocal',
    'uniquelocal',
  ]);
  for (const [value, message] of [
    [
      'yes',
      /^invalid environment variable TRUST_PROXY="yes": 'yes' is not an IP address or CIDR; expected true, false/,
    ],
    ['10.0.0.0/8,proxy.internal', /TRUST_PROXY="10.0.0.0\/8,proxy.internal": 'proxy.internal' is not an IP address/],
    ['10.0.0.0/33', /'10.0.0.0\/33' is not an IP address or CIDR/],
    ['10.0.0.0/0', /'10.0.0.0\/0' is not/],
    ['::1/255.0.0.0', /'::1\/255.0.0.0' is not/],
    ['10.0.0.300', /'10.0.0.300' is not/],
    ['1', /^invalid environment variable TRUST_PROXY="1": a hop count is not accepted \(Fastify ignores it/],
  ] as const) {
    try {
      loadConfig({ TRUST_PROXY: value });
      t.fail(`${value} is refused`);
    } catch (error) {
      t.ok(error instanceof ConfigError, value);
      t.match((error as Error).message, message, value);
      t.notMatch((error as Error).message, /\n/, `${value}: one line`);
    }
  }
});

t.test('a bad TRUST_PROXY stops the process: one line on stderr naming it, exit code 2', async (t) => {
  const server = spawnServer({ TRUST_PROXY: 'the-load-balancer' });
  server.listening.catch(() => {});
  t.same(await server.exited, { code: 2, signal: null });
  t.match(
    server.stderr(),
    /^rnn-serve: invalid environment variable TRUST_PROXY="the-load-balancer": 'the-load-balancer' is not an IP address or CIDR[^\n]*\n$/,
  );
});

t.test('every accepted TRUST_PROXY value is one Fastify accepts', async (t) => {
  for (const value of [
    'false',
    'true',
    '10.0.0.0/8,127.0.0.1',
    '::1,fd00::/8',
    '192.168.0.0/255.255.0.0,uniquelocal',
  ]) {
    const { app } = await build(t, { access: loadConfig({ TRUST_PROXY: value }).access });
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-for': '203.0.113.1' } });
    t.equal(res.statusCode, 200, value);
  }
});

t.test('CONNECTION_TIMEOUT_MS is on by default (60 s) and reaches the Node server; 0 turns it off', async (t) => {
  t.equal(DEFAULT_CONNECTION_TIMEOUT_MS, 60_000);
  t.equal(loadConfig({}).http.connectionTimeoutMs, 60_000);
  t.equal(loadConfig({ CONNECTION_TIMEOUT_MS: '0' }).http.connectionTimeoutMs, 0);
  t.equal((await build(t)).app.server.timeout, 60_000, 'the default reaches the server');
  t.equal((await build(t, { http: { connectionTimeoutMs: 0 } })).app.server.timeout, 0);
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
  const server = spawnServer({ QUEUE_TIMEOUT_MS: 'many' });
  server.listening.catch(() => {});
  const exit = await server.exited;
  t.same(exit, { code: 2, signal: null });
  const lines = server.stderr().trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${server.stderr()}`);
  t.match(lines[0], /^rnn-serve: invalid environment variable QUEUE_TIMEOUT_MS="many": /);
  t.same(server.logs, [], 'nothing was logged: the app was never built');
});

t.test('every variable of the schema has a default, so an empty environment starts', async (t) => {
  t.doesNotThrow(() => ConfigFromEnv.parse({}));
});

t.test('gRPC settings: KServe port by default, 0 turns it off, message limit follows BODY_LIMIT_BYTES', async (t) => {
  t.same(defaultConfig.grpc, {
    port: 8081,
    maxMessageBytes: defaultConfig.limits.bodyLimitBytes,
    flowControlWindowBytes: 1024 * 1024,
    keepaliveTimeMs: 60_000,
    maxConnectionAgeMs: 0,
  });
  t.equal(loadConfig({ GRPC_PORT: '0' }).grpc.port, 0);
  t.equal(loadConfig({ BODY_LIMIT_BYTES: '1000' }).grpc.maxMessageBytes, 1000, 'BODY_LIMIT_BYTES by default');
  t.equal(loadConfig({ BODY_LIMIT_BYTES: '1000', GRPC_MAX_MESSAGE_BYTES: '5000' }).grpc.maxMessageBytes, 5000);
  t.throws(
    () => loadConfig({ GRPC_MAX_MESSAGE_BYTES: '0' }),
    /^invalid environment variable GRPC_MAX_MESSAGE_BYTES="0": /,
  );
  t.throws(() => loadConfig({ GRPC_PORT: '70000' }), /GRPC_PORT="70000"/);
  t.equal(loadConfig({ GRPC_MAX_CONNECTION_AGE_MS: '300000' }).grpc.maxConnectionAgeMs, 300_000);
});
