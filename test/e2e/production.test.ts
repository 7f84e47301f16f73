/**
 * The path the container image takes, without a container: a clean folder with only what the image gets
 * (package.json, package-lock.json, .npmrc, src/http/routes/playground/public/, models/, proto/ and a `dist/` compiled
 * from the working tree), production
 * dependencies from `npm ci --omit=dev --ignore-scripts`, and `node <flags> dist/src/main.js` as the image's CMD
 * and `npm start` run it (the same command: checked here). Its answer must be byte-identical to the in-process app's,
 * and SIGTERM must end it with exit code 0.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { build, HELLO } from '../helpers/build.js';
import { clients } from '../helpers/grpc.js';
import { nodeFlagsOf, SERVICE_ENTRY, serviceNodeFlags } from '../../scripts/start-command.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What the Dockerfile's runtime stage copies from the build context (dist/ comes from the build stage). */
const IMAGE_FILES = [
  'package.json',
  'package-lock.json',
  '.npmrc',
  'src/http/routes/playground/public',
  'proto',
  'models',
];
const run = promisify(execFile);

/** The environment without what `npm test` and tap add (npm_* settings, NODE_OPTIONS loaders, tap's own). */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|node_options$|tap|_tapjs)/i.test(key)),
) as Record<string, string>;

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
interface Lockfile {
  packages: Record<string, { dev?: boolean }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
    server.on('error', reject);
  });
}

