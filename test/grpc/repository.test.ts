/**
 * Triton's model repository extension over gRPC, as tritonclient.grpc sends it (RepositoryIndex with `ready`;
 * RepositoryModelLoad with a `config` string_param; RepositoryModelUnload with an `unload_dependents` bool_param):
 * the same index, states and reasons as POST /v2/repository/index, load and unload in explicit mode, and every
 * refusal with HTTP's words and the code gRPC clients expect: UNAVAILABLE outside explicit mode (Triton's), NOT_FOUND
 * for an unknown model, INVALID_ARGUMENT for a bad parameter or a version that failed to load.
 */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { buildGrpc, metadataOf } from '../helpers/grpc.js';
import { modelsDir } from '../helpers/models.js';

const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });

t.test('RepositoryIndex answers what POST /v2/repository/index answers', async (t) => {
  const dir = modelsDir(t, {
    'm/1/model.json': model(1),
    'm/2/model.json': { ...model(2), hiddenSize: 0 },
    'n/config.pbtxt': 'max_batch_size: "8"',
    'n/1/model.json': model(3),
  });
  const g = await buildGrpc(t, { models: { dir, onError: 'skip' } });
  const http = async (body: object) =>
    (await g.app.inject({ method: 'POST', url: '/v2/repository/index', payload: body })).json();
  // The index with every field of ModelIndex (an absent version is gRPC's empty string).
  const grpcIndex = async (request: object) =>
    (await g.unary(g.inference, 'RepositoryIndex', request)).models as Record<string, string>[];
  const all = await grpcIndex({});
  t.same(
    all,
    (await http({})).map((entry: Record<string, string>) => ({ version: '', ...entry })),
  );
  t.same(
    all.map((m) => [m.name, m.version, m.state]),
    [
      ['m', '1', 'READY'],
      ['m', '2', 'UNAVAILABLE'],
      ['n', '', 'UNAVAILABLE'],
    ],
  );
  t.match(all[1].reason, /^m\/2\/model\.json: hiddenSize: Too small/);
  t.same(await grpcIndex({ ready: true }), [{ name: 'm', version: '1', state: 'READY', reason: '' }]);
  const named = await g.unary(g.inference, 'RepositoryIndex', { repository_name: 'other' }).catch((e) => e);
  t.equal(named.code, status.INVALID_ARGUMENT);
  t.equal(
    named.details,
    'repository_name: is "other"; this server has one repository (MODELS_DIR): leave repository_name empty',
  );
});

t.test('load and unload outside explicit mode: UNAVAILABLE in Triton words', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const g = await buildGrpc(t, { models: { dir, control: 'poll', pollSeconds: 60 } });
  for (const [rpc, action] of [
    ['RepositoryModelLoad', 'load'],
    ['RepositoryModelUnload', 'unload'],
  ]) {
    const refused = await g.unary(g.inference, rpc, { model_name: 'm' }).catch((e) => e);
    t.equal(refused.code, status.UNAVAILABLE, rpc);
    const http = await g.app.inject({ method: 'POST', url: `/v2/repository/models/m/${action}`, payload: {} });
    t.equal(refused.details, http.json().error, "HTTP's words");
    t.match(refused.details, /explicit model load \/ unload is not allowed: MODEL_CONTROL_MODE is poll/);
  }
});

