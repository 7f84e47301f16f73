/**
 * The serving core under load, on loopback, bounded in time (each server in a child process, as `npm start` runs
 * it; this process generates the load):
 *  1. --batching: a served model (binary tensors, 1×50×64 → 128 units): 64 clients each sending one sequence
 *     against 2 clients sending 32 per request, interleaved rounds, sequences per second and their ratio (dynamic
 *     batching merges the 64 clients' requests; target ≥ 0.8).
 *  2. --overload: large requests at 10× what the server completes: its capacity measured first (closed loop, the
 *     worker always busy), then an open loop at 10× that rate with a 1 s queue deadline: completed work against
 *     capacity (target ≥ 0.8), refusals, and the latency of every answered request against its deadline.
 *  3. --burst: 1,000 keep-alive connections sending hello for 10 s, against a bare Fastify route under the same
 *     load: non-2xx share (target ≤ 1 %) and completed requests per second (target ≥ 0.5× the bare route's).
 *
 *   npm run bench -- serving [--batching | --overload | --burst] [--quick]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELLO_INPUTS } from '../schemas/forward.js';
import { SECONDS, SERVICE, buildService, cannon, median, row, startServer } from './servers.js';

const QUICK = process.argv.includes('--quick');
const ONLY = ['--batching', '--overload', '--burst'].filter((o) => process.argv.includes(o));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));

/** A repository with the one model of these runs: SimpleRNN, 64 features → 128 units, seeded. */
function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-bench-'));
  mkdirSync(join(dir, 'seq', '1'), { recursive: true });
  writeFileSync(
    join(dir, 'seq', '1', 'model.json'),
    JSON.stringify({ format: 'rnn-serve/v1', inputDim: 64, hiddenSize: 128, seed: 1 }),
  );
  return dir;
}

/** An inference protocol request with binary input and outputs: its body and headers. */
function binaryInfer(batch: number, time: number, parameters: Record<string, number> = {}) {
  const values = new Float32Array(batch * time * 64).map((_, i) => Math.sin(i) * 0.5);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'input',
          shape: [batch, time, 64],
          datatype: 'FP32',
          parameters: { binary_data_size: values.byteLength },
        },
      ],
      parameters: { binary_data_output: true, ...parameters },
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(values.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** A server metric's value (a histogram's `_sum` or `_count`, a counter), summed over its series. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function batching(): Promise<void> {
  const dir = repository();
  const server = await startServer(SERVICE, { MODELS_DIR: dir, MAX_EVENT_LOOP_DELAY_MS: '0' });
  const url = `${server.url}/v2/models/seq/infer`;
  const one = binaryInfer(1, 50);
  const many = binaryInfer(32, 50);
  const ratios: number[] = [];
  const rows: string[] = [];
  try {
    await cannon(url, one.body, 64, 2, one.headers);
    await cannon(url, many.body, 2, 2, many.headers);
    for (let round = 0; round < ROUNDS; round++) {
      const requestsBefore = await metric(server.url, 'rnn_batch_requests_sum');
      const passesBefore = await metric(server.url, 'rnn_batch_requests_count');
      const singles = await cannon(url, one.body, 64, SECONDS * 2, one.headers);
      const merged = (await metric(server.url, 'rnn_batch_requests_sum')) - requestsBefore;
      const passes = (await metric(server.url, 'rnn_batch_requests_count')) - passesBefore;
      const batches = await cannon(url, many.body, 2, SECONDS * 2, many.headers);
      const ratio = singles.rps / (batches.rps * 32);
      ratios.push(ratio);
      const mean = passes > 0 ? (merged / passes).toFixed(1) : '–';
      process.stderr.write(
        `  round ${round + 1}/${ROUNDS}: 64×1 ${singles.rps.toFixed(0)} seq/s (merged passes of ${mean} requests), ` +
          `2×32 ${(batches.rps * 32).toFixed(0)} seq/s, ratio ${ratio.toFixed(2)}\n`,
      );
      rows.push(
        row([
          round + 1,
          singles.rps.toFixed(0),
          singles.p99,
          singles.non2xx,
          mean,
          (batches.rps * 32).toFixed(0),
          batches.p99,
          batches.non2xx,
          ratio.toFixed(2),
        ]),
      );
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n### Dynamic batching\n\nPOST /v2/models/seq/infer, a served SimpleRNN 64 → 128 units, binary tensors in and out, 50 steps per sequence; 64 connections each sending 1 sequence per request against 2 connections sending 32; ${SECONDS * 2} s per run, ${ROUNDS} rounds; default settings (one worker thread on 2 cores).\n\n`,
  );
  process.stdout.write(
    row([
      'round',
      '64×1 seq/s',
      'p99 ms',
      'non-2xx',
      'requests per merged pass',
      '2×32 seq/s',
      'p99 ms',
      'non-2xx',
      'ratio',
    ]),
  );
  process.stdout.write(row(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const line of rows) process.stdout.write(line);
  process.stdout.write(
    `\nratio 64×1 / 2×32 sequences per second: median **${median(ratios).toFixed(2)}** (target ≥ 0.8)\n`,
  );
}

interface Answer {
  readonly status: number;
  readonly ms: number;
}

/** One POST on a keep-alive agent: its status and latency. */
function send(
  agent: Agent,
  port: number,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    request.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    request.end(body);
  });
}

