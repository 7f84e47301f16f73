/**
 * deploy/kubernetes/ agrees with the app: ports, probe paths (routes that exist and answer 200), env names
 * (keys of the zod env schema, values it accepts), shutdown timing, and the hardening the issue asks for.
 */
import t from 'tap';
import { type Manifest, literalEnv, manifests } from '../helpers/manifests.js';
import { ConfigFromEnv, DEFAULT_GRPC_PORT, loadConfig } from '../../src/config/config.js';
import { memoryBudgetFor } from '../../src/config/memory-limit.js';
import { quantityBytes } from '../../scripts/hostile.js';
import { build } from '../helpers/build.js';
import { buildGrpc } from '../helpers/grpc.js';

const [deployment] = manifests('kubernetes', 'deployment.yaml');
const [service] = manifests('kubernetes', 'service.yaml');
const [hpa] = manifests('kubernetes', 'hpa.yaml');
const [pdb] = manifests('kubernetes', 'pdb.yaml');
const container = deployment.spec.template.spec.containers[0];
const httpPort = container.ports.find((p: Manifest) => p.name === 'http');

/** The container's env as the process would see it (literal values only; secrets are not read). */
const env = literalEnv(container);

t.test('kinds, names and selectors fit together', async (t) => {
  t.equal(deployment.kind, 'Deployment');
  t.equal(service.kind, 'Service');
  t.equal(hpa.kind, 'HorizontalPodAutoscaler');
  t.equal(pdb.kind, 'PodDisruptionBudget');
  const labels = deployment.spec.template.metadata.labels;
  t.same(deployment.spec.selector.matchLabels, labels);
  t.same(service.spec.selector, labels, 'the Service selects the pods');
  t.same(pdb.spec.selector.matchLabels, labels);
  t.same(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  t.equal(hpa.spec.metrics[0].resource.name, 'cpu');
  t.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  const kustomization = manifests('kubernetes', 'kustomization.yaml')[0];
  t.same([...kustomization.resources].sort(), ['deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']);
});

t.test('every env name is a setting of the app, and every value is one it accepts', async (t) => {
  const known = Object.keys(ConfigFromEnv.shape);
  for (const { name } of container.env) t.ok(known.includes(name), `${name} is a key of ConfigFromEnv`);
  const config = loadConfig(env);
  t.equal(config.port, 8080);
  t.equal(config.host, '0.0.0.0');
  const secret = container.env.find((e: Manifest) => e.name === 'API_KEYS');
  t.equal(secret.valueFrom.secretKeyRef.optional, true, 'API keys come from an optional Secret, never a literal');
});

t.test('ports: container port is the app port; the Service targets it by name', async (t) => {
  t.equal(httpPort.containerPort, loadConfig(env).port);
  t.equal(service.spec.ports[0].targetPort, httpPort.name);
  t.same(
    container.ports.map((p: Manifest) => p.name),
    ['http', 'grpc'],
  );
  t.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], String(httpPort.containerPort));
});

