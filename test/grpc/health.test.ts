/**
 * grpc.health.v1.Health over a real socket, as Kubernetes' `grpc:` probes and grpc_health_probe call it: SERVING
 * while ready, NOT_SERVING while draining (HTTP's /readyz answers 503 then), NOT_FOUND for an unknown service;
 * Watch follows the changes and is ended when the server closes.
 */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { buildGrpc } from '../helpers/grpc.js';

t.test(
  'Check: SERVING while ready, NOT_SERVING while draining, for the server and the inference service',
  async (t) => {
    const g = await buildGrpc(t);
    for (const service of ['', 'inference.GRPCInferenceService'])
      t.same(await g.unary(g.health, 'Check', { service }), { status: 'SERVING' }, `"${service}"`);
    await t.rejects(g.unary(g.health, 'Check', { service: 'other.Service' }), {
      code: status.NOT_FOUND,
      details:
        'the service "other.Service" is not known here; ask for "" (the server) or "inference.GRPCInferenceService"',
    });
    g.app.readiness.drain();
    t.equal((await g.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
    for (const service of ['', 'inference.GRPCInferenceService'])
      t.same(await g.unary(g.health, 'Check', { service }), { status: 'NOT_SERVING' }, `"${service}" while draining`);
    t.match(
      g.logs.find((l) => l.rpc === '/grpc.health.v1.Health/Check'),
      { code: 'OK', msg: 'call completed' },
    );
  },
);

t.test('Watch sends the status at once and at each change; the server ends it when it closes', async (t) => {
  const g = await buildGrpc(t);
  const seen: string[] = [];
  const watch = (g.health as any).Watch({ service: '' });
  const ended = new Promise<{ code: number }>((resolve) => watch.on('status', resolve));
  watch.on('error', () => {});
  const next = () =>
    new Promise<void>((resolve) => watch.once('data', (m: { status: string }) => resolve(void seen.push(m.status))));
  await next();
  t.same(seen, ['SERVING']);
  const changed = next();
  g.app.readiness.drain();
  await changed;
  t.same(seen, ['SERVING', 'NOT_SERVING']);
  await g.server.close(1000);
  t.equal((await ended).code, status.OK, 'ended by the server at shutdown, not cut');

  const unknown = await buildGrpc(t);
  const other = (unknown.health as any).Watch({ service: 'other.Service' });
  other.on('error', () => {});
  const first = await new Promise<{ status: string }>((resolve) => other.once('data', resolve));
  t.same(first, { status: 'SERVICE_UNKNOWN' }, 'an unknown service is watched as SERVICE_UNKNOWN, the call stays open');
  other.cancel();
});
