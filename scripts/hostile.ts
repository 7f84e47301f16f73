/**
 * The hostile mix of the load test (`npm run load -- --hostile`, or LOAD_MIX=hostile): small valid requests (the
 * hello request) keep coming while the worst requests a client can send within the default limits arrive, each
 * kind from its own client looping for the whole run, and clients that never read their answer. The server runs
 * as a child process, as `npm start` runs it (`node <start flags> dist/src/main.js`; `npm run load` compiles src/
 * into dist/ first, with the options of `npm run build`), with the environment of the Kubernetes Deployment
 * (deploy/kubernetes/deployment.yaml): its `env` values, MEMORY_BUDGET_BYTES as a pod with its memory limit
 * derives it (half of 1 GiB), and POOL_THREADS from its CPU limit (1). So its resident memory is its own: the
 * peak is VmHWM from /proc/<pid>/status.
 *
 * Each worst case is first sent once alone (its answer must be what the limits answer), then the mix runs.
 * Reports the small requests' p50/p99 (alone, then under the mix), the server's peak RSS, the event-loop delay
 * (the largest p99 and max of `nodejs_eventloop_lag_*` over 1 s windows, as /metrics reports them; each scrape
 * resets them), and each worst-case kind's statuses. Loopback only; stops by itself: LOAD_SECONDS (default 20)
 * plus at most REQUEST_TIMEOUT_S for the requests still running.
 *
 * Also, for scripts/container-test.sh: `node --import tsx scripts/hostile.ts --deployment` (the Deployment's
 * limits and env) and `--burst <url>` (every worst case at once against a running server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Agent, request as httpRequest, Agent as HttpAgent } from 'node:http';
import { connect, createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { HELLO_INPUTS } from '../schemas/forward.js';
import { parse as parseYaml } from 'yaml';
import { memoryBudgetFor } from '../src/config/memory-limit.js';
import { SERVICE_ENTRY, serviceNodeFlags } from './start-command.js';

/** The repository root, whether this runs compiled (dist/scripts/) or as TypeScript (scripts/). */
function repositoryRoot(): string {
  const compiled = fileURLToPath(new URL('.', import.meta.url)).endsWith('/dist/scripts/');
  return fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));
}

/** Longest wait for one worst-case answer: well above anything the server takes, bounded all the same. */
const REQUEST_TIMEOUT_S = 30;

const HELLO = JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 });

/** Letters of a fixed pseudo-random text over `alphabet` CJK symbols (no Math.random: a run reproduces). */
export function letters(n: number, alphabet: number, seed: number): string {
  let x = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += String.fromCharCode(0x4e00 + (x % alphabet));
  }
  return out;
}

