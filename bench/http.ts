/**
 * HTTP benchmarks on loopback, bounded in time (BENCH_SECONDS per run, default 8):
 *  1. POST /rnn/forward with the hello body vs a bare Fastify route answering a fixed JSON body of the same
 *     size, same logger settings: requests/s ratio and p50/p99.
 *  2. Mixed load: p99 of hello requests while large requests run, with the worker pool and without it,
 *     against the unloaded p99.
 * Only ratios measured in this one run mean anything (timings on a shared 2-core machine are noisy).
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { configWith } from '../test/helpers/build.js';

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

async function main(): Promise<void> {
  const quiet = pino({ level: 'warn' });
  if (!ONLY_MIXED) await helloVsBare(quiet);
  await mixedLoad(quiet);
}

async function helloVsBare(quiet: pino.Logger): Promise<void> {
  // 1. hello vs a bare route with a body of the same size
  const app = await buildApp(configWith({ pool: { threads: 0 } }), { logger: quiet });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const helloUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/rnn/forward`;
  const sample = (await app.inject({ method: 'POST', url: '/rnn/forward', headers: { 'content-type': 'application/json' }, payload: HELLO })).body;
  const bare = Fastify({ loggerInstance: quiet });
  bare.post('/bare', async (_request, reply) => reply.type('application/json; charset=utf-8').send(sample));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/bare`;

  await cannon(helloUrl, HELLO, 10, 2); // warm-up
  await cannon(bareUrl, HELLO, 10, 2);
  const ours = await cannon(helloUrl, HELLO, 10);
  const peer = await cannon(bareUrl, HELLO, 10);
  process.stdout.write(`\nHTTP hello (10 connections, ${SECONDS} s each, response ${sample.length} bytes)\n`);
  process.stdout.write(`  /rnn/forward  ${fmt(ours)}\n  bare route    ${fmt(peer)}\n`);
  process.stdout.write(`  ratio ours/bare requests/s: ${(ours.rps / peer.rps).toFixed(2)} (target ≥ 0.70)\n`);
  await bare.close();
  await app.close();
}

async function mixedLoad(quiet: pino.Logger): Promise<void> {
  // 2. mixed load: hello latency while large requests run
  process.stdout.write(`\nMixed load: hello p99 while 4 connections send large requests (16×100×64→256)\n`);
  for (const threads of [0, 1, 2]) {
    const mixed = await buildApp(configWith({ pool: { threads, minCompute: 2_000_000, maxQueue: 64 }, overload: { maxConcurrentForward: 0 } }), { logger: quiet });
    await mixed.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(mixed.server.address() as { port: number }).port}/rnn/forward`;
    await cannon(url, HELLO, 4, 1);
    const unloaded = await cannon(url, HELLO, 4);
    const [loaded, large] = await Promise.all([cannon(url, HELLO, 4), cannon(url, LARGE, 4)]);
    process.stdout.write(`  pool threads ${threads}: unloaded hello ${fmt(unloaded)}\n`);
    process.stdout.write(`                  loaded hello ${fmt(loaded)}\n`);
    process.stdout.write(`                  large        ${fmt(large)}\n`);
    process.stdout.write(`                  hello p99 loaded/unloaded: ${(loaded.p99 / Math.max(unloaded.p99, 0.1)).toFixed(1)}× (target ≤ 3×)\n`);
    await mixed.close();
  }
}

await main();