t.test(
  'the gRPC port is GRPC_PORT, exposed by the Service as HTTP/2 cleartext; its health service answers',
  async (t) => {
    const grpcPort = container.ports.find((p: Manifest) => p.name === 'grpc');
    const config = loadConfig(env);
    t.equal(grpcPort.containerPort, config.grpc.port);
    t.equal(grpcPort.containerPort, DEFAULT_GRPC_PORT, "KServe's port");
    const exposed = service.spec.ports.find((p: Manifest) => p.targetPort === 'grpc');
    t.match(exposed, { name: 'grpc', port: grpcPort.containerPort, appProtocol: 'kubernetes.io/h2c' });
    t.ok(config.grpc.maxConnectionAgeMs > 0, 'connections are recycled, so new pods get a share of long-lived clients');
    // The documented `grpc:` probe: the standard health service, SERVING once ready and NOT_SERVING while draining.
    const g = await buildGrpc(t);
    t.same(await g.unary(g.health, 'Check', { service: '' }), { status: 'SERVING' });
    g.app.readiness.drain();
    t.same(await g.unary(g.health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
  },
);

t.test('probe paths are routes of the app that answer 200 once ready', async (t) => {
  const { app } = await build(t);
  const probes = { startupProbe: '/readyz', readinessProbe: '/readyz', livenessProbe: '/healthz' } as const;
  for (const [probe, path] of Object.entries(probes)) {
    const get = container[probe].httpGet;
    t.equal(get.path, path, `${probe} uses ${path}`);
    t.equal(get.port, httpPort.name, `${probe} targets the http port`);
    t.ok(app.hasRoute({ method: 'GET', url: get.path }), `${get.path} is a route`);
    t.equal((await app.inject({ method: 'GET', url: get.path })).statusCode, 200);
  }
  const metricsPath = deployment.spec.template.metadata.annotations['prometheus.io/path'];
  t.ok(app.hasRoute({ method: 'GET', url: metricsPath }), 'the scrape path is a route');
  app.readiness.drain();
  t.equal(
    (await app.inject({ method: 'GET', url: container.readinessProbe.httpGet.path })).statusCode,
    503,
    'readiness fails while draining',
  );
  t.equal(
    (await app.inject({ method: 'GET', url: container.livenessProbe.httpGet.path })).statusCode,
    200,
    'liveness does not',
  );
});

t.test('the termination grace period outlasts the shutdown delay plus grace', async (t) => {
  const { delayMs, graceMs } = loadConfig(env).shutdown;
  const period = deployment.spec.template.spec.terminationGracePeriodSeconds;
  t.ok(period * 1000 > delayMs + graceMs, `${period} s > ${delayMs} ms + ${graceMs} ms`);
  t.ok(delayMs >= 2 * container.readinessProbe.periodSeconds * 1000, 'the delay covers two readiness periods');
  t.equal(container.lifecycle?.preStop, undefined, 'no preStop: the app delays itself');
});

t.test('hardening: non-root, read-only root filesystem, no privilege escalation, resources set', async (t) => {
  const pod = deployment.spec.template.spec;
  t.equal(pod.securityContext.runAsNonRoot, true);
  t.ok(pod.securityContext.runAsUser > 0);
  t.equal(container.securityContext.readOnlyRootFilesystem, true);
  t.equal(container.securityContext.allowPrivilegeEscalation, false);
  t.same(container.securityContext.capabilities.drop, ['ALL']);
  for (const kind of ['requests', 'limits']) {
    t.ok(container.resources[kind].cpu, `${kind}.cpu`);
    t.ok(container.resources[kind].memory, `${kind}.memory`);
  }
  const limitBytes = 1024 ** 3; // 1Gi
  t.equal(container.resources.limits.memory, '1Gi');
  t.ok(loadConfig(env).overload.maxHeapUsedBytes < limitBytes, 'load is shed before the memory limit');
});

t.test('the memory budget agrees with the memory limit: what the pod derives from its cgroup', async (t) => {
  const limit = quantityBytes(container.resources.limits.memory);
  t.equal(limit, 2 ** 30);
  // In the pod, cgroup v2's memory.max holds the limit, and MEMORY_BUDGET_BYTES defaults to its share.
  const budget = env.MEMORY_BUDGET_BYTES === undefined ? memoryBudgetFor(limit) : Number(env.MEMORY_BUDGET_BYTES);
  t.equal(budget, memoryBudgetFor(limit), 'no MEMORY_BUDGET_BYTES in the manifest that disagrees with the limit');
  t.equal(budget, 512 * 2 ** 20);
  const config = loadConfig({ ...env, MEMORY_BUDGET_BYTES: String(budget) });
  t.equal(config.pool.maxHeapMb, 0, "workers keep Node's heap limit (a cap crashes Node 24: see PoolSettings)");
  // Requests in flight are bounded by the budget; the heap threshold sheds before the limit is reached.
  t.ok(config.overload.maxHeapUsedBytes > budget && config.overload.maxHeapUsedBytes < limit);
  t.ok(quantityBytes(container.resources.requests.memory) >= budget, 'the pod requests at least the budget');
});
