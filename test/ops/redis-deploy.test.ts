/**
 * deploy/kubernetes/redis/ (a Redis for the sequence state of every pod) agrees with the app and with
 * deploy/kubernetes/ and deploy/kserve/: the pods read REDIS_URL from the Secret it makes, optionally; the Service,
 * the example URL and the container fit together; redis.conf never evicts and takes its users from the ACL file; and
 * that redis.conf with the example ACL, on a real redis-server, lets the service's user do what the sequence store
 * does and nothing else in.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import t from 'tap';
import { DEFAULT_REDIS_KEY_PREFIX } from '../../src/config/environment.js';
import { ConfigFromEnv, loadConfig } from '../../src/config/config.js';
import { RedisSequenceStore } from '../../src/core/sequences/redis-store.js';
import { type Manifest, manifests } from '../helpers/manifests.js';
import { redisServerMissing, startRedisServer } from '../helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_DIR = join(ROOT, 'deploy/kubernetes/redis');
const [configMap, redisDeployment, redisService] = manifests('kubernetes', 'redis/redis.yaml');
const [kustomization] = manifests('kubernetes', 'redis/kustomization.yaml');
const [deployment] = manifests('kubernetes', 'deployment.yaml');
const [runtime] = manifests('kserve', 'servingruntime.yaml');
const redisContainer = redisDeployment.spec.template.spec.containers[0];
const exampleUrl = new URL(readFileSync(join(REDIS_DIR, 'url.example'), 'utf8').trim());
const exampleAcl = readFileSync(join(REDIS_DIR, 'users.acl.example'), 'utf8');

/** redis.conf's directives, `name → the rest of the line` (comments and blank lines left out). */
const conf = new Map<string, string>(
  String(configMap.data['redis.conf'])
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return [line.slice(0, space), line.slice(space + 1)];
    }),
);

/** A container's mount of the volume `name`. */
const mountOf = (name: string) => redisContainer.volumeMounts.find((m: Manifest) => m.name === name);
const volumeOf = (name: string) => redisDeployment.spec.template.spec.volumes.find((v: Manifest) => v.name === name);

t.test('the rnn-serve pods read REDIS_URL from the Secret this makes, and run without it', async (t) => {
  const [generator] = kustomization.secretGenerator;
  t.same([...generator.files].sort(), ['url', 'users.acl']);
  t.equal(kustomization.generatorOptions.disableNameSuffixHash, true, 'the Secret keeps the name others refer to');
  t.same(kustomization.resources, ['redis.yaml']);
  for (const [where, container] of [
    ['deploy/kubernetes', deployment.spec.template.spec.containers[0]],
    ['deploy/kserve', runtime.spec.containers[0]],
  ] as const) {
    const entry = container.env.find((e: Manifest) => e.name === 'REDIS_URL');
    t.same(
      entry.valueFrom.secretKeyRef,
      { name: generator.name, key: 'url', optional: true },
      `${where}: REDIS_URL from the Secret's url, optional (without it, state stays in each pod)`,
    );
    t.notOk('value' in entry, `${where}: never a literal URL (it holds a password)`);
  }
  t.ok(Object.keys(ConfigFromEnv.shape).includes('REDIS_URL'));
  // The example files are what the Secret's files look like; the real ones are never committed.
  const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
  for (const file of generator.files) {
    t.ok(existsSync(join(REDIS_DIR, `${file}.example`)), `${file}.example shows what ${file} holds`);
    t.ok(ignored.includes(`/deploy/kubernetes/redis/${file}`), `${file} is in .gitignore`);
  }
});

t.test('the example URL is one the app accepts, naming the Service and a user of the ACL', async (t) => {
  const config = loadConfig({ REDIS_URL: exampleUrl.href });
  t.equal(config.sequences.redis?.url, exampleUrl.href);
  t.equal(exampleUrl.hostname, redisService.metadata.name, 'the host is the Service');
  t.equal(Number(exampleUrl.port), redisService.spec.ports[0].port);
  const user = exampleAcl.split('\n').find((line) => line.startsWith(`user ${exampleUrl.username} `));
  t.ok(user, `users.acl.example has the URL's user ${exampleUrl.username}`);
  t.match(user, new RegExp(` >${exampleUrl.password} `), 'with the URL’s password');
  t.match(user, ` ~${DEFAULT_REDIS_KEY_PREFIX}* `, 'its keys: REDIS_KEY_PREFIX’s only');
  t.match(exampleAcl, /^user default off$/m, 'the default user is off');
});

