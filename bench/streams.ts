/**
 * `npm run bench -- streams [--quick]`: stateful sequences streamed step by step. 256 concurrent streams, each
 * sending one step at a time to a served model (POST /v2/models/seq/infer, binary tensors, [1, 1, 64] → 128 units)
 * and the next once the answer is in, for a few seconds; steps per second of
 *   (a) server-held state in this process: `sequence_id` per stream, `sequence_start` on its first step;
 *   (b) the same streams carrying their state themselves: the answer's `state` sent back as the next step's
 *       `initial_state` (stateless requests);
 *   (c) server-held state in Redis (REDIS_URL; a redis-server this script starts).
 * Interleaved rounds, medians; targets (a)/(b) ≥ 0.9 and (c)/(b) ≥ 0.6. Before timing, one stream of each kind
 * proves that the three answer the same steps bit for bit.
 *
 * The servers run on CPU 0, this process (the streams' clients) and Redis on CPU 1 when the machine has two
 * (bench/servers.ts, `pinning`): Redis stands for a Redis on another machine, its CPU not the server's. Each run
 * also reports the server's CPU time per step, which is what the ratios come from once the server is busy.
 * BENCH_ROUNDS rounds (default 5, 3 with --quick) of BENCH_SECONDS × 2 s per kind (× 1 with --quick).
 */
import { rmSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import {
  type Child,
  SECONDS,
  SERVICE,
  buildService,
  cpuSeconds,
  median,
  pinning,
  repository,
  row,
  startRedis,
  startServer,
} from './servers.js';

const STREAMS = 256;
const FEATURES = 64;
const UNITS = 128;
const PATH = '/v2/models/seq/infer';

type Kind = 'carried' | 'memory' | 'redis';

/** One step's input, [1, 1, 64], the same every step (the state still changes from step to step). */
const INPUT = Buffer.from(new Float32Array(FEATURES).map((_, i) => Math.sin(i) * 0.5).buffer);

/** A step's request: the JSON, then the input's bytes (and the carried state's). */
function stepRequest(sequence: { id: number; start: boolean; end: boolean } | null, state: Buffer | null) {
  const inputs = [{ name: 'input', shape: [1, 1, FEATURES], datatype: 'FP32', parameters: { binary_data_size: 256 } }];
  if (state !== null)
    inputs.push({ name: 'initial_state', shape: [1, UNITS], datatype: 'FP32', parameters: { binary_data_size: 512 } });
  const parameters =
    sequence === null
      ? { binary_data_output: true }
      : {
          sequence_id: sequence.id,
          sequence_start: sequence.start,
          sequence_end: sequence.end,
          binary_data_output: true,
        };
  const header = Buffer.from(JSON.stringify({ inputs, parameters }));
  return {
    body: Buffer.concat(state === null ? [header, INPUT] : [header, INPUT, state]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
  };
}

interface Answer {
  status: number;
  /** The outputs' bytes, by name (binary answers only). */
  tensors: Map<string, Buffer>;
}

/**
 * One keep-alive connection speaking just enough HTTP/1.1 for these answers (a status line, headers, a body of
 * Content-Length bytes): node:http's client costs this process more per request than the server's whole step, and
 * 256 streams of it would measure the client.
 */
class Connection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: ((answer: Answer) => void) | null = null;

  constructor(port: number) {
    this.#socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.#socket.on('error', () => this.#settle({ status: 0, tensors: new Map() }));
    this.#socket.on('close', () => this.#settle({ status: 0, tensors: new Map() }));
  }

  post(path: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
    let head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${body.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    this.#socket.write(Buffer.concat([Buffer.from(`${head}\r\n`), body]));
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #settle(answer: Answer): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.(answer);
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.subarray(0, end).toString('latin1').toLowerCase();
    const length = Number(/\r\ncontent-length: *(\d+)/.exec(head)?.[1] ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    const body = this.#buffer.subarray(end + 4, end + 4 + length);
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    const status = Number(head.slice(9, 12));
    const tensors = new Map<string, Buffer>();
    const jsonLength = Number(/\r\ninference-header-content-length: *(\d+)/.exec(head)?.[1] ?? 0);
    if (status === 200 && jsonLength > 0) {
      const answer = JSON.parse(body.subarray(0, jsonLength).toString()) as {
        outputs: { name: string; parameters: { binary_data_size: number } }[];
      };
      let at = jsonLength;
      for (const output of answer.outputs) {
        tensors.set(output.name, body.subarray(at, at + output.parameters.binary_data_size));
        at += output.parameters.binary_data_size;
      }
    }
    this.#settle({ status, tensors });
  }
}

/** Ids never reused across runs: each run's streams start new sequences. */
let nextId = 1;

/**
 * One stream: steps until `until` (performance.now()) or `count` steps, then one more, its last (which ends a
 * server-held sequence, as a stream does); the outputs' bytes when `keep`.
 */
async function stream(
  kind: Kind,
  port: number,
  until: number,
  count: number,
  keep: Buffer[] | null,
): Promise<{ steps: number; failed: number }> {
  const id = nextId++;
  const connection = new Connection(port);
  let state: Buffer | null = null;
  let steps = 0;
  let failed = 0;
  for (let last = false; !last; ) {
    last = steps + 1 >= count || performance.now() >= until;
    const { body, headers } =
      kind === 'carried' ? stepRequest(null, state) : stepRequest({ id, start: steps === 0, end: last }, null);
    const answer = await connection.post(PATH, body, headers);
    if (answer.status !== 200) {
      // A refused step leaves the stream's state unknown: the stream stops.
      failed += 1;
      break;
    }
    if (kind === 'carried') state = Buffer.from(answer.tensors.get('state')!);
    keep?.push(answer.tensors.get('output')!);
    steps += 1;
  }
  connection.close();
  return { steps, failed };
}

interface StreamsRun {
  stepsPerSecond: number;
  failed: number;
  /** Server CPU µs per step, null without /proc. */
  cpuPerStep: number | null;
  /** Share of the run the server was busy. */
  busy: number | null;
}

async function run(kind: Kind, server: Pick<Child, 'url' | 'pid'>, seconds: number): Promise<StreamsRun> {
  const port = Number(new URL(server.url).port);
  const cpuBefore = cpuSeconds(server.pid);
  const started = performance.now();
  const until = started + seconds * 1000;
  const results = await Promise.all(
    Array.from({ length: STREAMS }, () => stream(kind, port, until, Number.POSITIVE_INFINITY, null)),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuSeconds(server.pid);
  const steps = results.reduce((n, r) => n + r.steps, 0);
  const cpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    stepsPerSecond: steps / elapsed,
    failed: results.reduce((n, r) => n + r.failed, 0),
    cpuPerStep: cpu === null || steps === 0 ? null : (cpu / steps) * 1e6,
    busy: cpu === null ? null : cpu / elapsed,
  };
}

/** One stream of 16 steps of each kind: the same outputs, bit for bit, or the comparison means nothing. */
async function sameAnswers(servers: Record<Kind, Child | null>): Promise<boolean> {
  const outputs: Buffer[] = [];
  for (const [kind, server] of Object.entries(servers) as [Kind, Child | null][]) {
    if (server === null) continue;
    const kept: Buffer[] = [];
    await stream(kind, Number(new URL(server.url).port), Number.POSITIVE_INFINITY, 16, kept);
    if (kept.length !== 16) return false;
    outputs.push(Buffer.concat(kept));
  }
  return outputs.every((o) => o.equals(outputs[0]));
}

/** `xs`' lowest and highest, as `a–b`. */
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

async function streams(rounds: number, quick: boolean): Promise<void> {
  const dir = repository();
  const pinned = pinning();
  const serverCpu = pinned ? 0 : null;
  const redis = await startRedis(pinned ? 1 : null);
  const env = { MODELS_DIR: dir, MAX_EVENT_LOOP_DELAY_MS: '0' };
  const memory = await startServer(SERVICE, env, serverCpu);
  const shared = redis === null ? null : await startServer(SERVICE, { ...env, REDIS_URL: redis.url }, serverCpu);
  const seconds = quick ? SECONDS : SECONDS * 2;
  const kinds: Kind[] = shared === null ? ['carried', 'memory'] : ['carried', 'memory', 'redis'];
  const servers: Record<Kind, Child | null> = { carried: memory, memory, redis: shared };
  const rows: string[] = [];
  const ratios = { memory: [] as number[], redis: [] as number[] };
  const cpuRatios = { memory: [] as number[], redis: [] as number[] };
  let allBusy = true;
  let same = false;
  try {
    same = await sameAnswers(servers);
    // Warm-up, untimed: each kind twice (the Redis path's code is still being optimised after one 2 s run).
    for (let i = 0; i < 2; i++) for (const kind of kinds) await run(kind, servers[kind]!, SECONDS);
    for (let round = 0; round < rounds; round++) {
      const runs = {} as Record<Kind, StreamsRun>;
      // Who goes first turns with the rounds.
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(round + k) % kinds.length];
        runs[kind] = await run(kind, servers[kind]!, seconds);
      }
      const base = runs.carried;
      for (const kind of ['memory', 'redis'] as const) {
        const r = runs[kind];
        if (r === undefined) continue;
        ratios[kind].push(r.stepsPerSecond / base.stepsPerSecond);
        if (r.cpuPerStep !== null && base.cpuPerStep !== null) cpuRatios[kind].push(base.cpuPerStep / r.cpuPerStep);
      }
      for (const r of Object.values(runs)) if (r.busy === null || r.busy < 0.9) allBusy = false;
      const cells = (r: StreamsRun | undefined) =>
        r === undefined
          ? ['–', '–', '–', '–']
          : [
              r.stepsPerSecond.toFixed(0),
              r.cpuPerStep === null ? '–' : r.cpuPerStep.toFixed(0),
              r.busy === null ? '–' : `${(r.busy * 100).toFixed(0)} %`,
              String(r.failed),
            ];
      const ratio = (r: StreamsRun | undefined) =>
        r === undefined ? '–' : (r.stepsPerSecond / base.stepsPerSecond).toFixed(2);
      process.stderr.write(
        `  round ${round + 1}/${rounds}: carried ${base.stepsPerSecond.toFixed(0)} steps/s, in memory ${runs.memory.stepsPerSecond.toFixed(0)}` +
          (runs.redis === undefined ? '' : `, Redis ${runs.redis.stepsPerSecond.toFixed(0)}`) +
          '\n',
      );
      rows.push(
        row([
          round + 1,
          ...cells(runs.carried),
          ...cells(runs.memory),
          ...cells(runs.redis),
          ratio(runs.memory),
          ratio(runs.redis),
        ]),
      );
    }
  } finally {
    await memory.stop();
    await shared?.stop();
    redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n### Stateful sequences: ${STREAMS} streams, one step at a time\n\nPOST ${PATH}, a served SimpleRNN 64 → 128 units, binary tensors, [1, 1, 64] per step; ${STREAMS} concurrent streams (keep-alive connections), each sending its next step once the answer to the previous one is in; ${seconds} s per run after two untimed runs of each kind, ${rounds} rounds, the kinds interleaved in each round (who goes first turning); default settings${pinned ? '; server on CPU 0, clients and Redis on CPU 1' : ''}. The three kinds answer the same steps bit for bit: ${same ? 'checked, yes' : '**NO**'}.\n\n`,
  );
  process.stdout.write(
    row([
      'round',
      'carried steps/s',
      'server CPU µs/step',
      'server busy',
      'failed',
      'in memory steps/s',
      'server CPU µs/step',
      'server busy',
      'failed',
      'Redis steps/s',
      'server CPU µs/step',
      'server busy',
      'failed',
      'memory/carried',
      'Redis/carried',
    ]),
  );
  process.stdout.write(row(Array.from({ length: 15 }, () => '---')));
  for (const line of rows) process.stdout.write(line);
  const targets = { memory: ['in memory', 0.9], redis: ['in Redis', 0.6] } as const;
  process.stdout.write('\n');
  for (const kind of ['memory', 'redis'] as const) {
    if (ratios[kind].length === 0) continue;
    const [where, target] = targets[kind];
    const got = median(ratios[kind]);
    process.stdout.write(
      `steps per second, server-held ${where} / carried by the client: median of per-round ratios **${got.toFixed(2)}** ` +
        `(target ≥ ${target}: ${got >= target ? 'met' : 'MISSED'}), range ${range(ratios[kind])}` +
        (cpuRatios[kind].length === 0
          ? '\n'
          : `; by server CPU per step (carried's over ${where}'s) **${median(cpuRatios[kind]).toFixed(2)}**, range ${range(cpuRatios[kind])}\n`),
    );
  }
  process.stdout.write(
    allBusy
      ? "The server was busy ≥ 90 % of every run: the steps/s ratios are the server's.\n"
      : "A server was busy < 90 % of some run: there the clients (or Redis) set the pace, and the CPU ratio is the server's.\n",
  );
}

const QUICK = process.argv.includes('--quick');
buildService();
await streams(Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5)), QUICK);
