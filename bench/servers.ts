/**
 * What the HTTP benchmarks share: servers started as `npm start` starts the service (compiled, with its Node
 * options), each in a child process of its own on a free loopback port; autocannon runs against them; each
 * server's CPU time from /proc; medians and markdown rows.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SERVICE_ENTRY, serviceNodeFlags } from '../scripts/start-command.js';

/** BENCH_SECONDS: seconds per run (default 2). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

export interface Run {
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function cannon(
  url: string,
  body: string | Buffer,
  connections: number,
  seconds = SECONDS,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Run> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every Linux we know of). */
export const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * CPU seconds a process has used so far (user + system, all its threads), from /proc/<pid>/stat; null where
 * there is no /proc. 10 ms resolution: a 2 s round of a busy server is ~200 ticks.
 */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** The server's side of a run: CPU seconds per request, and the share of the run it was busy. */
export interface ServerCpu {
  perRequest: number;
  busy: number;
}

/** A run of `cannon` with the server's CPU time (null without /proc). */
export async function measured(
  child: Child,
  url: string,
  body: string | Buffer,
  connections: number,
  headers?: Record<string, string>,
): Promise<{ run: Run; cpu: ServerCpu | null }> {
  const before = cpuSeconds(child.pid);
  const run = await cannon(url, body, connections, SECONDS, headers);
  const after = cpuSeconds(child.pid);
  if (before === null || after === null || run.requests === 0) return { run, cpu: null };
  return { run, cpu: { perRequest: (after - before) / run.requests, busy: (after - before) / SECONDS } };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const medianRun = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  requests: median(runs.map((r) => r.requests)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  errors: runs.reduce((n, r) => n + r.errors, 0),
});
export const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |\n`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * The Node options of `npm start` (package.json): the service runs with them as in production, and so does
 * its peer ("same process settings").
 */
export const NODE_FLAGS = serviceNodeFlags();

/**
 * Starts `script` on a free loopback port with NODE_FLAGS and waits for its /readyz: the service as `npm start`
 * runs it (compiled, `dist/src/main.js`, built afresh by `buildService` first), the peer as compiled with this
 * script.
 */
export async function startServer(
  script: string,
  env: Record<string, string>,
  cpu: number | null = null,
): Promise<Child> {
  const port = await freePort();
  const args = [...NODE_FLAGS, script];
  const [command, argv] =
    cpu === null ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
  const child: ChildProcess = spawn(command, argv, {
    // GRPC_PORT=0 unless a bench asks for gRPC: two servers at once must not both claim 8081.
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      GRPC_PORT: '0',
      LOG_LEVEL: 'warn',
      SHUTDOWN_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${script} did not become ready`);
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: base,
    pid: child.pid, // taskset execs node: the same process
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The service as `npm start` runs it: compiled from the current source (`npm run build`). */
export const SERVICE = SERVICE_ENTRY;

export function buildService(): void {
  const { status } = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (status !== 0) throw new Error(`npm run build exited with ${status}`);
}

/**
 * Where taskset exists and there are two CPUs or more: the servers on CPU 0, this process (the load generator)
 * on CPU 1, so that neither preempts the other at every request and answer. Both contestants alike; the
 * ratio is the same as unpinned (0.66 either way in a test), the rounds just spread far less.
 */
export function pinning(): boolean {
  if (availableParallelism() < 2) return false;
  return spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Back to every CPU (after `pinning`). */
export function unpin(): void {
  spawnSync('taskset', ['-pc', `0-${availableParallelism() - 1}`, String(process.pid)], { stdio: 'ignore' });
}

/** A repository with one served model, `seq`: a SimpleRNN, 64 features → 128 units, seeded. Removed by the caller. */
export function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-bench-'));
  mkdirSync(join(dir, 'seq', '1'), { recursive: true });
  writeFileSync(
    join(dir, 'seq', '1', 'model.json'),
    JSON.stringify({ format: 'rnn-serve/v1', inputDim: 64, hiddenSize: 128, seed: 1 }),
  );
  return dir;
}

export interface RedisChild {
  url: string;
  stop(): void;
}

/**
 * A redis-server on a free loopback port, nothing persisted, on CPU `cpu` when given (taskset); null, said on
 * stdout, when none can start here.
 */
export async function startRedis(cpu: number | null = null): Promise<RedisChild | null> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const [command, argv] =
    cpu === null ? ['redis-server', args] : ['taskset', ['-c', String(cpu), 'redis-server', ...args]];
  let child: ChildProcess;
  try {
    child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        if (out.includes('Ready to accept connections')) resolve();
      });
    });
    child.stdout!.resume();
  } catch (error) {
    process.stdout.write(`redis-server could not start (${(error as Error).message}): Redis not measured\n`);
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
