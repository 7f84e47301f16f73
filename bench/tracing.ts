/**
 * What tracing costs a small request: POST /rnn/forward with the hello body, on the service as `npm start` runs it,
 * with tracing off, on with every request recorded, and on with 1 % recorded (`parentbased_traceidratio`), spans
 * exported over OTLP/HTTP (protobuf) to a receiver in this process that discards them. With BENCH_BASELINE set to
 * another build's `dist/src/main.js` (main's, say), that build runs beside them, untraced: what the feature costs
 * when it is off.
 *
 * Rounds interleave the contestants (who goes first rotating), 10 connections for SECONDS each; servers pinned to
 * CPU 0, the load generator and the receiver to CPU 1. Each server's CPU is counted over its run and the
 * SETTLE_MS after it, so that the batch processor's exports of that run are its cost; CPU per request is the
 * figure that holds when the load generator cannot keep up (req/s then flatters the slower).
 *
 *   npm run bench -- tracing [--quick]          (BENCH_ROUNDS: rounds, default 9, 5 with --quick)
 *   BENCH_BASELINE=/path/to/other/dist/src/main.js npm run bench -- tracing
 */
import { createServer } from 'node:http';
import { HELLO_INPUTS } from '../schemas/forward.js';
import {
  type Child,
  SECONDS,
  SERVICE,
  buildService,
  cannon,
  cpuSeconds,
  median,
  pinning,
  row,
  startServer,
} from './servers.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 5 : 9));
const BASELINE = process.env.BENCH_BASELINE ?? null;
/** Time after a run for its spans to be exported (the batch processor runs every 500 ms here). */
const SETTLE_MS = 1500;
const HELLO = JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 });

interface Round {
  rps: number;
  p99: number;
  cpuPerRequest: number;
}

async function main(): Promise<void> {
  buildService();
  const pinned = pinning();
  const cpu = pinned ? 0 : null;
  let exportedBytes = 0;
  let exports = 0;
  const receiver = createServer((request, response) => {
    exports += 1;
    request.on('data', (chunk: Buffer) => {
      exportedBytes += chunk.length;
    });
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '500' };
  const base = { POOL_THREADS: '0' };

  const contestants: { name: string; child: Child }[] = [];
  if (BASELINE !== null)
    contestants.push({ name: 'baseline build, untraced', child: await startServer(BASELINE, base, cpu) });
  contestants.push({ name: 'tracing off', child: await startServer(SERVICE, base, cpu) });
  contestants.push({
    name: 'tracing on, all recorded',
    child: await startServer(SERVICE, { ...base, ...traced }, cpu),
  });
  contestants.push({
    name: 'tracing on, 1 % recorded',
    child: await startServer(
      SERVICE,
      { ...base, ...traced, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
      cpu,
    ),
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const url = (child: Child) => `${child.url}/rnn/forward`;
  for (const { child } of contestants) {
    await cannon(url(child), HELLO, 10, 2); // warm-up
    await settle();
  }

  const rounds = new Map<string, Round[]>(contestants.map(({ name }) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = contestants.map((_, i) => contestants[(i + round) % contestants.length]);
    const line: string[] = [];
    for (const { name, child } of order) {
      const before = cpuSeconds(child.pid);
      const run = await cannon(url(child), HELLO, 10);
      await settle();
      const after = cpuSeconds(child.pid);
      const cpuPerRequest = before === null || after === null ? Number.NaN : (after - before) / run.requests;
      rounds.get(name)?.push({ rps: run.rps, p99: run.p99, cpuPerRequest });
      line.push(`${name} ${run.rps.toFixed(0)} req/s`);
    }
    process.stderr.write(`  round ${round + 1}/${ROUNDS}: ${line.join(', ')}\n`);
  }
  for (const { child } of contestants) await child.stop();
  receiver.close();

  const off = rounds.get('tracing off') as Round[];
  process.stdout.write(
    `\n### Tracing on the hello path\n\n10 connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per contestant ` +
      `(CPU counted over each run and the ${SETTLE_MS} ms after it); ${pinned ? 'servers pinned to CPU 0, load generator and OTLP receiver to CPU 1' : 'not pinned'}; ` +
      `${exports} exports received, ${(exportedBytes / 1e6).toFixed(1)} MB.\n\n`,
  );
  process.stdout.write(
    row(['server', 'req/s', 'p99 ms', 'CPU per request', 'CPU per request / tracing off', 'req/s / tracing off']),
  );
  process.stdout.write(row(['---', '---', '---', '---', '---', '---']));
  const range = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return `${median(xs).toFixed(3)} (${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)})`;
  };
  for (const { name } of contestants) {
    const runs = rounds.get(name) as Round[];
    process.stdout.write(
      row([
        name,
        median(runs.map((r) => r.rps)).toFixed(0),
        median(runs.map((r) => r.p99)),
        `${(median(runs.map((r) => r.cpuPerRequest)) * 1e6).toFixed(1)} µs`,
        range(runs.map((r, i) => r.cpuPerRequest / off[i].cpuPerRequest)),
        range(runs.map((r, i) => r.rps / off[i].rps)),
      ]),
    );
  }
}

await main();
