/**
 * A real redis-server for a test: on a free loopback port, in a temporary directory, with nothing persisted
 * (`--save '' --appendonly no`), killed when the test ends. It can be stopped (SIGTERM, SIGKILL), paused (SIGSTOP)
 * and started again on the same port. `selfSignedTls` makes the files of a TLS listener with openssl.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Why no redis-server can run here, or null when one can: the message of a skipped test. */
export function redisServerMissing(): string | null {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return null;
  return `${REDIS_SERVER} is missing (${probe.error?.message ?? `exit ${probe.status}`}): install Debian's redis-server (apt-get install -y redis-server)`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (`rediss://` with TLS). */
  readonly url: string;
  /** Ends the server with `signal` and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again, on the same port, empty. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

/** A TLS listener's files (PEM): with them the server takes TLS only, and `url` is `rediss://`. */
export interface RedisTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** `args`: more redis-server options, e.g. `['--user', 'seq', 'on', '>secret', '~*', '+@all']`. */
export async function startRedisServer(
  t: { teardown(fn: () => unknown): void },
  args: readonly string[] = [],
  tls?: RedisTls,
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-redis-'));
  const port = await freePort();
  const listen =
    tls === undefined
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key].concat([
          '--tls-ca-cert-file',
          tls.ca,
          '--tls-auth-clients',
          'no',
        ]);
  let child: ChildProcess | null = null;
  let exited: Promise<unknown> = Promise.resolve();

  const start = async () => {
    const started = spawn(
      REDIS_SERVER,
      [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', resolve));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
      const read = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout!.on('data', read);
      started.stderr!.on('data', read);
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
      });
    });
    // Keep draining its log, so that a full pipe never stops it.
    started.stdout!.resume();
    started.stderr!.resume();
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
    child = null;
  };

  await start();
  t.teardown(async () => {
    await stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `${tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}

/** Why no certificate can be made here (no openssl), or null. */
export function opensslMissing(): string | null {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0 ? null : 'openssl is missing (apt-get install -y openssl)';
}

/** A CA and a certificate it signed for 127.0.0.1, in a temporary directory removed when the test ends. */
export function selfSignedTls(t: { teardown(fn: () => unknown): void }): RedisTls {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${run.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...key,
    '-days',
    '1',
    '-subj',
    '/CN=rnn-serve test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl('req', '-new', ...key, '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.pem'),
  );
  return { cert: file('server.pem'), key: file('server.key'), ca: file('ca.pem') };
}
