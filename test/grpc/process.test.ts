/**
 * The gRPC frontend in the real process (`src/main.ts`): it listens on GRPC_PORT beside HTTP and not at all with
 * GRPC_PORT=0; on SIGTERM the health service turns NOT_SERVING at once, calls in flight when the server closes
 * finish, and the process exits 0.
 */
import { createServer } from 'node:net';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { clients, float32Bytes } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';
import { startServer } from '../helpers/server.js';

/** A port free right now (GRPC_PORT=0 means no gRPC server, so the test picks one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const call = (client: any, method: string, request: object): Promise<any> =>
  new Promise((resolve) => client[method](request, (error: unknown, response: unknown) => resolve(error ?? response)));

t.test('GRPC_PORT: the process serves gRPC beside HTTP, and not at all with 0', async (t) => {
  const grpcPort = await freePort();
  const server = await startServer(t, { GRPC_PORT: String(grpcPort) });
  t.ok(server.logs.some((l) => l.msg === `gRPC server listening at 127.0.0.1:${grpcPort}`));
  const { inference, health } = clients(t, `127.0.0.1:${grpcPort}`);
  t.same(await call(inference, 'ServerReady', {}), { ready: true });
  t.same(await call(health, 'Check', { service: '' }), { status: 'SERVING' });

  const off = await startServer(t, { GRPC_PORT: '0' });
  t.notOk(
    off.logs.some((l) => /gRPC server listening/.test(String(l.msg))),
    'GRPC_PORT=0: no gRPC server',
  );
});

t.test('SIGTERM: NOT_SERVING at once, a call in flight when the server closes finishes, exit 0', async (t) => {
  const grpcPort = await freePort();
  // A seeded model wide enough that one pass takes seconds (2·10^9 multiply-adds).
  const dir = modelsDir(t, { 'wide/1/model.json': { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 256, seed: 1 } });
  const server = await startServer(t, {
    GRPC_PORT: String(grpcPort),
    MODELS_DIR: dir,
    MAX_COMPUTE: '5000000000',
    MAX_OUTPUT_VALUES: '20000000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    SHUTDOWN_DELAY_MS: '1000',
    SHUTDOWN_GRACE_MS: '20000',
  });
  const { inference, health } = clients(t, `127.0.0.1:${grpcPort}`);
  t.same(await call(health, 'Check', { service: '' }), { status: 'SERVING' });
  const long = call(inference, 'ModelInfer', {
    model_name: 'wide',
    id: 'in-flight',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [16, 2000, 4] }],
    outputs: [{ name: 'state' }],
    raw_input_contents: [float32Bytes(Array.from({ length: 16 * 2000 * 4 }, (_, i) => (i % 5) / 5))],
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const signalledAt = Date.now();
  server.child.kill('SIGTERM');
  let checked = await call(health, 'Check', { service: '' });
  for (const deadline = Date.now() + 3000; checked.status === 'SERVING' && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    checked = await call(health, 'Check', { service: '' });
  }
  t.same(checked, { status: 'NOT_SERVING' }, 'not serving once the signal arrived');
  const answered = await long;
  t.equal(answered.id, 'in-flight', `the call in flight is answered: ${answered.details ?? ''}`);
  t.ok(Date.now() - signalledAt > 1000);
  t.same(await server.exited, { code: 0, signal: null }, 'exit 0');
  const closing = server.logs.find((l) => l.msg === 'closing: no new connections, finishing in-flight requests');
  const completed = server.logs.find((l) => l.rpc === '/inference.GRPCInferenceService/ModelInfer');
  t.match(completed, { code: 'OK' });
  t.ok(Number(completed?.time) >= Number(closing?.time), 'it was still in flight when the server closed');
  t.equal(server.stderr(), '');
  const after = await new Promise<any>((resolve) =>
    (clients(t, `127.0.0.1:${grpcPort}`).inference as any).ServerLive({}, { deadline: Date.now() + 2000 }, resolve),
  );
  t.equal(after.code, status.UNAVAILABLE, 'nothing listens any more');
});
