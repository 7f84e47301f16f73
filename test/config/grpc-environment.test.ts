/**
 * grpc-environment.ts: the GRPC_* variables read from text, with their bounds and defaults, all in the gRPC
 * section of docs/configuration.md.
 */
import t from 'tap';
import {
  DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES,
  DEFAULT_GRPC_KEEPALIVE_TIME_MS,
  DEFAULT_GRPC_PORT,
  grpc,
} from '../../src/config/grpc-environment.js';
import { CONFIG_SECTIONS } from '../../src/config/sections.js';
import { z } from 'zod';

const schema = z.object(grpc);
const read = (env: Record<string, string>) => schema.parse(env);
const refused = (env: Record<string, string>) => !schema.safeParse(env).success;

t.test('defaults: the port KServe names h2c, 1 MiB windows, a minute of keepalive, no connection age', async (t) => {
  t.same(read({}), {
    GRPC_PORT: DEFAULT_GRPC_PORT,
    GRPC_FLOW_CONTROL_WINDOW_BYTES: DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES,
    GRPC_KEEPALIVE_TIME_MS: DEFAULT_GRPC_KEEPALIVE_TIME_MS,
    GRPC_MAX_CONNECTION_AGE_MS: 0,
  });
  t.same([DEFAULT_GRPC_PORT, DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES], [8081, 1_048_576]);
  t.equal(read({}).GRPC_MAX_MESSAGE_BYTES, undefined, 'BODY_LIMIT_BYTES decides (config.ts)');
});

t.test('bounds: a port, a positive message limit, a window HTTP/2 allows', async (t) => {
  t.equal(read({ GRPC_PORT: '0' }).GRPC_PORT, 0, '0: no gRPC server');
  t.ok(refused({ GRPC_PORT: '65536' }));
  t.ok(refused({ GRPC_MAX_MESSAGE_BYTES: '0' }));
  t.equal(read({ GRPC_FLOW_CONTROL_WINDOW_BYTES: '65535' }).GRPC_FLOW_CONTROL_WINDOW_BYTES, 65_535);
  t.equal(read({ GRPC_FLOW_CONTROL_WINDOW_BYTES: '2147483647' }).GRPC_FLOW_CONTROL_WINDOW_BYTES, 2 ** 31 - 1);
  t.ok(refused({ GRPC_FLOW_CONTROL_WINDOW_BYTES: '65534' }), "below HTTP/2's initial window");
  t.ok(refused({ GRPC_FLOW_CONTROL_WINDOW_BYTES: '2147483648' }), "above HTTP/2's largest window");
  t.ok(refused({ GRPC_KEEPALIVE_TIME_MS: '0' }));
  t.equal(read({ GRPC_MAX_CONNECTION_AGE_MS: '300000' }).GRPC_MAX_CONNECTION_AGE_MS, 300_000);
});

t.test('every GRPC_* variable is in the gRPC section', async (t) => {
  const section = CONFIG_SECTIONS.find((s) => s.title === 'gRPC');
  t.same(Object.keys(section?.variables ?? {}), Object.keys(grpc));
  t.ok(Object.keys(grpc).every((name) => name.startsWith('GRPC_')));
});
