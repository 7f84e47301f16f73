/**
 * What loading a large model after start-up costs the event loop: the longest stall (perf_hooks'
 * monitorEventLoopDelay, 1 ms resolution) while one version loads on the loader's worker thread
 * (src/runtime/model-loader.ts, what poll and explicit modes use) and, side by side, while the same version loads
 * on the event loop itself (what start-up does, before anything is served). Models: an rnn-serve/v1 model.json with
 * explicit LSTM weights, and an ONNX LSTM graph, hidden size 512 by default (~15 MB and ~8 MB).
 *
 *   npm run bench -- model-load              hidden size 512, 5 loads of each
 *   npm run bench -- model-load --quick      hidden size 256, 3 loads
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultConfig } from '../src/config/config.js';
import { seededWeights } from '../src/engine/index.js';
import { SeededWeightsCache } from '../src/inference/weights-cache.js';
import { defaultModelConfig } from '../src/models/model-config/model-config.js';
import { type VersionLoader, inThreadLoader } from '../src/models/repository.js';
import { workerModelLoader } from '../src/runtime/model-loader.js';
import { median, table } from './harness.js';
import { onnxGatedModel } from './onnx-model.js';

const quick = process.argv.includes('--quick');
const HIDDEN = quick ? 256 : 512;
const LOADS = quick ? 3 : 5;

const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-bench-load-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const weights = seededWeights(1, HIDDEN, HIDDEN, { cell: 'lstm' });
const rows = (data: Float32Array, columns: number) =>
  Array.from({ length: data.length / columns }, (_, r) => Array.from(data.subarray(r * columns, (r + 1) * columns)));
mkdirSync(join(dir, 'json', '1'), { recursive: true });
writeFileSync(
  join(dir, 'json', '1', 'model.json'),
  JSON.stringify({
    format: 'rnn-serve/v1',
    inputDim: HIDDEN,
    hiddenSize: HIDDEN,
    cell: 'lstm',
    weights: {
      kernel: rows(weights.kernel, 4 * HIDDEN),
      recurrentKernel: rows(weights.recurrentKernel, 4 * HIDDEN),
      bias: Array.from(weights.bias),
    },
  }),
);
mkdirSync(join(dir, 'onnx', '1'), { recursive: true });
writeFileSync(join(dir, 'onnx', '1', 'model.onnx'), onnxGatedModel('lstm', weights, { batch: 1, time: 1 }));

const limits = defaultConfig.limits;
const cache = new SeededWeightsCache(0);
const here = inThreadLoader(cache);
const worker = workerModelLoader(cache, 0);

// A full collection before each load, so that the garbage one load leaves (a loop load parses the whole file here)
// is not collected during the next one's measurement.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Load {
  /** The longest event-loop stall, ms. */
  readonly stallMs: number;
  /** The load's wall time, ms. */
  readonly loadMs: number;
  /** The event loop's utilisation during the load (0-1): how much of that time it was busy. */
  readonly busy: number;
}

/** One load, measured from the event loop. */
async function stall(loader: VersionLoader, file: string): Promise<Load> {
  const [name, version] = file.split('/');
  gc();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // A turn of the loop first, so the monitor's timer is armed before the load starts.
  await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.enable();
  const start = performance.now();
  const before = performance.eventLoopUtilization();
  await loader.load({ dir, file, name, version, limits, config: defaultModelConfig() });
  const busy = performance.eventLoopUtilization(before).utilization;
  const loadMs = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.disable();
  return { stallMs: histogram.max / 1e6, loadMs, busy };
}

const results: string[][] = [];
// One untimed load of each on the worker: it starts the thread and compiles the loaders there.
for (const file of ['json/1/model.json', 'onnx/1/model.onnx'])
  await worker.load({ dir, file, name: file.split('/')[0], version: '1', limits, config: defaultModelConfig() });
for (const file of ['json/1/model.json', 'onnx/1/model.onnx']) {
  const off: Load[] = [];
  const on: Load[] = [];
  // Interleaved, so that whatever else runs on the machine hits both alike.
  for (let i = 0; i < LOADS; i++) {
    off.push(await stall(worker, file));
    on.push(await stall(here, file));
  }
  const [offStall, onStall] = [median(off.map((s) => s.stallMs)), median(on.map((s) => s.stallMs))];
  results.push([
    file,
    `${median(on.map((s) => s.loadMs)).toFixed(0)} ms`,
    `${onStall.toFixed(1)} ms`,
    `${(100 * median(on.map((s) => s.busy))).toFixed(0)} %`,
    `${median(off.map((s) => s.loadMs)).toFixed(0)} ms`,
    `${offStall.toFixed(1)} ms`,
    `${(100 * median(off.map((s) => s.busy))).toFixed(1)} %`,
    `${(onStall / offStall).toFixed(0)}×`,
  ]);
}
await worker.close();
process.stdout.write(
  `\nmodel-load: the event loop's longest stall while one version loads (hidden size ${HIDDEN}, median of ${LOADS})\n\n`,
);
process.stdout.write(
  `${table(['model', 'load on the loop', 'stall', 'loop busy', 'load on the worker', 'stall', 'loop busy', 'stall ratio'], results)}\n` +
    '\nstall: the longest event-loop delay during the load; loop busy: its utilisation meanwhile. On the worker, what\n' +
    'delay remains is the loading thread taking a core the event loop would have had (2 cores: see the machine load).\n',
);
