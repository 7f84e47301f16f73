/**
 * One step of a stateful sequence as the core will take it (load the state, save the next one), in the in-process
 * store and in Redis on loopback (a redis-server this script starts), interleaved round by round. Beside them, the
 * floor of the in-process step: the same bytes copied out of one buffer and back in, with nothing else. States: a 1-layer LSTM with 64 units (h and c, 512 B)
 * and a 2-layer bidirectional LSTM with 256 units (8 arrays, 8 KiB).
 *
 *   npm run bench -- sequence-store [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySequenceStore } from '../src/core/sequences/memory-store.js';
import { RedisSequenceStore } from '../src/core/sequences/redis-store.js';
import type { SequenceStore } from '../src/core/sequences/sequence-store.js';
import { type Contestant, formatMs, race, table } from './harness.js';

const quick = process.argv.includes('--quick');
const budget = quick
  ? { warmupCalls: 2_000, minRounds: 5, seconds: 1, maxRounds: 50 }
  : { warmupCalls: 20_000, minRounds: 20, seconds: 6, maxRounds: 400 };

const OWNER = { version: '1', weightsDigest: 'sha256:0' };
const STATES = {
  'LSTM 64 (512 B)': [64, 64],
  'BiLSTM 2×256 (8 KiB)': [256, 256, 256, 256, 256, 256, 256, 256],
};

async function startRedis(): Promise<{ url: string; stop: () => void } | null> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-bench-redis-'));
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
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

/** Load, then save the loaded state back: the store's part of one step. */
async function stepper(store: SequenceStore, id: string, lengths: number[]): Promise<() => Promise<unknown>> {
  const key = { model: 'bench', id };
  await store.begin(
    key,
    OWNER,
    lengths.map((n) => new Float32Array(n).fill(0.5)),
  );
  return async () => {
    const entry = await store.load(key);
    return store.save(key, entry!.state, entry!.step);
  };
}

const redis = await startRedis();
const memory = new MemorySequenceStore({ maxSequences: 100, idleMs: 60_000, retryAfterSeconds: 1 });
const remote =
  redis === null
    ? null
    : new RedisSequenceStore({
        url: redis.url,
        keyPrefix: 'bench:',
        timeoutMs: 1000,
        idleMs: 60_000,
        maxSequences: 100,
        retryAfterSeconds: 1,
      });
if (remote !== null) for (let i = 0; i < 200 && !remote.ready().ready; i++) await new Promise((r) => setTimeout(r, 10));

const rows: string[][] = [];
for (const [name, lengths] of Object.entries(STATES)) {
  const held = new Float32Array(lengths.reduce((a, b) => a + b, 0)).fill(0.5);
  const copy: Contestant = {
    name: 'floor: the state out and back in',
    run: () => {
      const out = held.slice();
      held.set(out);
      return out;
    },
  };
  const contestants: Contestant[] = [copy, { name: 'in process', run: await stepper(memory, name, lengths) }];
  if (remote !== null) contestants.push({ name: 'Redis (loopback)', run: await stepper(remote, name, lengths) });
  const timings = await race(contestants, budget);
  const inProcess = timings[1].wallMs;
  for (const timing of timings)
    rows.push([
      name,
      timing.name,
      formatMs(timing.wallMs),
      formatMs(timing.cpuMs),
      `${(timing.wallMs / inProcess).toFixed(2)}×`,
    ]);
}
process.stdout.write(
  `\nOne sequence step, load + save (median per step)\n\n${table(
    ['state', 'store', 'wall', 'CPU', 'vs in process'],
    rows,
  )}\n`,
);
await memory.close();
await remote?.close();
redis?.stop();
