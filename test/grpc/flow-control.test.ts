/**
 * GRPC_FLOW_CONTROL_WINDOW_BYTES as a client sees it over a real socket: the server announces it as each call's
 * window (SETTINGS_INITIAL_WINDOW_SIZE) and opens the connection's window to it (a WINDOW_UPDATE on stream 0), so a
 * request of that size is sent without waiting for the server; and a large request arrives whole.
 */
import { connect } from 'node:http2';
import t from 'tap';
import { Server } from '@grpc/grpc-js';
import { DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES, defaultConfig } from '../../src/config/config.js';
import { announceWindow, widenConnections } from '../../src/grpc/flow-control.js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes } from '../helpers/grpc.js';

/** The windows the server gives a new HTTP/2 client: each call's, and the connection's. */
async function windowsSeen(target: string): Promise<{ call: number; connection: number }> {
  const session = connect(`http://${target}`);
  try {
    const settings = await new Promise<{ initialWindowSize?: number }>((resolve, reject) => {
      session.once('error', reject);
      session.once('remoteSettings', resolve);
    });
    // The connection's WINDOW_UPDATE follows the SETTINGS; wait for it, a few turns at most.
    for (let i = 0; i < 100 && session.state.remoteWindowSize === 65_535; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    return { call: settings.initialWindowSize ?? 65_535, connection: session.state.remoteWindowSize ?? 0 };
  } finally {
    session.close();
  }
}

t.test('the default: 1 MiB for each call and for the connection', async (t) => {
  t.equal(defaultConfig.grpc.flowControlWindowBytes, 1024 * 1024);
  t.equal(DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES, 1024 * 1024);
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS } });
  t.same(await windowsSeen(g.target), { call: 1024 * 1024, connection: 1024 * 1024 });
});

t.test('a window of its own is announced, and a request larger than it still arrives', async (t) => {
  const window = 3 * 65_536;
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS }, grpc: { flowControlWindowBytes: window } });
  t.same(await windowsSeen(g.target), { call: window, connection: window });
  // [4, 4000, 4] FP32 is 256 kB: more than the window, sent in several rounds of it.
  const values = Array.from({ length: 4 * 4000 * 4 }, (_, i) => ((i % 9) - 4) / 4);
  const answer = await g.unary(g.inference, 'ModelInfer', {
    model_name: 'hello',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [4, 4000, 4] }],
    outputs: [{ name: 'state' }],
    raw_input_contents: [float32Bytes(values)],
  });
  t.same(answer.outputs[0].shape.map(Number), [4, 3]);
  t.equal(answer.raw_output_contents[0].length, 4 * 3 * 4);
});

t.test('a grpc-js that keeps its HTTP/2 options elsewhere stops start-up, naming what it lacks', async (t) => {
  t.throws(() => announceWindow({} as Server, 1 << 20), {
    message: /has no commonServerOptions: GRPC_FLOW_CONTROL_WINDOW_BYTES cannot be applied/,
  });
  t.throws(() => widenConnections(new Server(), 1 << 20), {
    message: /has no bound HTTP\/2 server \(http2Servers\)/,
  });
});
