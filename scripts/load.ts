/**
 * Load test: many concurrent connections for a fixed time, mixing small valid, invalid and large requests
 * (one autocannon instance per kind, run in parallel, so each kind has its own latency percentiles).
 * Starts the server in-process on a loopback port, or targets LOAD_URL (127.0.0.1 only).
 *
 *   npm run load                                   # 20 s, 50 connections
 *   LOAD_SECONDS=60 LOAD_CONNECTIONS=100 npm run load
 *   LOAD_URL=http://127.0.0.1:8080 npm run load    # a server already running
 *   npm run load -- --hostile                      # (or LOAD_MIX=hostile) worst cases beside small requests,
 *                                                  # server as a child process: scripts/hostile.ts
 *
 * Reports requests, counts by status, socket errors and timeouts, p50/p99 latency per kind, and the server's
 * RSS (process_resident_memory_bytes from /metrics) after a warm-up and at the end. Exits 1 on any 5xx or
 * socket error. In-process, load shedding is off (it would answer 503 by design under this load) and the
 * server's RSS includes the load generator's own.
 */
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';
import { HELLO_INPUTS } from '../schemas/forward.js';
import { buildApp } from '../src/http/app.js';
import { type Config, defaultConfig } from '../src/config/config.js';
import { deploymentEnv, formatHostileReport, hostileFailures, runHostile } from './hostile.js';

export interface LoadOptions {
  /** A running server (http://127.0.0.1:<port>); without it one is started in-process. */
  url?: string;
  seconds: number;
  connections: number;
  /** Before the RSS baseline is read; default a quarter of `seconds`, at most 5. */
  warmUpSeconds?: number;
  /** Pool settings of the in-process server (default: the service defaults). */
  pool?: Partial<Config['pool']>;
}

export interface KindReport {
  connections: number;
  requests: number;
  byStatus: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadReport {
  url: string;
  seconds: number;
  requests: number;
  byStatus: Record<string, number>;
  serverErrors: number;
  /** Connection errors and timeouts. */
  socketErrors: number;
  timeouts: number;
  kinds: Record<string, KindReport>;
  rss: { afterWarmUpMb: number; endMb: number; growthMb: number; growthPercent: number } | null;
  /**
   * The JavaScript heap in use right after a full GC (run with --expose-gc, `npm run load` does), at the
   * same two moments: what a leak would grow, unlike RSS, which V8 and the allocator keep for reuse.
   */
  heapAfterGc?: { afterWarmUpMb: number; endMb: number; growthMb: number } | null;
  /** Lines the in-process server logged at error level or above (null for LOAD_URL). */
  errorLogs: number | null;
}

const HELLO = { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 };

/** Deterministic data for the large request (mulberry32). */
function randomData(n: number, seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.round((((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2000) / 1000;
  });
}

const json = { 'content-type': 'application/json' };
const post = (body: string, headers: Record<string, string> = json) => ({
  method: 'POST' as const,
  path: '/rnn/forward',
  headers,
  body,
});

/** The request mix: a share of the connections each, and the requests each connection cycles through. */
const KINDS: Record<string, { share: number; requests: ReturnType<typeof post>[] }> = {
  small: {
    share: 0.6,
    requests: [post(JSON.stringify(HELLO)), post(JSON.stringify({ text: ['hello', 'world'], hiddenSize: 4, seed: 3 }))],
  },
  // Bad JSON and invalid UTF-8 answers close the connection (Fastify does, the client may still be sending):
  // those clients reconnect, which shows in this kind's latency.
  invalid: {
    share: 0.3,
    requests: [
      post('{"inputs": [[[1,'),
      post(JSON.stringify({ inputs: [[[1, 'x']]], hiddenSize: 2 })),
      post(JSON.stringify({ inputs: [[[1]]], hidden_size: 2 })),
      post(JSON.stringify(HELLO), { 'content-type': 'text/plain' }),
      post(JSON.stringify({ inputs: [[[1e39]]], hiddenSize: 2 })),
      post(
        JSON.stringify({
          inputs: [[[1], [1]]],
          weights: { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] },
          activation: 'linear',
        }),
      ),
    ],
  },
  // 8·200·(16 + 32)·32 ≈ 2.5M multiply-adds: above the default pool threshold, so it runs on a worker.
  large: {
    share: 0.1,
    requests: [
      post(
        JSON.stringify({
          inputs: { shape: [8, 200, 16], data: randomData(8 * 200 * 16, 7) },
          hiddenSize: 32,
          seed: 11,
          outputFormat: 'flat',
        }),
      ),
    ],
  },
};

/** Only loopback: this tool must never be pointed at someone else's server. */
export function checkLoopback(url: string): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' || parsed.hostname !== '127.0.0.1') {
    throw new Error(`LOAD_URL must be http://127.0.0.1:<port>; got ${url}`);
  }
  return parsed;
}