async function overload(): Promise<void> {
  const dir = repository();
  const server = await startServer(SERVICE, { MODELS_DIR: dir, MAX_EVENT_LOOP_DELAY_MS: '0' });
  const port = Number(new URL(server.url).port);
  const path = '/v2/models/seq/infer';
  const deadlineMs = 1000;
  // 8 × 200 steps: ~3.9·10^7 multiply-adds, a pass of some tens of ms on the one worker.
  const large = binaryInfer(8, 200, { timeout: deadlineMs * 1000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const seconds = QUICK ? 5 : 10;
  try {
    // Capacity: a closed loop of 4 clients keeps the worker busy.
    const closedUntil = performance.now() + seconds * 1000;
    let completed = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (performance.now() < closedUntil) {
          const answer = await send(agent, port, path, large.body, large.headers);
          if (answer.status === 200) completed += 1;
        }
      }),
    );
    const capacity = completed / seconds;
    // 10× that, open loop: requests arrive on schedule whether or not earlier ones were answered.
    const rate = capacity * 10;
    const answers: Promise<Answer>[] = [];
    const started = performance.now();
    for (let i = 0; i < rate * seconds; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      answers.push(send(agent, port, path, large.body, large.headers));
    }
    const all = await Promise.all(answers);
    const elapsed = (performance.now() - started) / 1000;
    const ok = all.filter((a) => a.status === 200);
    const refused = all.filter((a) => a.status === 503);
    const other = all.length - ok.length - refused.length;
    const latencies = ok.map((a) => a.ms).sort((a, b) => a - b);
    const p = (q: number) =>
      latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    const refusedMs = refused.map((a) => a.ms).sort((a, b) => a - b);
    const throughput = ok.length / elapsed;
    process.stdout.write(
      `\n### Overload: 10× capacity with large requests\n\nPOST /v2/models/seq/infer, binary [8, 200, 64] → 128 units (~3.9·10⁷ multiply-adds), \`timeout\` ${deadlineMs * 1000} µs (a ${deadlineMs} ms queue deadline); capacity from a closed loop of 4 clients for ${seconds} s, then an open loop at 10× that rate for ${seconds} s; default settings.\n\n`,
    );
    process.stdout.write(
      row([
        'capacity req/s',
        'offered req/s',
        'answered 200/s',
        '200/capacity',
        '503',
        'other',
        '200 p50 ms',
        '200 p99 ms',
        '200 max ms',
        '503 p50 ms',
      ]),
    );
    process.stdout.write(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    process.stdout.write(
      row([
        capacity.toFixed(1),
        rate.toFixed(1),
        throughput.toFixed(1),
        `**${(throughput / capacity).toFixed(2)}**`,
        refused.length,
        other,
        p(0.5).toFixed(0),
        p(0.99).toFixed(0),
        (latencies.at(-1) ?? 0).toFixed(0),
        (refusedMs[Math.floor(refusedMs.length / 2)] ?? 0).toFixed(0),
      ]),
    );
    process.stdout.write(
      `\ntarget: 200/capacity ≥ 0.8, no other status, every 200 within its deadline plus its pass (${deadlineMs} ms + the pass): max ${(latencies.at(-1) ?? 0).toFixed(0)} ms\n`,
    );
  } finally {
    agent.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function burst(): Promise<void> {
  const hello = JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 });
  const app = await startServer(SERVICE, {});
  const sample = await (
    await fetch(`${app.url}/rnn/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: hello,
    })
  ).text();
  const bare = await startServer(fileURLToPath(new URL('bare-server.js', import.meta.url)), { BARE_BODY: sample });
  const seconds = QUICK ? 5 : 10;
  const rows: string[] = [];
  const ratios: number[] = [];
  try {
    for (let round = 0; round < (QUICK ? 1 : 2); round++) {
      const ours = await cannon(`${app.url}/rnn/forward`, hello, 1000, seconds);
      const peer = await cannon(`${bare.url}/bare`, hello, 1000, seconds);
      const ratio = ours.rps / peer.rps;
      ratios.push(ratio);
      const share = (ours.non2xx / Math.max(1, ours.requests + ours.non2xx)) * 100;
      process.stderr.write(
        `  round ${round + 1}: ours ${ours.rps.toFixed(0)} req/s (${share.toFixed(2)} % non-2xx), bare ${peer.rps.toFixed(0)}\n`,
      );
      rows.push(
        row([
          round + 1,
          ours.rps.toFixed(0),
          ours.p99,
          ours.non2xx,
          `${share.toFixed(2)} %`,
          ours.errors,
          peer.rps.toFixed(0),
          peer.p99,
          ratio.toFixed(2),
        ]),
      );
    }
  } finally {
    await bare.stop();
    await app.stop();
  }
  process.stdout.write(
    `\n### 1,000 keep-alive connections\n\nhello on POST /rnn/forward (default settings, event-loop shedding on) against the bare route, 1,000 connections for ${seconds} s each, one after the other.\n\n`,
  );
  process.stdout.write(
    row(['round', 'ours req/s', 'p99 ms', 'non-2xx', 'non-2xx share', 'errors', 'bare req/s', 'bare p99 ms', 'ratio']),
  );
  process.stdout.write(row(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const line of rows) process.stdout.write(line);
  process.stdout.write(`\nratio ours/bare: **${median(ratios).toFixed(2)}** (target ≥ 0.5; non-2xx ≤ 1 %)\n`);
}

buildService();
if (ONLY.length === 0 || ONLY.includes('--batching')) await batching();
if (ONLY.length === 0 || ONLY.includes('--overload')) await overload();
if (ONLY.length === 0 || ONLY.includes('--burst')) await burst();
