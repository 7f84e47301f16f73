/**
 * deploy/kserve/ agrees with the app as deploy/kubernetes/ does (test/ops/kubernetes.test.ts): the container
 * port is the app's, the probe paths are routes that answer 200 once ready, env names are keys of the env
 * schema with values it accepts, MODELS_DIR is where KServe puts models, the memory limit agrees with the
 * budget; and the InferenceService names a runtime and a model format that the ServingRuntime declares.
 */
import t from 'tap';
import { type Manifest, literalEnv, manifests } from '../helpers/manifests.js';
import { quantityBytes } from '../../scripts/hostile.js';
import { ConfigFromEnv, DEFAULT_GRPC_PORT, loadConfig } from '../../src/config/config.js';
import { memoryBudgetFor } from '../../src/config/memory-limit.js';
import { build, SHIPPED_MODELS } from '../helpers/build.js';

const [runtime] = manifests('kserve', 'servingruntime.yaml');
const [isvc] = manifests('kserve', 'inferenceservice.yaml');
const container = runtime.spec.containers[0];
const env = literalEnv(container);
/** KServe's storage initializer downloads (or mounts) the InferenceService's storageUri here. */
const KSERVE_MODEL_MOUNT = '/mnt/models';

t.test('kinds and API versions are the ones KServe serves', async (t) => {
  t.equal(runtime.apiVersion, 'serving.kserve.io/v1alpha1');
  t.equal(runtime.kind, 'ServingRuntime');
  t.equal(isvc.apiVersion, 'serving.kserve.io/v1beta1');
  t.equal(isvc.kind, 'InferenceService');
  t.same([...manifests('kserve', 'kustomization.yaml')[0].resources].sort(), [
    'inferenceservice.yaml',
    'servingruntime.yaml',
  ]);
  t.equal(container.name, 'kserve-container', 'the container name KServe merges the predictor into');
});

t.test('the runtime speaks the Open Inference Protocol over REST and gRPC and declares its formats', async (t) => {
  t.same(runtime.spec.protocolVersions, ['v2', 'grpc-v2']);
  const formats = runtime.spec.supportedModelFormats;
  t.same(
    formats.map((f: Manifest) => f.name),
    ['rnn-serve', 'tfjs', 'onnx'],
  );
  for (const format of formats) {
    t.type(format.version, 'string', `${format.name}: version is a string`);
    t.type(format.autoSelect, 'boolean');
  }
  t.equal(formats.find((f: Manifest) => f.name === 'rnn-serve').version, '1', 'model.json format rnn-serve/v1');
});

t.test('the InferenceService uses this runtime with a format it declares', async (t) => {
  const model = isvc.spec.predictor.model;
  t.equal(model.runtime, runtime.metadata.name, 'the runtime it names exists');
  const declared = runtime.spec.supportedModelFormats.find((f: Manifest) => f.name === model.modelFormat.name);
  t.ok(declared, `model format ${model.modelFormat.name} is declared by the runtime`);
  t.equal(model.modelFormat.version, declared.version);
  t.equal(model.protocolVersion, 'v2');
  t.ok(runtime.spec.protocolVersions.includes(model.protocolVersion));
  t.match(model.storageUri, /^(pvc|s3|gs|https?):\/\/[^/]+\/.+/, 'a storage URI KServe reads');
  // Clients call /v2/models/<InferenceService name>/...: the example is named after the shipped model.
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const ready = await app.inject({ method: 'GET', url: `/v2/models/${isvc.metadata.name}/ready` });
  t.equal(ready.statusCode, 200, `a model named ${isvc.metadata.name} is served`);
});

t.test('every env name is a setting of the app, and every value is one it accepts', async (t) => {
  const known = Object.keys(ConfigFromEnv.shape);
  for (const { name } of container.env) t.ok(known.includes(name), `${name} is a key of ConfigFromEnv`);
  const config = loadConfig(env);
  t.equal(config.port, 8080);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.models.dir, KSERVE_MODEL_MOUNT, 'the repository is where KServe puts the models');
  const secret = container.env.find((e: Manifest) => e.name === 'API_KEYS');
  t.equal(secret.valueFrom.secretKeyRef.optional, true, 'API keys come from an optional Secret, never a literal');
});