/** Heap in use after a full GC of this process (server and load generator), or null without --expose-gc. */
function heapAfterGcMb(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function serverRssMb(base: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', base))).text();
  const line = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(text);
  if (line === null) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(line[1]) / 2 ** 20;
}

function runKind(
  base: string,
  seconds: number,
  connections: number,
  requests: ReturnType<typeof post>[],
): Promise<autocannon.Result> {
  return autocannon({ url: base, connections, duration: seconds, timeout: 30, requests });
}

async function runMix(
  base: string,
  seconds: number,
  connections: number,
): Promise<Record<string, { connections: number; result: autocannon.Result }>> {
  const names = Object.keys(KINDS);
  const split = names.map((name) => Math.max(1, Math.round(connections * KINDS[name].share)));
  const results = await Promise.all(names.map((name, i) => runKind(base, seconds, split[i], KINDS[name].requests)));
  return Object.fromEntries(names.map((name, i) => [name, { connections: split[i], result: results[i] }]));
}

function countStatuses(result: autocannon.Result): Record<string, number> {
  const stats =
    (result as unknown as { statusCodeStats?: Record<string, { count: number | string }> }).statusCodeStats ?? {};
  return Object.fromEntries(Object.entries(stats).map(([status, { count }]) => [status, Number(count)]));
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  let base: string;
  let close = async () => {};
  let errorLogs: number | null = null;
  if (options.url !== undefined) {
    base = checkLoopback(options.url).origin;
  } else {
    errorLogs = 0;
    // warn and above go to stderr; error lines are counted for the report.
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) {
          if (line.trim() === '') continue;
          if ((JSON.parse(line) as { level: number }).level >= 50) errorLogs! += 1;
          process.stderr.write(`${line}\n`);
        }
        done();
      },
    });
    const config: Config = {
      ...defaultConfig,
      host: '127.0.0.1',
      port: 0,
      pool: { ...defaultConfig.pool, ...options.pool },
      overload: { ...defaultConfig.overload, maxEventLoopDelayMs: 0 },
    };
    const app = await buildApp(config, { logger: pino({ level: 'warn' }, sink) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  }
  try {
    const warmUp = options.warmUpSeconds ?? Math.min(5, Math.max(1, Math.round(options.seconds / 4)));
    const warm = await runMix(base, warmUp, Math.max(3, Math.round(options.connections / 5)));
    const before = await serverRssMb(base);
    const inProcess = options.url === undefined; // the heap is only the server's own when it runs here
    const heapBefore = inProcess ? heapAfterGcMb() : null;
    const run = await runMix(base, options.seconds, options.connections);
    const after = await serverRssMb(base);
    const heapAfter = inProcess ? heapAfterGcMb() : null;

    const byStatus: Record<string, number> = {};
    const kinds: Record<string, KindReport> = {};
    let socketErrors = 0;
    let timeouts = 0;
    for (const [name, { connections, result }] of Object.entries(run)) {
      const statuses = countStatuses(result);
      for (const [status, n] of Object.entries(statuses)) byStatus[status] = (byStatus[status] ?? 0) + n;
      socketErrors += result.errors;
      timeouts += result.timeouts;
      kinds[name] = {
        connections,
        requests: Object.values(statuses).reduce((a, b) => a + b, 0),
        byStatus: statuses,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
      };
    }
    // A 5xx or socket error during the warm-up counts too.
    for (const { result } of Object.values(warm)) {
      for (const [status, n] of Object.entries(countStatuses(result)))
        if (Number(status) >= 500) byStatus[`${status} (warm-up)`] = n;
      socketErrors += result.errors;
      timeouts += result.timeouts;
    }
    const serverErrors = Object.entries(byStatus)
      .filter(([status]) => Number(status.slice(0, 3)) >= 500)
      .reduce((a, [, n]) => a + n, 0);
    // Closed first, so what the server logs while it finishes the requests still running is counted too.
    await close();
    return {
      url: base,
      seconds: options.seconds,
      requests: Object.values(kinds).reduce((a, k) => a + k.requests, 0),
      byStatus,
      serverErrors,
      socketErrors,
      timeouts,
      kinds,
      rss: {
        afterWarmUpMb: round(before),
        endMb: round(after),
        growthMb: round(after - before),
        growthPercent: round(((after - before) / before) * 100),
      },
      heapAfterGc:
        heapBefore === null || heapAfter === null
          ? null
          : { afterWarmUpMb: round(heapBefore), endMb: round(heapAfter), growthMb: round(heapAfter - heapBefore) },
      errorLogs,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

export function formatReport(report: LoadReport): string {
  const lines = [
    `target ${report.url}, ${report.seconds} s`,
    `requests ${report.requests}; by status ${JSON.stringify(report.byStatus)}`,
    `5xx ${report.serverErrors}; socket errors ${report.socketErrors} (timeouts ${report.timeouts})${report.errorLogs === null ? '' : `; error log lines ${report.errorLogs}`}`,
    'kind      conns  requests  p50 ms  p99 ms  max ms  statuses',
    ...Object.entries(report.kinds).map(
      ([name, k]) =>
        `${name.padEnd(9)} ${String(k.connections).padStart(5)} ${String(k.requests).padStart(9)} ${String(k.p50Ms).padStart(7)} ${String(k.p99Ms).padStart(7)} ${String(k.maxMs).padStart(7)}  ${JSON.stringify(k.byStatus)}`,
    ),
  ];
  if (report.heapAfterGc) {
    const h = report.heapAfterGc;
    lines.push(
      `heap in use after a full GC: after warm-up ${h.afterWarmUpMb} MB, at the end ${h.endMb} MB: ${h.growthMb >= 0 ? '+' : ''}${h.growthMb} MB`,
    );
  }
  if (report.rss) {
    lines.push(
      `server RSS after warm-up ${report.rss.afterWarmUpMb} MB, at the end ${report.rss.endMb} MB: ${report.rss.growthMb >= 0 ? '+' : ''}${report.rss.growthMb} MB (${report.rss.growthPercent}%)`,
    );
  }
  return lines.join('\n');
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number; got ${raw}`);
  return value;
}

/** `npm run load -- --hostile` or LOAD_MIX=hostile: scripts/hostile.ts. */
function hostileSelected(): boolean {
  const mix = process.env.LOAD_MIX ?? '';
  if (mix !== '' && mix !== 'hostile' && mix !== 'default')
    throw new Error(`LOAD_MIX must be hostile or default; got ${mix}`);
  return process.argv.includes('--hostile') || mix === 'hostile';
}

/**
 * Small-request p99 the hostile mix may reach (LOAD_MAX_P99_MS): 250 ms, a quarter of the Deployment's
 * MAX_EVENT_LOOP_DELAY_MS (1 s, where the service starts shedding). A hello request alone takes about 1 ms.
 */
const DEFAULT_HOSTILE_MAX_P99_MS = 250;

async function mainHostile(): Promise<number> {
  const limits = {
    maxSmallP99Ms: positive('LOAD_MAX_P99_MS', DEFAULT_HOSTILE_MAX_P99_MS),
    // The Deployment's memory limit (1 GiB): the server must stay below it.
    maxPeakRssMb: deploymentEnv().memoryLimitBytes / 2 ** 20,
  };
  const report = await runHostile({
    seconds: positive('LOAD_SECONDS', 20),
    smallConnections: Math.round(positive('LOAD_CONNECTIONS', 4)),
    log: (line) => process.stderr.write(`load: ${line}\n`),
  });
  process.stdout.write(`${formatHostileReport(report, limits)}\n\n`);
  const failures = hostileFailures(report, limits);
  for (const failure of failures) process.stdout.write(`FAIL: ${failure}\n`);
  if (failures.length === 0)
    process.stdout.write(
      `OK: no 5xx, no socket errors on the small requests, small p99 ${report.small.p99Ms} ms <= ${limits.maxSmallP99Ms} ms, peak RSS ${report.peakRssMb} MiB <= ${limits.maxPeakRssMb} MiB\n`,
    );
  return failures.length === 0 ? 0 : 1;
}

async function mainDefault(): Promise<number> {
  const report = await runLoad({
    url: process.env.LOAD_URL || undefined,
    seconds: positive('LOAD_SECONDS', 20),
    connections: Math.round(positive('LOAD_CONNECTIONS', 50)),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  const failed = report.serverErrors > 0 || report.socketErrors > 0 || (report.errorLogs ?? 0) > 0;
  process.stdout.write(failed ? 'FAIL: 5xx, socket errors or error logs\n' : 'OK: no 5xx, no socket errors\n');
  return failed ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  (async () => (hostileSelected() ? mainHostile() : mainDefault()))().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