/** The largest answer within MAX_OUTPUT_VALUES (4,194,304): outputs 64·1000·64 + states 64·64 = 4,100,096 values. */
export const LARGEST_ANSWER = {
  inputs: {
    shape: [64, 1000, 1],
    data: Array.from({ length: 64_000 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000),
  },
  hiddenSize: 64,
  seed: 5,
};

export interface WorstCase {
  name: string;
  /** What it is, for the report. */
  what: string;
  path: string;
  /** A fresh body per request (a new seed), or one body sent every time. */
  body: () => Buffer;
  /** The statuses it may get: its answer at default settings, and 503 (+ Retry-After) when load is shed. */
  expected: number[];
  /** Clients sending it, each one request at a time. */
  clients: number;
}

/** The worst requests within every other limit at default settings (bodies built once: they are large). */
export function worstCases(): WorstCase[] {
  const once = (value: unknown) => {
    const buffer = Buffer.from(JSON.stringify(value));
    return () => buffer;
  };
  let seed = 1000;
  const asciiTexts = Array.from(
    { length: 1024 },
    (_, b) => 'abcdefgh'.slice(b % 8) + 'abcdefgh'.repeat(1249) + 'abcdefgh'.slice(0, b % 8),
  );
  const unknownFields: Record<string, unknown> = { inputs: [[[1]]], hiddenSize: 2 };
  for (let i = 0; i < 200_000; i++) unknownFields[`f${i}`] = 0;
  return [
    {
      name: 'text-53k',
      what: 'a 53,000-character text over 4,096 symbols',
      path: '/rnn/forward',
      body: once({ text: [letters(53_000, 4096, 1)], hiddenSize: 2 }),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'texts-5x10k',
      what: '5 texts of 10,000 characters over 4,096 symbols',
      path: '/rnn/forward',
      body: once({ text: Array.from({ length: 5 }, (_, b) => letters(10_000, 4096, b + 1)), hiddenSize: 2 }),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'texts-1024x10k',
      what: '1,024 ASCII texts of 10,000 characters, hiddenSize 8 (10 MB body)',
      path: '/rnn/forward',
      body: once({ text: asciiTexts, hiddenSize: 8 }),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'seed-1024',
      what: 'one step, hiddenSize 1024, a new seed each time',
      path: '/rnn/forward',
      body: () => Buffer.from(JSON.stringify({ inputs: [[[1, 0, 0, 0]]], hiddenSize: 1024, seed: seed++ })),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'weights-4096x1024',
      what: 'POST /rnn/weights inputDim 4096, hiddenSize 1024, seed 7',
      path: '/rnn/weights',
      body: once({ inputDim: 4096, hiddenSize: 1024, seed: 7 }),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'answer-4M',
      what: 'the largest answer within MAX_OUTPUT_VALUES: [64, 1000, 1] flat, hiddenSize 64 (4.1M values)',
      path: '/rnn/forward',
      body: once(LARGEST_ANSWER),
      expected: [200, 503],
      clients: 2,
    },
    {
      name: 'oip-1000-outputs',
      what: '/v2/models/hello/infer naming `output` 1,000 times',
      path: '/v2/models/hello/infer',
      body: once({
        inputs: [
          { name: 'input', shape: [1, 1000, 4], datatype: 'FP32', data: Array.from({ length: 4000 }, () => 0.5) },
        ],
        outputs: Array.from({ length: 1000 }, () => ({ name: 'output' })),
      }),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'unknown-200k',
      what: '200,000 unknown fields',
      path: '/rnn/forward',
      body: once(unknownFields),
      expected: [400, 503],
      clients: 1,
    },
    {
      name: 'mask-600k',
      what: 'a mask of 600,000 strings',
      path: '/rnn/forward',
      body: once({ inputs: [[[1]]], hiddenSize: 2, mask: [Array.from({ length: 600_000 }, () => 'x')] }),
      expected: [400, 503],
      clients: 1,
    },
  ];
}

export interface KindStats {
  what: string;
  expected: number[];
  requests: number;
  byStatus: Record<string, number>;
  /** Answers with a status outside `expected`, and 503s without Retry-After. */
  unexpected: number;
  socketErrors: number;
  errorSample: string | null;
  /** Requests still waiting when the run's drain time ran out. */
  abandoned: number;
  p50Ms: number;
  maxMs: number;
  /** The largest answer body, and the first bytes of one non-200 answer. */
  maxAnswerBytes: number;
  sample: string | null;
  /** Its answer when sent alone, before the mix: must be `expected[0]`, what the limits answer. */
  alone: { status: number | string; ms: number; bytes: number } | null;
}

export interface HostileOptions {
  seconds: number;
  /** Connections sending the hello request. */
  smallConnections: number;
  /** Seconds of small requests alone before the mix, for the unloaded latency (0: none). */
  baselineSeconds?: number;
  /** Clients that send the largest answer's request and never read the answer (opened over the run). */
  nonReaders?: number;
  /** How to start the server: Node arguments (default: `npm start`'s flags and dist/src/main.js). */
  serverArgs?: string[];
  /** Extra environment for the server (over the Deployment's). */
  env?: Record<string, string>;
  /** Fewer clients per kind (the short test): at most this many per kind. */
  maxClientsPerKind?: number;
  /**
   * After the run, how long requests still running may take before they are given up (default 30 s, each
   * request's own time limit).
   */
  drainSeconds?: number;
  /** Send each worst case once alone before the mix (default true). */
  alone?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface HostileReport {
  seconds: number;
  serverEnv: Record<string, string>;
  small: {
    baseline: { requests: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
    requests: number;
    byStatus: Record<string, number>;
    non200: number;
    socketErrors: number;
    timeouts: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
  };
  kinds: Record<string, KindStats>;
  nonReaders: { opened: number; statuses: string[] };
  /** Server: VmHWM at the end, the largest VmRSS sampled (every 250 ms), and VmRSS once ready. */
  peakRssMb: number;
  maxSampledRssMb: number;
  readyRssMb: number;
  eventLoop: { maxP99Ms: number; maxMs: number; windows: number };
  /** Any answer with a 5xx other than the expected 503s, anywhere. */
  serverErrors: number;
  healthzAfter: number | null;
  errorLogs: string[];
  exit: { code: number | null; signal: string | null } | null;
}

/** Bytes of a Kubernetes quantity (`1Gi`, `512Mi`, `1G`, `1000`). */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (match === null) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.round(Number(match[1]) * (match[2] === undefined ? 1 : unit[match[2] as keyof typeof unit]));
}

interface DeploymentContainer {
  env?: { name: string; value?: string }[];
  resources?: { limits?: { memory?: string; cpu?: string } };
}

/**
 * The server's environment as the Deployment gives it: its literal `env` values, MEMORY_BUDGET_BYTES as the
 * service derives it from the pod's memory limit, POOL_THREADS as it derives it from the CPU limit (cores − 1,
 * at least 1). Also the memory limit itself.
 */
export function deploymentEnv(root = repositoryRoot()): {
  env: Record<string, string>;
  /** Only the values the manifest states. */
  literal: Record<string, string>;
  memoryLimitBytes: number;
  cpus: number;
} {
  const manifest = parseYaml(readFileSync(`${root}/deploy/kubernetes/deployment.yaml`, 'utf8')) as {
    spec: { template: { spec: { containers: DeploymentContainer[] } } };
  };
  const container = manifest.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) if (entry.value !== undefined) env[entry.name] = String(entry.value);
  const memory = container.resources?.limits?.memory;
  if (memory === undefined) throw new Error('deployment.yaml: no memory limit');
  const memoryLimitBytes = quantityBytes(memory);
  const cpus = Math.max(1, Math.floor(Number(container.resources?.limits?.cpu ?? '1')));
  const literal = { ...env };
  env.MEMORY_BUDGET_BYTES = String(memoryBudgetFor(memoryLimitBytes));
  env.POOL_THREADS = String(Math.max(1, cpus - 1));
  return { env, literal, memoryLimitBytes, cpus };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

interface Answer {
  status: number;
  retryAfter: boolean;
  bytes: number;
  head: string;
  ms: number;
}

/** One request; the answer is counted, not kept (but for its first bytes). */
function send(
  base: string,
  agent: Agent,
  path: string,
  body: Buffer,
  waitMs = REQUEST_TIMEOUT_S * 1000,
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        signal: AbortSignal.timeout(Math.max(1, waitMs)),
      },
      (res) => {
        let bytes = 0;
        let head = '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (head.length < 300) head += chunk.subarray(0, 300 - head.length).toString('utf8');
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] !== undefined,
            bytes,
            head,
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * A client looping on one worst-case kind until `until` (ms since epoch); a request still waiting at `abandonAt`
 * is given up (counted, not an error).
 */
async function loopKind(
  base: string,
  kind: WorstCase,
  until: number,
  abandonAt: number,
  stats: KindStats,
  latencies: number[],
) {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  try {
    while (Date.now() < until) {
      try {
        const answer = await send(
          base,
          agent,
          kind.path,
          kind.body(),
          Math.min(REQUEST_TIMEOUT_S * 1000, abandonAt - Date.now()),
        );
        stats.requests += 1;
        stats.byStatus[answer.status] = (stats.byStatus[answer.status] ?? 0) + 1;
        if (!kind.expected.includes(answer.status) || (answer.status === 503 && !answer.retryAfter))
          stats.unexpected += 1;
        stats.maxAnswerBytes = Math.max(stats.maxAnswerBytes, answer.bytes);
        if (answer.status !== 200 && stats.sample === null) stats.sample = answer.head.slice(0, 240);
        latencies.push(answer.ms);
        // A 503 says when to come back; a hostile client would not wait long.
        if (answer.status === 503) await new Promise((resolve) => setTimeout(resolve, 100));
      } catch (error) {
        if (Date.now() >= abandonAt - 50) {
          stats.abandoned += 1;
          break;
        }
        stats.socketErrors += 1;
        stats.errorSample ??=
          error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}` : String(error);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    agent.destroy();
  }
}

/**
 * A client that sends the largest answer's request and then never reads: its socket is left paused (Node reads
 * one buffer's worth, the kernel's receive buffer fills, the rest stays with the server). At the end, the status
 * line is read from what did arrive.
 */
function nonReader(port: number, body: Buffer): { status: () => Promise<string>; close: () => void } {
  const socket = connect(port, '127.0.0.1');
  let failed: string | null = null;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    failed = error.code ?? error.message;
  });
  socket.write(
    `POST /rnn/forward HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body);
  return {
    status: async () => {
      if (failed !== null) return `socket error ${failed}`;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const chunk = socket.read() as Buffer | null;
        if (chunk !== null) return /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'unreadable';
        if (failed !== null) return `socket error ${failed}`;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 'no answer yet';
    },
    close: () => socket.destroy(),
  };
}

/** Metrics read from /metrics, or null if it does not answer. */
async function scrape(base: string): Promise<{ lagP99: number; lagMax: number } | null> {
  try {
    const response = await fetch(new URL('/metrics', base), { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { lagP99: value('nodejs_eventloop_lag_p99_seconds'), lagMax: value('nodejs_eventloop_lag_max_seconds') };
  } catch {
    return null;
  }
}

interface Child {
  base: string;
  port: number;
  pid: number;
  errorLogs: string[];
  stop(): Promise<{ code: number | null; signal: string | null } | null>;
}

async function startChild(args: string[], env: Record<string, string>, log: (line: string) => void): Promise<Child> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repositoryRoot(),
    env: { PATH: process.env.PATH ?? '', GRPC_PORT: '0', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start the server');
  const errorLogs: string[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        if ((JSON.parse(line) as { level: number }).level >= 50) errorLogs.push(line.slice(0, 500));
      } catch {
        if (line.trim() !== '') errorLogs.push(line.slice(0, 500));
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let exit: { code: number | null; signal: string | null } | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exit !== null) throw new Error(`the server exited (${JSON.stringify(exit)}) before it was ready: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the server did not become ready within 90 s');
    }
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log(`server pid ${child.pid} ready on ${base}`);
  return {
    base,
    port,
    pid: child.pid,
    errorLogs,
    stop: async () => {
      if (exit === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(killer);
      }
      if (stderr.trim() !== '') errorLogs.push(`stderr: ${stderr.slice(0, 500)}`);
      return exit;
    },
  };
}

function countStatuses(result: autocannon.Result): Record<string, number> {
  const stats =
    (result as unknown as { statusCodeStats?: Record<string, { count: number | string }> }).statusCodeStats ?? {};
  return Object.fromEntries(Object.entries(stats).map(([status, { count }]) => [status, Number(count)]));
}

export async function runHostile(options: HostileOptions): Promise<HostileReport> {
  const log = options.log ?? (() => {});
  const { env: deployment } = deploymentEnv();
  // Drain at once on SIGTERM (the delay is for load balancers); warn and above only.
  const serverEnv = { ...deployment, SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'warn', ...options.env };
  const args = options.serverArgs ?? [...serviceNodeFlags(repositoryRoot()), SERVICE_ENTRY];
  log('building the request bodies');
  const kinds = worstCases().map((kind) => ({
    ...kind,
    clients: Math.min(kind.clients, options.maxClientsPerKind ?? kind.clients),
  }));
  const largest = Buffer.from(JSON.stringify(LARGEST_ANSWER));
  log(`starting the server: node ${args.join(' ')}`);
  const child = await startChild(args, serverEnv, log);
  const readyRssMb = (procStatusKb(child.pid, 'VmRSS') ?? 0) / 1024;
  let maxSampledKb = 0;
  const sampler = setInterval(() => {
    maxSampledKb = Math.max(maxSampledKb, procStatusKb(child.pid, 'VmRSS') ?? 0);
  }, 250);
  const readers: ReturnType<typeof nonReader>[] = [];
  try {
    const hello = {
      method: 'POST' as const,
      path: '/rnn/forward',
      headers: { 'content-type': 'application/json' },
      body: HELLO,
    };
    const alone: Record<string, KindStats['alone']> = {};
    if (options.alone ?? true) {
      log('each worst case alone');
      const agent = new HttpAgent({ keepAlive: false });
      for (const kind of kinds) {
        try {
          const answer = await send(child.base, agent, kind.path, kind.body());
          alone[kind.name] = { status: answer.status, ms: round(answer.ms), bytes: answer.bytes };
        } catch (error) {
          alone[kind.name] = {
            status: `error ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
            ms: 0,
            bytes: 0,
          };
        }
      }
      agent.destroy();
    }
    let baseline: HostileReport['small']['baseline'] = null;
    if ((options.baselineSeconds ?? 3) > 0) {
      log('small requests alone');
      const alone = await autocannon({
        url: child.base,
        connections: options.smallConnections,
        duration: options.baselineSeconds ?? 3,
        timeout: 10,
        requests: [hello],
      });
      baseline = {
        requests: alone.requests.total,
        p50Ms: alone.latency.p50,
        p99Ms: alone.latency.p99,
        maxMs: alone.latency.max,
      };
    }
    await scrape(child.base); // resets the event-loop window
    log(`the hostile mix for ${options.seconds} s`);
    const until = Date.now() + options.seconds * 1000;
    const abandonAt = until + (options.drainSeconds ?? REQUEST_TIMEOUT_S) * 1000;
    const stats: Record<string, KindStats> = {};
    const latencies: Record<string, number[]> = {};
    const loops: Promise<void>[] = [];
    for (const kind of kinds) {
      stats[kind.name] = {
        what: kind.what,
        expected: kind.expected,
        requests: 0,
        byStatus: {},
        unexpected: 0,
        socketErrors: 0,
        errorSample: null,
        abandoned: 0,
        p50Ms: 0,
        maxMs: 0,
        maxAnswerBytes: 0,
        sample: null,
        alone: alone[kind.name] ?? null,
      };
      latencies[kind.name] = [];
      for (let c = 0; c < kind.clients; c++)
        loops.push(loopKind(child.base, kind, until, abandonAt, stats[kind.name], latencies[kind.name]));
    }
    // Clients that never read, spread over the run.
    const nonReaders = options.nonReaders ?? 2;
    const openers: NodeJS.Timeout[] = [];
    for (let i = 0; i < nonReaders; i++) {
      openers.push(
        setTimeout(
          () => readers.push(nonReader(child.port, largest)),
          (i * options.seconds * 1000) / Math.max(1, nonReaders) / 2,
        ),
      );
    }
    let windows = 0;
    let maxP99 = 0;
    let maxLag = 0;
    const scraping = (async () => {
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const m = await scrape(child.base);
        if (m === null) continue;
        windows += 1;
        if (Number.isFinite(m.lagP99)) maxP99 = Math.max(maxP99, m.lagP99);
        if (Number.isFinite(m.lagMax)) maxLag = Math.max(maxLag, m.lagMax);
      }
    })();
    const small = await autocannon({
      url: child.base,
      connections: options.smallConnections,
      duration: options.seconds,
      timeout: 10,
      requests: [hello],
    });
    log('waiting for the worst cases still running');
    await Promise.all([...loops, scraping]);
    for (const t of openers) clearTimeout(t);
    const statuses: string[] = [];
    for (const reader of readers) statuses.push(await reader.status());
    for (const reader of readers) reader.close();
    for (const [name, xs] of Object.entries(latencies)) {
      stats[name].p50Ms = round(percentile(xs, 50));
      stats[name].maxMs = round(percentile(xs, 100));
    }
    const healthzAfter = await fetch(new URL('/healthz', child.base), { signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.status,
      () => null,
    );
    const peakKb = procStatusKb(child.pid, 'VmHWM') ?? 0;
    clearInterval(sampler);
    const exit = await child.stop();
    const smallStatuses = countStatuses(small);
    const smallRequests = Object.values(smallStatuses).reduce((a, b) => a + b, 0);
    const serverErrors =
      Object.entries(smallStatuses)
        .filter(([status]) => Number(status) >= 500)
        .reduce((a, [, n]) => a + n, 0) +
      Object.values(stats).reduce(
        (a, k) =>
          a +
          Object.entries(k.byStatus)
            .filter(([status]) => Number(status) >= 500 && !(Number(status) === 503 && k.expected.includes(503)))
            .reduce((b, [, n]) => b + n, 0),
        0,
      );
    return {
      seconds: options.seconds,
      serverEnv,
      small: {
        baseline,
        requests: smallRequests,
        byStatus: smallStatuses,
        non200: smallRequests - (smallStatuses['200'] ?? 0),
        socketErrors: small.errors,
        timeouts: small.timeouts,
        p50Ms: small.latency.p50,
        p99Ms: small.latency.p99,
        maxMs: small.latency.max,
      },
      kinds: stats,
      nonReaders: { opened: readers.length, statuses },
      peakRssMb: round(peakKb / 1024),
      maxSampledRssMb: round(maxSampledKb / 1024),
      readyRssMb: round(readyRssMb),
      eventLoop: { maxP99Ms: round(maxP99 * 1000), maxMs: round(maxLag * 1000), windows },
      serverErrors,
      healthzAfter,
      errorLogs: child.errorLogs,
      exit,
    };
  } catch (error) {
    clearInterval(sampler);
    for (const reader of readers) reader.close();
    await child.stop();
    throw error;
  }
}

/** What fails the run: see `hostileFailures`. */
export interface HostileLimits {
  maxSmallP99Ms: number;
  maxPeakRssMb: number;
}

/** Why the run failed (empty: it passed). */
export function hostileFailures(report: HostileReport, limits: HostileLimits): string[] {
  const failures: string[] = [];
  if (report.serverErrors > 0) failures.push(`${report.serverErrors} answers with a 5xx (other than an expected 503)`);
  if (report.small.socketErrors > 0 || report.small.timeouts > 0)
    failures.push(`small requests: ${report.small.socketErrors} socket errors (${report.small.timeouts} timeouts)`);
  if (report.small.non200 > 0) failures.push(`small requests: ${report.small.non200} not answered 200`);
  if (report.small.requests === 0) failures.push('no small request was answered');
  if (report.small.p99Ms > limits.maxSmallP99Ms)
    failures.push(`small requests: p99 ${report.small.p99Ms} ms > ${limits.maxSmallP99Ms} ms`);
  if (report.peakRssMb > limits.maxPeakRssMb)
    failures.push(`peak RSS ${report.peakRssMb} MiB > ${limits.maxPeakRssMb} MiB`);
  for (const [name, kind] of Object.entries(report.kinds)) {
    if (kind.unexpected > 0) failures.push(`${name}: ${kind.unexpected} answers outside ${kind.expected.join('/')}`);
    if (kind.alone !== null && kind.alone.status !== kind.expected[0])
      failures.push(`${name}: answered ${kind.alone.status} alone, not ${kind.expected[0]}`);
  }
  if (report.healthzAfter !== 200) failures.push(`GET /healthz afterwards: ${report.healthzAfter}`);
  if (report.errorLogs.length > 0) failures.push(`${report.errorLogs.length} error log lines`);
  return failures;
}

const statuses = (byStatus: Record<string, number>) =>
  Object.entries(byStatus)
    .map(([status, n]) => `${status} × ${n}`)
    .join(', ') || 'none';

export function formatHostileReport(report: HostileReport, limits: HostileLimits): string {
  const s = report.small;
  const lines = [
    `## Hostile mix: ${report.seconds} s`,
    '',
    `Server: a child process as \`npm start\` runs it, with the Deployment's environment: ${Object.entries(
      report.serverEnv,
    )
      .filter(([name]) =>
        /^(MEMORY_BUDGET_BYTES|POOL_THREADS|MAX_|REQUEST_TIMEOUT_MS|CONNECTION_TIMEOUT_MS)/.test(name),
      )
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}.`,
    '',
    '| | requests | by status | socket errors | p50 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  if (s.baseline)
    lines.push(
      `| small (hello) alone | ${s.baseline.requests} | | | ${s.baseline.p50Ms} | ${s.baseline.p99Ms} | ${s.baseline.maxMs} |`,
    );
  lines.push(
    `| **small (hello) under the mix** | ${s.requests} | ${statuses(s.byStatus)} | ${s.socketErrors} (timeouts ${s.timeouts}) | ${s.p50Ms} | **${s.p99Ms}** | ${s.maxMs} |`,
    '',
    `Peak server RSS (VmHWM): **${report.peakRssMb} MiB** (largest sampled VmRSS ${report.maxSampledRssMb} MiB; ${report.readyRssMb} MiB once ready; limit ${limits.maxPeakRssMb} MiB).`,
    `Event-loop delay over ${report.eventLoop.windows} windows of 1 s: largest p99 **${report.eventLoop.maxP99Ms} ms**, max ${report.eventLoop.maxMs} ms.`,
    '',
    '| worst case | what | alone: status, ms, answer bytes | in the mix: requests | by status | expected | unexpected | socket errors | given up at the end | p50 ms | max ms | largest answer | a non-200 answer begins |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...Object.entries(report.kinds).map(
      ([name, k]) =>
        `| ${name} | ${k.what} | ${k.alone === null ? '' : `${k.alone.status}, ${k.alone.ms}, ${k.alone.bytes.toLocaleString('en')} B`} | ${k.requests} | ${statuses(k.byStatus)} | ${k.expected.join('/')} | ${k.unexpected} | ${k.socketErrors}${k.errorSample ? ` (${k.errorSample})` : ''} | ${k.abandoned} | ${k.p50Ms} | ${k.maxMs} | ${k.maxAnswerBytes.toLocaleString('en')} B | ${k.sample === null ? '' : `\`${k.sample.replace(/[|`\n]/g, ' ').slice(0, 120)}\``} |`,
    ),
    '',
    `Clients that never read their answer (the largest answer's request): ${report.nonReaders.opened}, status lines received: ${report.nonReaders.statuses.join(', ') || 'none'}.`,
    `GET /healthz afterwards: ${report.healthzAfter}; server exit ${JSON.stringify(report.exit)}; error log lines: ${report.errorLogs.length}.`,
  );
  // Not a failure: the worst cases that go to the one worker wait behind each other, and a niced worker on a
  // loaded machine can take longer than a request's time limit. Reported, so that a change shows.
  const unanswered = Object.entries(report.kinds).filter(([, k]) => k.requests === 0);
  if (unanswered.length > 0)
    lines.push(
      `Not answered during the run: ${unanswered.map(([name, k]) => `${name} (${k.socketErrors} socket errors${k.errorSample ? `: ${k.errorSample}` : ''}, ${k.abandoned} given up)`).join('; ')}.`,
    );
  for (const line of report.errorLogs.slice(0, 5)) lines.push(`    ${line}`);
  return lines.join('\n');
}