t.test('the container port is the app port; probes use it', async (t) => {
  const [port] = container.ports;
  t.equal(port.containerPort, loadConfig(env).port);
  t.equal(port.name, 'http1', "Knative's name for an HTTP/1 port");
  t.equal(runtime.spec.annotations['prometheus.kserve.io/port'], String(port.containerPort));
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
    t.equal(container[probe].httpGet.port, port.containerPort, `${probe} targets the app port`);
});

t.test('the gRPC port is GRPC_PORT, named h2c as KServe names it', async (t) => {
  const [, h2c] = container.ports;
  t.match(h2c, { name: 'h2c', containerPort: loadConfig(env).grpc.port, protocol: 'TCP' });
  t.equal(h2c.containerPort, DEFAULT_GRPC_PORT);
  t.equal(container.ports.length, 2);
});

t.test('probe paths are the protocol health routes and answer 200 once ready', async (t) => {
  const { app } = await build(t);
  const probes = {
    startupProbe: '/v2/health/ready',
    readinessProbe: '/v2/health/ready',
    livenessProbe: '/v2/health/live',
  } as const;
  for (const [probe, path] of Object.entries(probes)) {
    const get = container[probe].httpGet;
    t.equal(get.path, path, `${probe} uses ${path}`);
    t.ok(app.hasRoute({ method: 'GET', url: get.path }), `${get.path} is a route`);
    t.equal((await app.inject({ method: 'GET', url: get.path })).statusCode, 200);
  }
  t.ok(app.hasRoute({ method: 'GET', url: runtime.spec.annotations['prometheus.kserve.io/path'] }));
  app.readiness.drain();
  t.equal((await app.inject({ method: 'GET', url: container.readinessProbe.httpGet.path })).statusCode, 503);
  t.equal((await app.inject({ method: 'GET', url: container.livenessProbe.httpGet.path })).statusCode, 200);
});

t.test('the termination grace period outlasts the shutdown delay plus grace', async (t) => {
  const { delayMs, graceMs } = loadConfig(env).shutdown;
  const period = isvc.spec.predictor.terminationGracePeriodSeconds;
  t.ok(period * 1000 > delayMs + graceMs, `${period} s > ${delayMs} ms + ${graceMs} ms`);
  t.ok(delayMs >= 2 * container.readinessProbe.periodSeconds * 1000, 'the delay covers two readiness periods');
});

t.test('hardening and resources match deploy/kubernetes', async (t) => {
  const security = container.securityContext;
  t.equal(security.runAsNonRoot, true);
  t.ok(security.runAsUser > 0);
  t.equal(security.readOnlyRootFilesystem, true);
  t.equal(security.allowPrivilegeEscalation, false);
  t.same(security.capabilities.drop, ['ALL']);
  const tmp = container.volumeMounts.find((m: Manifest) => m.mountPath === '/tmp');
  t.ok(
    runtime.spec.volumes.some((v: Manifest) => v.name === tmp.name && v.emptyDir),
    '/tmp is writable',
  );

  const [deployment] = manifests('kubernetes', 'deployment.yaml');
  t.same(container.resources, deployment.spec.template.spec.containers[0].resources, 'the same requests and limits');
  const limit = quantityBytes(container.resources.limits.memory);
  t.equal(limit, 2 ** 30);
  const budget = env.MEMORY_BUDGET_BYTES === undefined ? memoryBudgetFor(limit) : Number(env.MEMORY_BUDGET_BYTES);
  t.equal(budget, memoryBudgetFor(limit), 'no MEMORY_BUDGET_BYTES in the manifest that disagrees with the limit');
  const config = loadConfig({ ...env, MEMORY_BUDGET_BYTES: String(budget) });
  t.ok(config.overload.maxHeapUsedBytes > budget && config.overload.maxHeapUsedBytes < limit);
  t.ok(quantityBytes(container.resources.requests.memory) >= budget, 'the pod requests at least the budget');
});
