/**
 * HTTP benchmarks on loopback, bounded in time. Each server runs in a child process of its own (the service
 * as `npm start` runs it, compiled first; `bench/bare-server.ts` for the peer), so the load generator
 * (autocannon, in this process) does not share its event loop:
 *  1. POST /rnn/forward with the hello body vs a bare Fastify route answering a fixed JSON body of the same
 *     size, same logger settings: requests/s ratio and p50/p99, and each server's CPU time per request (from
 *     /proc), whose ratio does not depend on whether the load generator kept up with the faster server.
 *  2. Mixed load: p99 of hello requests while large requests run, against the unloaded p99, for the pool
 *     configurations that matter (none, one worker as it was, one worker parsing large bodies at a lower
 *     priority, two workers).
 *  3. The Open Inference Protocol: the same large request (32 × 500 × the hello model's 4 features) through
 *     POST /v2/models/hello/infer as JSON and with the binary tensor data extension (binary input, binary
 *     outputs), interleaved rounds, requests/s and their ratio.
 * The machine's speed drifts by tens of percent within a minute here, so the contestants run interleaved
 * in short rounds and each figure is the median over rounds; the hello ratio is the median of the ratios of
 * adjacent runs. Only ratios measured in this one run mean anything.
 *
 *   npm run bench -- http [--quick] [--mixed | --hello | --oip]   (BENCH_SECONDS: seconds per run, default 2)
 */
import { fileURLToPath } from 'node:url';
import { HELLO_INPUTS } from '../schemas/forward.js';
import {
  NODE_FLAGS,
  type Run,
  SECONDS,
  SERVICE,
  type ServerCpu,
  buildService,
  cannon,
  measured,
  median,
  medianRun,
  pinning,
  row,
  startServer,
  unpin,
} from './servers.js';