t.test('explicit mode: load with a config, reload, unload; parameters checked', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1), 'm/2/model.json': model(2), 'o/1/model.json': model(3) });
  const g = await buildGrpc(t, { models: { dir, control: 'explicit', startupModels: ['o'] } });
  const index = async () =>
    ((await g.unary(g.inference, 'RepositoryIndex', {})).models as Record<string, string>[]).map((m) => [
      m.name,
      m.version,
      m.state,
      m.reason,
    ]);
  t.same(await index(), [
    ['m', '', 'UNAVAILABLE', 'not loaded (POST /v2/repository/models/{name}/load)'],
    ['o', '1', 'READY', ''],
  ]);
  const notFound = await g.unary(g.inference, 'ModelReady', { name: 'm' }).catch((e) => e);
  t.equal(notFound.code, status.NOT_FOUND, 'not loaded yet');

  // tritonclient.grpc's load_model(name, config=...): parameters["config"].string_param.
  const config = JSON.stringify({ name: 'm', max_batch_size: 4, version_policy: { latest: { num_versions: 1 } } });
  t.same(
    await g.unary(g.inference, 'RepositoryModelLoad', {
      model_name: 'm',
      parameters: { config: { string_param: config } },
    }),
    {},
  );
  t.same((await g.unary(g.inference, 'ModelMetadata', { name: 'm' })).versions, ['2']);
  t.same(await g.unary(g.inference, 'ModelReady', { name: 'm' }), { ready: true });
  await g.unary(g.inference, 'RepositoryModelLoad', { model_name: 'm' });
  t.same((await g.unary(g.inference, 'ModelMetadata', { name: 'm' })).versions, ['1', '2'], 'its config.pbtxt again');

  const refusals: [object, number, RegExp][] = [
    [{ 'file:1/model.onnx': { bytes_param: Buffer.from('AAAA') } }, status.INVALID_ARGUMENT, /file overrides/],
    [
      { config: { int64_param: 5 } },
      status.INVALID_ARGUMENT,
      /^parameters\["config"\]: is number; expected the model configuration as a JSON string$/,
    ],
    [
      { config: { bytes_param: Buffer.from('{}') } },
      status.INVALID_ARGUMENT,
      /^parameters\["config"\]: is bytes; expected the model configuration as a JSON string$/,
    ],
    [{ confg: { string_param: '{}' } }, status.INVALID_ARGUMENT, /is not a parameter of load \(config\)/],
    [
      { config: { string_param: '{"input": [{"name": "nope"}]}' } },
      status.INVALID_ARGUMENT,
      /^failed to load 'm': parameters\.config: input\[0\]\.name: the model has no input 'nope'/,
    ],
  ];
  for (const [parameters, code, details] of refusals) {
    const refused = await g.unary(g.inference, 'RepositoryModelLoad', { model_name: 'm', parameters }).catch((e) => e);
    t.equal(refused.code, code, JSON.stringify(parameters));
    t.match(refused.details, details);
  }
  const missing = await g.unary(g.inference, 'RepositoryModelLoad', { model_name: 'zz' }).catch((e) => e);
  t.equal(missing.code, status.NOT_FOUND);
  t.match(missing.details, /there is no model directory 'zz'/);

  // tritonclient.grpc's unload_model: parameters["unload_dependents"].bool_param, always sent.
  t.same(
    await g.unary(g.inference, 'RepositoryModelUnload', {
      model_name: 'm',
      parameters: { unload_dependents: { bool_param: false } },
    }),
    {},
  );
  t.same(await index(), [
    ['m', '1', 'UNAVAILABLE', 'unloaded'],
    ['m', '2', 'UNAVAILABLE', 'unloaded'],
    ['o', '1', 'READY', ''],
  ]);
  const gone = await g
    .unary(g.inference, 'ModelInfer', {
      model_name: 'm',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 2], contents: { fp32_contents: [1, 0] } }],
    })
    .catch((e) => e);
  t.equal(gone.code, status.NOT_FOUND);
  t.match(
    gone.details,
    /^model 'm' has no version ready \(1: UNAVAILABLE \(unloaded\); 2: UNAVAILABLE \(unloaded\)\)$/,
  );
  const dependents = await g
    .unary(g.inference, 'RepositoryModelUnload', {
      model_name: 'm',
      parameters: { unload_dependents: { string_param: 'yes' } },
    })
    .catch((e) => e);
  t.equal(dependents.code, status.INVALID_ARGUMENT);
  t.equal(dependents.details, 'parameters["unload_dependents"]: is string; expected true or false');
  const unknown = await g.unary(g.inference, 'RepositoryModelUnload', { model_name: 'zz' }).catch((e) => e);
  t.equal(unknown.code, status.NOT_FOUND);
  t.same(await g.unary(g.inference, 'RepositoryModelUnload', { model_name: 'm' }), {}, 'unloaded already: done');
});

t.test('with API keys the repository RPCs need one, as the HTTP routes do', async (t) => {
  const KEY = 'repository-test-key-0123456789';
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const g = await buildGrpc(t, { models: { dir }, access: { apiKeys: [KEY] } });
  const refused = await g.unary(g.inference, 'RepositoryIndex', {}).catch((e) => e);
  t.equal(refused.code, status.UNAUTHENTICATED);
  const allowed = await g.unary(g.inference, 'RepositoryIndex', {}, metadataOf({ authorization: `Bearer ${KEY}` }));
  t.equal(allowed.models.length, 1);
});