export interface BurstAnswer {
  name: string;
  status: number | string;
  retryAfter: boolean;
  bytes: number;
  ms: number;
  expected: number[];
}

/**
 * Every worst case at once, `largestAnswers` copies of the largest answer's request among them, one client that
 * sends that request too and never reads its answer (its status line is read once the others are answered), and
 * hello requests one after another meanwhile. For scripts/container-test.sh (a container under a memory limit).
 */
export async function burst(base: string, largestAnswers = 4): Promise<BurstAnswer[]> {
  const url = new URL(base);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') throw new Error(`only http://127.0.0.1; got ${base}`);
  const agent = new HttpAgent({ keepAlive: false });
  const one = async (name: string, path: string, body: Buffer, expected: number[]): Promise<BurstAnswer> => {
    try {
      const answer = await send(base, agent, path, body, 120_000);
      return {
        name,
        status: answer.status,
        retryAfter: answer.retryAfter,
        bytes: answer.bytes,
        ms: round(answer.ms),
        expected,
      };
    } catch (error) {
      return {
        name,
        status: `error ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        retryAfter: false,
        bytes: 0,
        ms: 0,
        expected,
      };
    }
  };
  const largest = Buffer.from(JSON.stringify(LARGEST_ANSWER));
  const reader = nonReader(Number(url.port), largest);
  const requests: Promise<BurstAnswer>[] = [];
  for (const kind of worstCases()) {
    const copies = kind.name === 'answer-4M' ? largestAnswers : 1;
    for (let i = 0; i < copies; i++) requests.push(one(kind.name, kind.path, kind.body(), kind.expected));
  }
  let done = false;
  const all = Promise.all(requests).finally(() => {
    done = true;
  });
  const hellos: BurstAnswer[] = [];
  while (!done) {
    hellos.push(await one('hello', '/rnn/forward', Buffer.from(HELLO), [200]));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const answers = await all;
  const status = await reader.status();
  reader.close();
  agent.destroy();
  const nonReading: BurstAnswer = {
    name: 'non-reader',
    status: /^\d{3}$/.test(status) ? Number(status) : status,
    retryAfter: false,
    bytes: 0,
    ms: 0,
    expected: [200, 503],
  };
  return [...answers, nonReading, ...hellos];
}

// `node --import tsx scripts/hostile.ts --burst http://127.0.0.1:<port> [copies]`: one line per answer,
// `name status retry-after bytes ms expected` (scripts/container-test.sh reads them).
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === '--burst' && process.argv[3] !== undefined) {
  burst(process.argv[3], Number(process.argv[4] ?? 4)).then(
    (answers) => {
      for (const a of answers)
        process.stdout.write(
          `${a.name} ${String(a.status).replace(/\s+/g, '_')} ${a.retryAfter ? 'retry-after' : '-'} ${a.bytes} ${a.ms} ${a.expected.join('/')}\n`,
        );
    },
    (error: unknown) => {
      process.stderr.write(`burst: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}

// `node --import tsx scripts/hostile.ts --deployment`: the Deployment's memory limit in bytes, its CPU limit,
// then its literal env values, one NAME=VALUE a line.
if (isMain && process.argv[2] === '--deployment') {
  const { literal, memoryLimitBytes, cpus } = deploymentEnv();
  process.stdout.write(`${memoryLimitBytes}\n${cpus}\n`);
  for (const [name, value] of Object.entries(literal)) process.stdout.write(`${name}=${value}\n`);
}