const QUICK = process.argv.includes('--quick');
const ONLY_MIXED = process.argv.includes('--mixed');
const ONLY_HELLO = process.argv.includes('--hello');
const ONLY_OIP = process.argv.includes('--oip');
/** BENCH_ROUNDS: rounds of the interleaved comparisons (default 11, 5 with --quick). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 5 : 11));
const HELLO = JSON.stringify({ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 });
const LARGE = JSON.stringify({
  inputs: { shape: [16, 100, 64], data: Array.from({ length: 16 * 100 * 64 }, (_, i) => Math.sin(i)) },
  hiddenSize: 256,
  seed: 1,
  outputFormat: 'flat',
  returnSequences: false,
});

async function helloVsBare(): Promise<void> {
  const rounds = ROUNDS;
  const pinned = pinning();
  const serverCpu = pinned ? 0 : null;
  const app = await startServer(SERVICE, { POOL_THREADS: '0' }, serverCpu);
  const helloUrl = `${app.url}/rnn/forward`;
  const sample = await (
    await fetch(helloUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: HELLO })
  ).text();
  const bare = await startServer(
    fileURLToPath(new URL('bare-server.js', import.meta.url)),
    { BARE_BODY: sample },
    serverCpu,
  );
  const bareUrl = `${bare.url}/bare`;

  await cannon(helloUrl, HELLO, 10, 2); // warm-up
  await cannon(bareUrl, HELLO, 10, 2);
  const ours: Run[] = [];
  const peer: Run[] = [];
  const cpus: { ours: ServerCpu; peer: ServerCpu }[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so a drift in the machine's speed does not favour either.
    const first = round % 2 === 0 ? await measured(app, helloUrl, HELLO, 10) : await measured(bare, bareUrl, HELLO, 10);
    const second =
      round % 2 === 0 ? await measured(bare, bareUrl, HELLO, 10) : await measured(app, helloUrl, HELLO, 10);
    const [o, p] = round % 2 === 0 ? [first, second] : [second, first];
    ours.push(o.run);
    peer.push(p.run);
    let cpuNote = '';
    if (o.cpu !== null && p.cpu !== null) {
      cpus.push({ ours: o.cpu, peer: p.cpu });
      cpuNote =
        `; CPU per request ${(o.cpu.perRequest * 1e6).toFixed(1)} vs ${(p.cpu.perRequest * 1e6).toFixed(1)} µs ` +
        `(ratio ${(p.cpu.perRequest / o.cpu.perRequest).toFixed(2)}), busy ${o.cpu.busy.toFixed(2)} vs ${p.cpu.busy.toFixed(2)}`;
    }
    process.stderr.write(
      `  round ${round + 1}/${rounds}: ours ${o.run.rps.toFixed(0)} req/s, bare ${p.run.rps.toFixed(0)} req/s, ratio ${(o.run.rps / p.run.rps).toFixed(2)}${cpuNote}\n`,
    );
  }
  await bare.stop();
  await app.stop();
  // The mixed-load part needs both CPUs (workers): unpin.
  if (pinned) unpin();
  const o = medianRun(ours);
  const p = medianRun(peer);
  process.stdout.write(
    `\n### HTTP hello vs a bare route\n\n10 connections, ${rounds} interleaved rounds of ${SECONDS} s per contestant, response ${sample.length} bytes; medians over rounds; ${pinned ? 'servers pinned to CPU 0, load generator to CPU 1' : 'not pinned'}; both servers run with \`npm start\`'s Node options (${NODE_FLAGS.length > 0 ? NODE_FLAGS.map((f) => `\`${f}\``).join(' ') : 'none'}).\n\n`,
  );
  process.stdout.write(
    row(['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'server CPU per request', 'server busy']),
  );
  process.stdout.write(row(['---', '---', '---', '---', '---', '---', '---', '---']));
  const perRequest = (side: 'ours' | 'peer') =>
    cpus.length > 0 ? `${(median(cpus.map((c) => c[side].perRequest)) * 1e6).toFixed(1)} µs` : 'n/a';
  const busy = (side: 'ours' | 'peer') => median(cpus.map((c) => c[side].busy));
  const share = (side: 'ours' | 'peer') => (cpus.length > 0 ? busy(side).toFixed(2) : 'n/a');
  process.stdout.write(
    row(['`/rnn/forward`', o.rps.toFixed(0), o.p50, o.p99, o.non2xx, o.errors, perRequest('ours'), share('ours')]),
  );
  process.stdout.write(
    row(['bare route', p.rps.toFixed(0), p.p50, p.p99, p.non2xx, p.errors, perRequest('peer'), share('peer')]),
  );
  const range = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return `${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)}`;
  };
  const ratios = ours.map((run, i) => run.rps / peer[i].rps);
  process.stdout.write(
    `\nratio ours/bare requests/s: median of per-round ratios **${median(ratios).toFixed(2)}** (target ≥ 0.85); ` +
      `range ${range(ratios)}; ratio of medians ${(o.rps / p.rps).toFixed(2)}\n`,
  );
  if (cpus.length > 0) {
    // req/s measures the server only while the server is what limits it: a load generator that cannot keep up
    // with the faster contestant (busy well under 1) caps it and flatters the slower one.
    const cpuRatios = cpus.map((c) => c.peer.perRequest / c.ours.perRequest);
    const saturated = busy('peer') >= 0.9 && busy('ours') >= 0.9;
    process.stdout.write(
      `ratio by server CPU per request (bare's over ours; independent of how fast the load generator is): median of ` +
        `per-round ratios **${median(cpuRatios).toFixed(2)}**, range ${range(cpuRatios)}. ` +
        (saturated
          ? 'Both servers were busy ≥ 90 % of each round, so the two ratios measure the same thing.\n'
          : `**The servers were not saturated** (median busy: ours ${busy('ours').toFixed(2)}, bare ${busy('peer').toFixed(2)}): ` +
            "the load generator set the pace, and the requests/s ratio is not the servers' ratio; the CPU one is.\n"),
    );
  }
}

interface PoolCase {
  name: string;
  env: Record<string, string>;
}

const POOL_CASES: PoolCase[] = [
  { name: 'no pool (all inline)', env: { POOL_THREADS: '0' } },
  {
    name: '1 worker, bodies parsed on the event loop, nice 0',
    env: { POOL_THREADS: '1', POOL_MIN_BODY_BYTES: '0', POOL_NICE: '0' },
  },
  { name: '1 worker, large bodies parsed on it, nice 10 (default on 2 cores)', env: { POOL_THREADS: '1' } },
  { name: '2 workers (default settings otherwise)', env: { POOL_THREADS: '2' } },
];

async function mixedLoad(): Promise<void> {
  const rounds = QUICK ? 2 : 3;
  process.stdout.write(
    `\n### Mixed load\n\np99 of hello requests (4 connections) while 4 other connections send large requests (16×100×64→256, ` +
      `${(LARGE.length / 1e6).toFixed(1)} MB of JSON each), against hello's unloaded p99 on the same server; ${rounds} rounds of ` +
      `${SECONDS * 2} s each (unloaded, then loaded), medians. Event-loop shedding is off, so nothing is refused.\n\n`,
  );
  process.stdout.write(
    row([
      'configuration',
      'hello unloaded p99 ms',
      'hello loaded req/s',
      'hello loaded p99 ms',
      'loaded/unloaded p99',
      'large req/s',
    ]),
  );
  process.stdout.write(row(['---', '---', '---', '---', '---', '---']));
  for (const { name, env } of POOL_CASES) {
    const server = await startServer(SERVICE, { MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
    const url = `${server.url}/rnn/forward`;
    await cannon(url, HELLO, 4, 1);
    await cannon(url, LARGE, 2, 2);
    const unloaded: Run[] = [];
    const loaded: Run[] = [];
    const large: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      unloaded.push(await cannon(url, HELLO, 4, SECONDS * 2));
      const [hello, big] = await Promise.all([cannon(url, HELLO, 4, SECONDS * 2), cannon(url, LARGE, 4, SECONDS * 2)]);
      loaded.push(hello);
      large.push(big);
    }
    await server.stop();
    const u = medianRun(unloaded);
    const l = medianRun(loaded);
    const b = medianRun(large);
    const factor = l.p99 / Math.max(u.p99, 1);
    process.stderr.write(`  ${name}: unloaded p99 ${u.p99} ms, loaded p99 ${l.p99} ms (${factor.toFixed(1)}×)\n`);
    process.stdout.write(row([name, u.p99, l.rps.toFixed(0), l.p99, `**${factor.toFixed(1)}×**`, b.rps.toFixed(1)]));
  }
  process.stdout.write(
    '\n(target: loaded/unloaded ≤ 3×; autocannon reports whole milliseconds, so an unloaded p99 below 1 ms counts as 1 ms)\n',
  );
}

/**
 * The same request as JSON and with the binary tensor data extension: [32, 500, 4] FP32 into the shipped hello
 * model, every output back (48,000 + 96 values). The server as `npm start` runs it, the shipped repository.
 */
