/**
 * gRPC's series in the app's /metrics beside HTTP's: calls started and handled by method and code, handling
 * time, messages received and sent on streams; the served models' inferences by protocol; the whole exposition
 * passes `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes, openStream } from '../helpers/grpc.js';
import { sample } from '../helpers/metrics.js';

const labels = (method: string, type = 'unary', extra = '') =>
  `grpc_type="${type}",grpc_service="inference.GRPCInferenceService",grpc_method="${method}"${extra}`;

t.test('calls are counted by method and status code; streams count their messages', async (t) => {
  const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS } });
  await g.unary(g.inference, 'ServerLive', {});
  await g.unary(g.inference, 'ServerLive', {});
  await g.unary(g.inference, 'ModelMetadata', { name: 'nope' }).catch(() => {});
  const hello = {
    model_name: 'hello',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4] }],
    raw_input_contents: [float32Bytes([1, 0, 0, 0])],
  };
  const { stream, ended } = openStream(g.inference);
  for (let i = 0; i < 3; i++) stream.write(hello);
  stream.end();
  await ended;
  const text = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.equal(sample(text, 'grpc_server_started_total', labels('ServerLive')), 2);
  t.equal(sample(text, 'grpc_server_handled_total', labels('ServerLive', 'unary', ',grpc_code="OK"')), 2);
  t.equal(sample(text, 'grpc_server_handled_total', labels('ModelMetadata', 'unary', ',grpc_code="NOT_FOUND"')), 1);
  t.equal(sample(text, 'grpc_server_handling_seconds_count', labels('ServerLive', 'unary', ',grpc_code="OK"')), 2);
  const streamLabels = labels('ModelStreamInfer', 'bidi_stream');
  t.equal(sample(text, 'grpc_server_msg_received_total', streamLabels), 3);
  t.equal(sample(text, 'grpc_server_msg_sent_total', streamLabels), 3);
  t.equal(sample(text, 'grpc_server_handled_total', `${streamLabels},grpc_code="OK"`), 1);
  t.equal(
    sample(text, 'rnn_model_inferences_total', 'model="hello",version="1",protocol="grpc",outcome="ok"'),
    3,
    "the per-model series count gRPC's inferences, labelled with their protocol",
  );
  await g.app.inject({
    method: 'POST',
    url: '/v2/models/hello/infer',
    payload: { inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }] },
  });
  const after = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.equal(sample(after, 'rnn_model_inferences_total', 'model="hello",version="1",protocol="http",outcome="ok"'), 1);
  t.equal(sample(after, 'rnn_model_inferences_total', 'model="hello",version="1",protocol="grpc",outcome="ok"'), 3);

  // promtool lints the whole exposition; prom-client's own default gauges nodejs_active_*_total are its only
  // complaints (they predate the gRPC series), so anything else it says fails here.
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(promtool.error, undefined, 'promtool runs (apt: prometheus)');
  const complaints = `${promtool.stdout}${promtool.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter(
      (line) =>
        !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(
          line,
        ),
    );
  t.same(complaints, [], 'promtool check metrics');
  t.notOk(/^grpc_/m.test(promtool.stdout), 'nothing about the gRPC series');
});