t.test('one Redis behind one Service, never two at once; its files where redis.conf says', async (t) => {
  t.same([configMap.kind, redisDeployment.kind, redisService.kind], ['ConfigMap', 'Deployment', 'Service']);
  const labels = redisDeployment.spec.template.metadata.labels;
  t.same(redisDeployment.spec.selector.matchLabels, labels);
  t.same(redisService.spec.selector, labels, 'the Service selects the Redis pod');
  t.notSame(labels, deployment.spec.template.metadata.labels, 'and not the rnn-serve pods');
  t.equal(redisDeployment.spec.replicas, 1);
  t.equal(redisDeployment.spec.strategy.type, 'Recreate', 'a rollout stops the old Redis before the new one');
  const port = redisContainer.ports.find((p: Manifest) => p.name === redisService.spec.ports[0].targetPort);
  t.equal(port.containerPort, Number(conf.get('port')), 'the Service targets the port redis.conf listens on');
  // redis.conf from the ConfigMap, where the container's argument reads it.
  t.same(redisContainer.args, [mountOf('config').mountPath]);
  t.equal(mountOf('config').subPath, 'redis.conf');
  t.equal(volumeOf('config').configMap.name, configMap.metadata.name);
  // The ACL file from the Secret.
  const aclfile = conf.get('aclfile') as string;
  t.equal(mountOf('acl').mountPath, dirname(aclfile));
  t.same(volumeOf('acl').secret, {
    secretName: kustomization.secretGenerator[0].name,
    items: [{ key: 'users.acl', path: basename(aclfile) }],
  });
  t.equal(mountOf('data').mountPath, conf.get('dir'), 'the append-only file on the data volume');
  t.equal(redisContainer.securityContext.readOnlyRootFilesystem, true);
  t.equal(redisDeployment.spec.template.spec.securityContext.runAsNonRoot, true);
  t.ok(redisContainer.resources.limits.memory, 'a memory limit');
});

t.test('redis.conf never evicts a sequence, within the pod’s memory', async (t) => {
  t.equal(conf.get('maxmemory-policy'), 'noeviction');
  const maxmemory = /^(\d+)mb$/.exec(conf.get('maxmemory') ?? '');
  t.ok(maxmemory, 'maxmemory is set');
  const limit = /^(\d+)Mi$/.exec(redisContainer.resources.limits.memory);
  t.ok(Number(maxmemory?.[1]) * 1e6 < Number(limit?.[1]) * 2 ** 20, 'below the container’s memory limit');
  t.equal(conf.get('appendonly'), 'yes');
});

t.test(
  'redis.conf and the example ACL on a real redis-server: the store works, nothing else gets in',
  { skip: redisServerMissing() ?? false },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-redis-conf-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(join(REDIS_DIR, 'users.acl.example'), join(dir, 'users.acl'));
    const file = join(dir, 'redis.conf');
    // The pod's paths, here: the ACL file beside it, the data in the directory startRedisServer gives it.
    const text = String(configMap.data['redis.conf'])
      .replace(`aclfile ${conf.get('aclfile')}`, `aclfile ${join(dir, 'users.acl')}`)
      .replace(`dir ${conf.get('dir')}`, `dir ${dir}`);
    writeFileSync(file, text);
    const server = await startRedisServer(t, [], undefined, file);
    const url = new URL(exampleUrl.href);
    url.host = `127.0.0.1:${server.port}`;
    const store = new RedisSequenceStore({
      url: url.href,
      keyPrefix: DEFAULT_REDIS_KEY_PREFIX,
      timeoutMs: 1000,
      idleMs: 100,
      maxSequences: 10,
      retryAfterSeconds: 1,
      sweepIntervalMs: 3_600_000,
    });
    t.teardown(() => store.close());
    for (let i = 0; i < 200 && !store.ready().ready; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(store.ready(), { ready: true }, 'the service’s user connects');
    const owner = { version: '1', weightsDigest: 'sha256:0' };
    const key = { model: 'hello', id: 42n };
    t.same(await store.begin(key, owner, [new Float32Array([1, 2, 3])]), { step: 0, restarted: false });
    t.equal(await store.save(key, [new Float32Array([4, 5, 6])], 0), 1);
    t.same([...(await store.load(key))!.state[0]], [4, 5, 6]);
    t.equal(await store.end(key, 1), true);
    await store.begin({ model: 'hello', id: 'expires' }, owner, []);
    await new Promise((resolve) => setTimeout(resolve, 150));
    t.equal(await store.sweep(), 1, 'its sweep script runs too');

    // A client without a user and password, as redis-cli connects: refused.
    const anonymous = connect({ host: '127.0.0.1', port: server.port });
    t.teardown(() => anonymous.destroy());
    anonymous.end('PING\r\n');
    let reply = '';
    for await (const chunk of anonymous) reply += chunk;
    t.match(reply, /^-NOAUTH /, `no password, no entry: ${reply.trim()}`);
    const user = new Redis(url.href, { maxRetriesPerRequest: 0, enableReadyCheck: false });
    t.teardown(() => user.disconnect());
    await t.rejects(user.set('elsewhere', '1'), /NOPERM/, 'the service’s user touches its own keys only');
    await t.rejects(user.call('CONFIG', 'GET', 'maxmemory-policy'), /NOPERM/, 'and cannot reconfigure Redis');
  },
);