async function oipJsonVsBinary(): Promise<void> {
  const rounds = ROUNDS;
  const shape = [32, 500, 4];
  const values = Array.from({ length: 32 * 500 * 4 }, (_, i) => Math.fround(Math.sin(i)));
  const json = JSON.stringify({ inputs: [{ name: 'input', shape, datatype: 'FP32', data: values }] });
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: values.length * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const tensor = Buffer.from(new Float32Array(values).buffer); // little-endian on every machine we run on
  const binary = Buffer.concat([header, tensor]);
  const jsonHeaders = { 'content-type': 'application/json' };
  const binaryHeaders = {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(header.length),
  };
  const pinned = pinning();
  // The shipped repository, from dist/bench/ where the benchmark runs compiled.
  const app = await startServer(
    SERVICE,
    { MODELS_DIR: fileURLToPath(new URL('../../models', import.meta.url)) },
    pinned ? 0 : null,
  );
  const jsonRuns: Run[] = [];
  const binaryRuns: Run[] = [];
  const cpuRatios: number[] = [];
  let sizes = '';
  try {
    const url = `${app.url}/v2/models/hello/infer`;
    // The two answers agree before anything is timed: the binary output's values are the JSON's, bit for bit.
    const a = await fetch(url, { method: 'POST', headers: jsonHeaders, body: json });
    const b = await fetch(url, { method: 'POST', headers: binaryHeaders, body: binary });
    if (!a.ok || !b.ok) throw new Error(`infer answered ${a.status} and ${b.status}: ${await a.text()}`);
    const jsonAnswer = (await a.json()) as { outputs: { data: number[] }[] };
    const bytes = Buffer.from(await b.arrayBuffer());
    const length = Number(b.headers.get('inference-header-content-length'));
    const output = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + length, bytes.byteOffset + length + 32 * 500 * 3 * 4),
    );
    if (!jsonAnswer.outputs[0].data.every((v, i) => Math.fround(v) === output[i]))
      throw new Error('the binary answer differs from the JSON answer');
    sizes = `request ${(json.length / 1e6).toFixed(2)} MB JSON vs ${(binary.length / 1e6).toFixed(2)} MB binary, answer ${(JSON.stringify(jsonAnswer).length / 1e6).toFixed(2)} MB vs ${(bytes.length / 1e6).toFixed(2)} MB`;

    await cannon(url, json, 4, 2, jsonHeaders); // warm-up
    await cannon(url, binary, 4, 2, binaryHeaders);
    for (let round = 0; round < rounds; round++) {
      const runJson = () => measured(app, url, json, 4, jsonHeaders);
      const runBinary = () => measured(app, url, binary, 4, binaryHeaders);
      const first = round % 2 === 0 ? await runJson() : await runBinary();
      const second = round % 2 === 0 ? await runBinary() : await runJson();
      const [j, bin] = round % 2 === 0 ? [first, second] : [second, first];
      jsonRuns.push(j.run);
      binaryRuns.push(bin.run);
      if (j.cpu !== null && bin.cpu !== null) cpuRatios.push(j.cpu.perRequest / bin.cpu.perRequest);
      process.stderr.write(
        `  round ${round + 1}/${rounds}: JSON ${j.run.rps.toFixed(0)} req/s, binary ${bin.run.rps.toFixed(0)} req/s, ratio ${(bin.run.rps / j.run.rps).toFixed(2)}\n`,
      );
    }
  } finally {
    await app.stop();
  }
  if (pinned) unpin();
  const j = medianRun(jsonRuns);
  const bin = medianRun(binaryRuns);
  const ratios = binaryRuns.map((run, i) => run.rps / jsonRuns[i].rps);
  process.stdout.write(
    `\n### Open Inference Protocol: JSON vs binary tensors\n\nPOST /v2/models/hello/infer, input [32, 500, 4] FP32, every output (${sizes}); 4 connections, ${rounds} interleaved rounds of ${SECONDS} s each, medians; ${pinned ? 'server pinned to CPU 0, load generator to CPU 1' : 'not pinned'}.\n\n`,
  );
  process.stdout.write(row(['form', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors']));
  process.stdout.write(row(['---', '---', '---', '---', '---', '---']));
  process.stdout.write(row(['JSON', j.rps.toFixed(1), j.p50, j.p99, j.non2xx, j.errors]));
  process.stdout.write(row(['binary', bin.rps.toFixed(1), bin.p50, bin.p99, bin.non2xx, bin.errors]));
  process.stdout.write(
    `\nratio binary/JSON requests/s: median of per-round ratios **${median(ratios).toFixed(2)}** (target ≥ 3)` +
      (cpuRatios.length > 0 ? `; by server CPU per request ${median(cpuRatios).toFixed(2)}` : '') +
      '\n',
  );
}

buildService();
if (ONLY_OIP) await oipJsonVsBinary();
else {
  if (!ONLY_MIXED) await helloVsBare();
  if (!ONLY_HELLO) await mixedLoad();
  if (!ONLY_MIXED && !ONLY_HELLO) await oipJsonVsBinary();
}
