/**
 * HTTP benchmarks on loopback, bounded in time (BENCH_SECONDS per run, default 8). Each server runs in a
 * child process of its own (`src/main.ts`, or `bench/bare-server.ts` for the peer), so the load generator
 * (autocannon, in this process) does not share its event loop:
 *  1. POST /rnn/forward with the hello body vs a bare Fastify route answering a fixed JSON body of the same
 *     size, same logger settings: requests/s ratio and p50/p99.
 *  2. Mixed load: p99 of hello requests while large requests run, with the worker pool and without it,
 *     against the unloaded p99.
 * Only ratios measured in this one run mean anything (timings on a shared 2-core machine are noisy).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ONLY_MIXED = process.argv.includes('--mixed');
const HELLO = JSON.stringify({ inputs: [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]]], hiddenSize: 2, seed: 42 });
const LARGE = JSON.stringify({
  inputs: { shape: [16, 100, 64], data: Array.from({ length: 16 * 100 * 64 }, (_, i) => Math.sin(i)) },
  hiddenSize: 256,
  seed: 1,
  outputFormat: 'flat',
  returnSequences: false,
});

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function cannon(url: string, body: string, connections: number, seconds = SECONDS): Promise<Run> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const fmt = (run: Run) => `${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50.toFixed(1).padStart(6)} ms  p99 ${run.p99.toFixed(1).padStart(6)} ms  non-2xx ${run.non2xx}  errors ${run.errors}`;

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

interface Child {
  url: string;
  stop(): Promise<void>;
}

/** Starts `script` (from source, through tsx) on a free loopback port and waits for its /readyz. */
async function startServer(script: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', SHUTDOWN_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${script} did not become ready`);
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: base,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main(): Promise<void> {
  if (!ONLY_MIXED) await helloVsBare();
  await mixedLoad();
}

async function helloVsBare(): Promise<void> {
  // 1. hello vs a bare route with a body of the same size
  const app = await startServer('src/main.ts', { POOL_THREADS: '0' });
  const helloUrl = `${app.url}/rnn/forward`;
  const sample = await (await fetch(helloUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: HELLO })).text();
  const bare = await startServer('bench/bare-server.ts', { BARE_BODY: sample });
  const bareUrl = `${bare.url}/bare`;

  await cannon(helloUrl, HELLO, 10, 2); // warm-up
  await cannon(bareUrl, HELLO, 10, 2);
  const ours = await cannon(helloUrl, HELLO, 10);
  const peer = await cannon(bareUrl, HELLO, 10);
  process.stdout.write(`\nHTTP hello (servers in child processes, 10 connections, ${SECONDS} s each, response ${sample.length} bytes)\n`);
  process.stdout.write(`  /rnn/forward  ${fmt(ours)}\n  bare route    ${fmt(peer)}\n`);
  process.stdout.write(`  ratio ours/bare requests/s: ${(ours.rps / peer.rps).toFixed(2)} (target ≥ 0.70)\n`);
  await bare.stop();
  await app.stop();
}

async function mixedLoad(): Promise<void> {
  // 2. mixed load: hello latency while large requests run
  process.stdout.write(`\nMixed load: hello p99 while 4 connections send large requests (16×100×64→256)\n`);
  for (const threads of [0, 1, 2]) {
    const server = await startServer('src/main.ts', { POOL_THREADS: String(threads), MAX_CONCURRENT_FORWARD: '0', MAX_EVENT_LOOP_DELAY_MS: '0' });
    const url = `${server.url}/rnn/forward`;
    await cannon(url, HELLO, 4, 1);
    const unloaded = await cannon(url, HELLO, 4);
    const [loaded, large] = await Promise.all([cannon(url, HELLO, 4), cannon(url, LARGE, 4)]);
    process.stdout.write(`  pool threads ${threads}: unloaded hello ${fmt(unloaded)}\n`);
    process.stdout.write(`                  loaded hello ${fmt(loaded)}\n`);
    process.stdout.write(`                  large        ${fmt(large)}\n`);
    process.stdout.write(`                  hello p99 loaded/unloaded: ${(loaded.p99 / Math.max(unloaded.p99, 0.1)).toFixed(1)}× (target ≤ 3×)\n`);
    await server.stop();
  }
}

await main();