/** Polls `url` until it answers `status`; throws after `timeoutMs`. */
async function waitFor(url: string, status: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

const tmp = await mkdtemp(join(tmpdir(), 'rnn-serve-production-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

t.test('the runtime stage of the Dockerfile copies these files and dist/ from the build stage', async (t) => {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const copies = [...runtime.matchAll(/^COPY +(.+)$/gm)].map((match) => match[1].trim().split(/ +/));
  const fromContext = copies.filter((args) => !args[0].startsWith('--from=')).flatMap((args) => args.slice(0, -1));
  t.same(
    fromContext.map((source) => source.replace(/\/$/, '')).sort(),
    [...IMAGE_FILES].sort(),
    'COPY from the context',
  );
  t.ok(
    copies.some((args) => args[0] === '--from=build' && /\/dist\/?$/.test(args[1])),
    'COPY --from=build .../dist/',
  );
  // .dockerignore is an allow-list: a COPY of something it leaves out fails only when the image is built.
  const allowed = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/$/, ''));
  for (const source of fromContext) {
    const path = source.replace(/\/$/, '');
    t.ok(
      allowed.some((entry) => path === entry || path.startsWith(`${entry}/`)),
      `.dockerignore lets ${path} into the build context`,
    );
  }
  const cmd = runtime.match(/^CMD (\[.*\])$/m);
  t.ok(cmd, 'a CMD in exec form');
  const argv = JSON.parse(cmd?.[1] ?? '[]') as string[];
  t.same(
    argv,
    ['node', ...serviceNodeFlags(ROOT), SERVICE_ENTRY],
    'CMD runs what `npm start` runs, Node options included',
  );
});

t.test('the start command is `node [options] dist/src/main.js`, and only that', async (t) => {
  t.same(nodeFlagsOf('node dist/src/main.js'), []);
  t.same(nodeFlagsOf('node --use-largepages=silent --max-old-space-size=512 dist/src/main.js'), [
    '--use-largepages=silent',
    '--max-old-space-size=512',
  ]);
  t.throws(() => nodeFlagsOf('tsx src/main.ts'), /expected "node \[flags\] dist\/src\/main\.js"/);
  t.throws(() => nodeFlagsOf('node dist/src/main.js --port 1'), /expected/);
  t.throws(() => nodeFlagsOf('node -r x dist/src/main.js'), /"-r" .* is not a Node option/);
  // Huge pages for Node's own code: 'silent' starts the same where the system has none (no warning).
  t.ok(
    serviceNodeFlags(ROOT).includes('--use-largepages=silent'),
    "npm start maps Node's code to large pages where it can",
  );
});

t.test('a clean folder gets the image files and a dist/ compiled from the working tree', async (t) => {
  for (const file of IMAGE_FILES) await cp(join(ROOT, file), join(tmp, file), { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(tmp, 'dist')], {
    cwd: ROOT,
    env: cleanEnv,
    timeout: 90_000,
  });
  t.ok(existsSync(join(tmp, 'dist', 'src', 'main.js')), 'dist/src/main.js (the CMD and `npm start`)');
  t.notOk(existsSync(join(tmp, 'dist', 'test')), 'no tests in dist/');
});

t.test('npm ci --omit=dev installs the production dependencies and no devDependency', async (t) => {
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: tmp,
    env: cleanEnv,
    timeout: 90_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const pkg = JSON.parse(await readFile(join(tmp, 'package.json'), 'utf8')) as PackageJson;
  const lock = JSON.parse(await readFile(join(tmp, 'package-lock.json'), 'utf8')) as Lockfile;
  const installed = (name: string) => existsSync(join(tmp, 'node_modules', name, 'package.json'));

  for (const name of Object.keys(pkg.dependencies)) t.ok(installed(name), `dependency ${name} installed`);
  // devDependencies the lockfile marks dev-only (not also needed by a production dependency)
  const devOnly = Object.keys(pkg.devDependencies).filter(
    (name) => lock.packages[`node_modules/${name}`]?.dev === true,
  );
  for (const name of ['tap', 'typescript', '@tensorflow/tfjs'])
    t.ok(devOnly.includes(name), `${name} is a dev-only dependency`);
  for (const name of devOnly) t.notOk(installed(name), `devDependency ${name} not installed`);

  const hidden = JSON.parse(await readFile(join(tmp, 'node_modules', '.package-lock.json'), 'utf8')) as Lockfile;
  const devPackages = Object.keys(hidden.packages).filter((path) => hidden.packages[path].dev === true);
  t.same(devPackages, [], 'no installed package is dev-only');
});

t.test(
  "node <npm start's options> dist/src/main.js answers like the in-process app and exits 0 on SIGTERM",
  async (t) => {
    const port = await freePort();
    const grpcPort = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // SHUTDOWN_DELAY_MS shortens the drain so the test stays fast; everything else is the production default.
    const child = spawn(process.execPath, [...serviceNodeFlags(ROOT), SERVICE_ENTRY], {
      cwd: tmp,
      env: {
        ...cleanEnv,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        GRPC_PORT: String(grpcPort),
        LOG_LEVEL: 'info',
        SHUTDOWN_DELAY_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    try {
      await waitFor(`${base}/readyz`, 200, 30_000, child);
    } catch (error) {
      t.fail(`${String(error)}\n${output.slice(-2000)}`);
      return;
    }

    // --use-largepages: where the kernel offers transparent huge pages ('always' or 'madvise'), Node's code
    // sits on them (AnonHugePages); where it does not, the service starts all the same (checked below: no warning).
    const thp = await readFile('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').catch(() => '[never]');
    const rollup = await readFile(`/proc/${child.pid}/smaps_rollup`, 'utf8').catch(() => null);
    if (thp.includes('[never]') || rollup === null)
      t.comment(`no transparent huge pages here (${thp.trim()}): not checked`);
    else
      t.ok(
        Number(/^AnonHugePages:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) >= 2048,
        `Node's code on huge pages (THP ${thp.trim()})`,
      );

    const { app } = await build(t);
    const expected = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(HELLO),
    });
    t.equal(expected.statusCode, 200, 'in-process answer');

    const res = await fetch(`${base}/rnn/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(HELLO),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    t.equal(res.status, 200, 'process answer');
    t.equal(res.headers.get('content-type'), expected.headers['content-type'], 'same content-type');
    t.equal(body, expected.body, 'byte-identical body');
    t.match(JSON.parse(body).shapes, { outputs: [1, 5, 2], states: [1, 2] }, 'hello shapes');

    // gRPC beside HTTP: the .proto files are found from dist/ where the image has them (proto/ beside dist/).
    const { inference } = clients(t, `127.0.0.1:${grpcPort}`);
    const metadata = await new Promise<unknown>((resolve) =>
      (inference as any).ServerMetadata({}, (error: unknown, answer: unknown) => resolve(error ?? answer)),
    );
    t.same(metadata, (await app.inject({ method: 'GET', url: '/v2' })).json(), 'gRPC ServerMetadata answers');

    const signalled = Date.now();
    // SIGTERM: /readyz turns 503 at once while requests are still served for SHUTDOWN_DELAY_MS, then exit 0.
    t.ok(child.kill('SIGTERM'), 'SIGTERM sent');
    // The signal arrives asynchronously: a probe sent at the same instant may still be answered as ready, so
    // ask until the answer turns (well within the 3 s delay).
    let draining = 0;
    for (
      const deadline = Date.now() + 2500;
      Date.now() < deadline;
      await new Promise((resolve) => setTimeout(resolve, 50))
    ) {
      const probe = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
      await probe.arrayBuffer();
      draining = probe.status;
      if (draining === 503) break;
    }
    t.equal(draining, 503, 'not ready while draining');
    const result = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
    ]);
    const took = Date.now() - signalled;
    if (!t.same(result, { code: 0, signal: null }, `exit code 0 after SIGTERM (${took} ms)`))
      t.comment(output.slice(-2000));
    t.ok(took < 10_000, 'exited within 10 s');
    const stray = output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
    t.same(stray, [], 'everything the process printed is JSON log lines (no Node warning)');
  },
);
