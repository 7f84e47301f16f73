/**
 * Engine benchmark: one SimpleRNN forward call (tanh, return sequences and state) of our fast path against
 * @tensorflow/tfjs (CPU backend, `tf.layers.simpleRNN`) and onnxruntime-node (CPU, one thread, an ONNX
 * `RNN` node) on the same weights, then how our time scales with the work b·t·(f·h + h·h). Then LSTM and
 * GRU at the mid shape against `tf.layers.lstm` / `tf.layers.gru` and ONNX `LSTM` / `GRU` nodes (GRU in the
 * resetAfter-false formulation, the only one TF.js has; ONNX linear_before_reset = 0).
 *
 *   npm run bench -- engine [--quick]     (compiled first: see bench/run.ts)
 *
 * What one call includes, for each contestant, starting from a Float32Array of inputs in its own layout
 * (ours and tfjs [batch, time, features], ONNX [time, batch, features]) and ending with the outputs and
 * final states readable as Float32Arrays:
 *   ours  simpleRnnForward
 *   tfjs  tensor3d + layer.apply + dataSync of both results, inside tf.tidy
 *   ort   new ort.Tensor + await session.run (outputs stay time-major: no transpose is charged)
 * Before timing, every case checks that the three agree within 1e-5.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { RecurrentWeights } from '../src/engine/cells.js';
import { kernelHeap } from '../src/engine/asm-kernels.js';
import { fillRows } from '../src/engine/gate-panels.js';
import { gruForward, packGruPanels } from '../src/engine/gru.js';
import { lstmForward, packLstmPanels } from '../src/engine/lstm.js';
import { seededWeights } from '../src/engine/seeded.js';
import { simpleRnnForward, type SimpleRnnWeights } from '../src/engine/simple-rnn.js';
import { type Budget, type Contestant, formatMs, race, table, type Timing } from './harness.js';
import { onnxGatedModel, onnxSimpleRnnModel, swapLeadingAxes } from './onnx-model.js';

const TOLERANCE = 1e-5;
const quick = process.argv.includes('--quick');

interface Case {
  readonly name: string;
  readonly batch: number;
  readonly time: number;
  readonly features: number;
  readonly hidden: number;
}

const CASES: readonly Case[] = [
  { name: 'hello', batch: 1, time: 5, features: 4, hidden: 2 },
  { name: 'mid', batch: 32, time: 50, features: 64, hidden: 128 },
  { name: 'large', batch: 64, time: 100, features: 256, hidden: 256 },
];

/** Per comparison case; the large case runs fewer rounds (tfjs takes seconds per call there). */
function budgetFor(c: Case): Budget {
  const flops = flopsOf(c);
  if (flops < 1e6) return { warmupCalls: 200, minRounds: 15, seconds: quick ? 2 : 6, maxRounds: 400 };
  if (flops < 2e8) return { warmupCalls: 3, minRounds: 9, seconds: quick ? 4 : 20, maxRounds: 60 };
  return { warmupCalls: 1, minRounds: quick ? 3 : 5, seconds: quick ? 10 : 40, maxRounds: 15 };
}

const SCALING_BUDGET: Budget = { warmupCalls: 2, minRounds: 5, seconds: quick ? 1 : 3, maxRounds: 40 };

/** FLOPs of one call: a multiply and an add per weight use, 2·b·t·(f·h + h·h). */
function flopsOf({ batch, time, features, hidden }: Case): number {
  return 2 * batch * time * (features * hidden + hidden * hidden);
}

/** Deterministic uniform values in [-scale, scale). */
function uniform(count: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 * scale - scale;
  }
  return out;
}

/** Keras's default initializers (glorot uniform, orthogonal) plus a small non-zero bias. */
function weightsFor(c: Case): SimpleRnnWeights {
  return { ...seededWeights(7, c.features, c.hidden), bias: uniform(c.hidden, 3, 0.1) };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function agree(what: string, a: Float32Array, b: Float32Array): void {
  const d = maxAbsDiff(a, b);
  if (!(d <= TOLERANCE))
    throw new Error(`${what}: max |diff| ${d} > ${TOLERANCE}; refusing to time outputs that disagree`);
}

async function contestants(c: Case): Promise<Contestant[]> {
  const { batch, time, features, hidden } = c;
  const weights = weightsFor(c);
  const x = uniform(batch * time * features, 11, 1);
  const ours = simpleRnnForward(x, [batch, time, features], weights);

  const layer = tf.layers.simpleRNN({ units: hidden, returnSequences: true, returnState: true });
  tf.tidy(() => void layer.apply(tf.zeros([batch, time, features]))); // builds the layer
  layer.setWeights([
    tf.tensor2d(weights.kernel, [features, hidden]),
    tf.tensor2d(weights.recurrentKernel, [hidden, hidden]),
    tf.tensor1d(weights.bias),
  ]);
  const tfjsCall = () =>
    tf.tidy(() => {
      const [outputs, states] = layer.apply(tf.tensor3d(x, [batch, time, features])) as tf.Tensor[];
      return [outputs.dataSync() as Float32Array, states.dataSync() as Float32Array] as const;
    });
  const [tfOutputs, tfStates] = tfjsCall();
  agree(`${c.name}: tfjs outputs`, tfOutputs, ours.outputs);
  agree(`${c.name}: tfjs states`, tfStates, ours.states);

  const session = await ort.InferenceSession.create(onnxSimpleRnnModel(weights, { batch, time }), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const xTimeMajor = swapLeadingAxes(x, batch, time, features);
  const ortCall = () => session.run({ X: new ort.Tensor('float32', xTimeMajor, [time, batch, features]) });
  const result = await ortCall();
  agree(
    `${c.name}: onnxruntime outputs`,
    swapLeadingAxes(result.Y.data as Float32Array, time, batch, hidden),
    ours.outputs,
  );
  agree(`${c.name}: onnxruntime states`, result.Y_h.data as Float32Array, ours.states);

  return [
    { name: 'ours', run: () => simpleRnnForward(x, [batch, time, features], weights) },
    { name: 'tfjs', run: tfjsCall },
    { name: 'onnxruntime', run: ortCall },
  ];
}

const gflops = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(2);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const shapeOf = (c: Case) => `${c.batch}×${c.time}×${c.features}→${c.hidden}`;

async function comparison(): Promise<Map<string, Timing[]>> {
  const results = new Map<string, Timing[]>();
  for (const c of CASES) {
    process.stderr.write(`engine: ${c.name} ${shapeOf(c)}...\n`);
    results.set(c.name, await race(await contestants(c), budgetFor(c)));
  }
  const rowsBy = (pick: (t: Timing) => number) =>
    CASES.map((c) => {
      const [ours, tfjs, onnx] = results.get(c.name)!.map(pick);
      const f = flopsOf(c);
      return [
        c.name,
        shapeOf(c),
        (f / 1e6).toFixed(f < 1e6 ? 4 : 1),
        formatMs(ours),
        formatMs(tfjs),
        formatMs(onnx),
        gflops(f, ours),
        gflops(f, tfjs),
        gflops(f, onnx),
        ratio(tfjs, ours),
        ratio(onnx, ours),
      ];
    });
  const header = [
    'case',
    'b×t×f→h',
    'MFLOP',
    'ours',
    'tfjs',
    'onnxruntime',
    'ours GFLOP/s',
    'tfjs GFLOP/s',
    'ort GFLOP/s',
    'tfjs/ours',
    'ort/ours',
  ];
  const rounds = CASES.map((c) => `${c.name} ${results.get(c.name)![0].rounds}`).join(', ');
  console.log(`### Per forward call: median wall time (interleaved rounds: ${rounds})\n`);
  console.log(
    table(
      header,
      rowsBy((t) => t.wallMs),
    ),
  );
  console.log('\n### The same runs: median CPU time of the process per call\n');
  console.log(
    table(
      header,
      rowsBy((t) => t.cpuMs),
    ),
  );
  console.log("\ntfjs/ours and ort/ours: the peer's time over ours, so > 1× means we are faster.\n");
  return results;
}

function targets(results: Map<string, Timing[]>): void {
  const wall = (name: string) => results.get(name)!.map((t) => t.wallMs);
  const [hOurs, , hOrt] = wall('hello');
  const [mOurs, mTfjs, mOrt] = wall('mid');
  const [lOurs, lTfjs] = wall('large');
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log('### Targets (wall-time medians above)\n');
  console.log(`- engine ≥ 5× tfjs on mid: ${ratio(mTfjs, mOurs)}, ${check(mTfjs / mOurs >= 5)}`);
  console.log(`- engine ≥ 5× tfjs on large: ${ratio(lTfjs, lOurs)}, ${check(lTfjs / lOurs >= 5)}`);
  console.log(
    `- ≥ 1/4 of onnxruntime's single-thread GFLOP/s on mid: ${(mOrt / mOurs).toFixed(2)} of it, ${check(mOrt / mOurs >= 0.25)}`,
  );
  console.log(`- faster than onnxruntime per call on hello: ${ratio(hOrt, hOurs)}, ${check(hOrt / hOurs > 1)}\n`);
}

/** Our time per FLOP along one axis, relative to the sweep's first point (1.00 = perfectly linear). */
async function scaling(): Promise<void> {
  const base: Case = { name: '', batch: 32, time: 50, features: 64, hidden: 128 };
  const sweeps: [axis: string, points: Case[]][] = [
    ['batch', [1, 4, 16, 64].map((batch) => ({ ...base, batch }))],
    ['time steps', [10, 50, 200].map((time) => ({ ...base, time }))],
    ['hidden size', [32, 64, 128, 256].map((hidden) => ({ ...base, hidden }))],
  ];
  const rows: string[][] = [];
  for (const [axis, points] of sweeps) {
    process.stderr.write(`engine: scaling with ${axis}...\n`);
    let first = 0;
    for (const c of points) {
      const weights = weightsFor(c);
      const x = uniform(c.batch * c.time * c.features, 11, 1);
      const [t] = await race(
        [{ name: 'ours', run: () => simpleRnnForward(x, [c.batch, c.time, c.features], weights) }],
        SCALING_BUDGET,
      );
      const f = flopsOf(c);
      const perFlop = t.cpuMs / f;
      if (first === 0) first = perFlop;
      rows.push([
        axis,
        shapeOf(c),
        (f / 1e6).toFixed(1),
        formatMs(t.wallMs),
        formatMs(t.cpuMs),
        gflops(f, t.cpuMs),
        (perFlop / first).toFixed(2),
      ]);
    }
  }
  console.log('### Scaling of our fast path (b×t×f→h around mid)\n');
  console.log(
    table(['axis', 'b×t×f→h', 'MFLOP', 'wall', 'CPU', 'GFLOP/s (CPU)', 'CPU time per FLOP vs first point'], rows),
  );
  console.log('\nA flat last column means time grows linearly in b·t·(f·h + h·h).\n');
}

/** LSTM or GRU at the mid shape: Keras's initializers (LSTM's forget bias 1) plus a small bias. */
async function gatedContestants(
  cell: 'lstm' | 'gru',
  c: Case,
): Promise<{ contestants: Contestant[]; weights: RecurrentWeights }> {
  const { batch, time, features, hidden } = c;
  const g = cell === 'lstm' ? 4 : 3;
  const seeded = seededWeights(7, features, hidden, { cell, resetAfter: false });
  const bias = uniform(g * hidden, 3, 0.1).map((v, i) => v + seeded.bias[i]);
  const weights: RecurrentWeights = { ...seeded, bias };
  const x = uniform(batch * time * features, 11, 1);
  const shape = [batch, time, features] as const;
  const oursCall = () =>
    cell === 'lstm' ? lstmForward(x, shape, weights) : gruForward(x, shape, weights, { resetAfter: false });
  const ours = oursCall();

  const config = {
    units: hidden,
    recurrentActivation: 'sigmoid' as const,
    returnSequences: true,
    returnState: true,
    kernelInitializer: 'zeros' as const, // replaced below; tfjs's orthogonal default takes seconds
    recurrentInitializer: 'zeros' as const,
  };
  const layer = cell === 'lstm' ? tf.layers.lstm(config) : tf.layers.gru(config);
  tf.tidy(() => void layer.apply(tf.zeros([batch, time, features])));
  layer.setWeights([
    tf.tensor2d(weights.kernel, [features, g * hidden]),
    tf.tensor2d(weights.recurrentKernel, [hidden, g * hidden]),
    tf.tensor1d(weights.bias),
  ]);
  const tfjsCall = () =>
    tf.tidy(() => {
      const [outputs, ...states] = layer.apply(tf.tensor3d(x, [batch, time, features])) as tf.Tensor[];
      return [outputs.dataSync() as Float32Array, ...states.map((s) => s.dataSync() as Float32Array)];
    });
  const [tfOutputs, tfStates] = tfjsCall();
  agree(`${cell} ${c.name}: tfjs outputs`, tfOutputs, ours.outputs);
  agree(`${cell} ${c.name}: tfjs states`, tfStates, ours.states);

  const model = onnxGatedModel(cell, weights, { batch, time, resetAfter: false });
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const xTimeMajor = swapLeadingAxes(x, batch, time, features);
  const ortCall = () => session.run({ X: new ort.Tensor('float32', xTimeMajor, [time, batch, features]) });
  const result = await ortCall();
  agree(
    `${cell} ${c.name}: onnxruntime outputs`,
    swapLeadingAxes(result.Y.data as Float32Array, time, batch, hidden),
    ours.outputs,
  );
  agree(`${cell} ${c.name}: onnxruntime states`, result.Y_h.data as Float32Array, ours.states);
  return {
    contestants: [
      { name: 'ours', run: oursCall },
      { name: 'tfjs', run: tfjsCall },
      { name: 'onnxruntime', run: ortCall },
    ],
    weights,
  };
}

/**
 * The products alone of an LSTM or GRU (resetAfter false) pass: per step, each gate block's bias fill and
 * [x, h]·[W; U] product into its accumulators, as lstm.ts and gru.ts run them, with no activations, packing or
 * state updates (the rows stay as first packed). The ceiling of our pass: its GFLOP/s are what the scalar
 * asm.js kernel reaches on these shapes, whatever the rest of the pass costs.
 */
function productsOnly(cell: 'lstm' | 'gru', weights: RecurrentWeights, c: Case): () => void {
  const { batch, time, features, hidden: h } = c;
  const depth = features + h;
  const blocks = cell === 'lstm' ? 4 : 3;
  const panels = cell === 'lstm' ? packLstmPanels(weights) : packGruPanels(weights, false).packed;
  const accAt = panels.length;
  const aAt = accAt + blocks * batch * h;
  const { f64, kernels } = kernelHeap((aAt + batch * depth) * 8, panels);
  const rows = uniform(batch * depth, 5, 1);
  for (let i = 0; i < rows.length; i++) f64[aAt + i] = rows[i];
  return () => {
    for (let step = 0; step < time; step++) {
      for (let g = 0; g < blocks; g++) {
        fillRows(f64, accAt + g * batch * h, weights.bias, g * h, batch, h);
        kernels.product((accAt + g * batch * h) * 8, aAt * 8, batch, g * depth * h * 8, depth, h);
      }
    }
  };
}

/**
 * LSTM and GRU at the mid shape, and their targets. Two races per cell, each side by side: ours against tfjs,
 * then ours against onnxruntime (with our products alone beside them), so that tfjs's garbage (collected on
 * V8's background threads, and charged to whichever call runs then) does not weigh on the second race's
 * CPU times.
 */
async function gatedComparison(): Promise<void> {
  const mid = CASES.find((c) => c.name === 'mid')!;
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  const checks: string[] = [];
  for (const cell of ['lstm', 'gru'] as const) {
    process.stderr.write(`engine: ${cell} mid ${shapeOf(mid)}...\n`);
    const { contestants, weights } = await gatedContestants(cell, mid);
    const [oursC, tfjsC, ortC] = contestants;
    const [withTfjs, tfjsT] = await race([oursC, tfjsC], budgetFor(mid));
    const [withOrt, ortT, productsT] = await race(
      [oursC, ortC, { name: 'products', run: productsOnly(cell, weights, mid) }],
      budgetFor(mid),
    );
    const f = (cell === 'lstm' ? 4 : 3) * flopsOf(mid);
    rows.push([
      cell,
      shapeOf(mid),
      (f / 1e6).toFixed(1),
      formatMs(withTfjs.wallMs),
      formatMs(tfjsT.wallMs),
      ratio(tfjsT.wallMs, withTfjs.wallMs),
      formatMs(withOrt.wallMs),
      formatMs(ortT.wallMs),
      formatMs(productsT.wallMs),
      gflops(f, withOrt.wallMs),
      gflops(f, productsT.wallMs),
      gflops(f, ortT.wallMs),
      ratio(ortT.wallMs, withOrt.wallMs),
      ratio(ortT.wallMs, productsT.wallMs),
    ]);
    cpuRows.push([
      cell,
      formatMs(withOrt.cpuMs),
      formatMs(ortT.cpuMs),
      formatMs(productsT.cpuMs),
      gflops(f, withOrt.cpuMs),
      gflops(f, ortT.cpuMs),
      (ortT.cpuMs / ortT.wallMs).toFixed(2),
      ratio(ortT.cpuMs, withOrt.cpuMs),
    ]);
    const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const tfjsRatio = tfjsT.wallMs / withTfjs.wallMs;
    const ortRatio = ortT.wallMs / withOrt.wallMs;
    checks.push(`- ${cell} ≥ 5× tfjs on mid: ${ratio(tfjsT.wallMs, withTfjs.wallMs)}, ${check(tfjsRatio >= 5)}`);
    checks.push(
      `- ${cell} ≥ 1/4 of onnxruntime's single-thread GFLOP/s on mid: ${ortRatio.toFixed(2)} of it, ${check(ortRatio >= 0.25)}` +
        ` (our products alone: ${(ortT.wallMs / productsT.wallMs).toFixed(2)} of it)`,
    );
  }
  console.log('### LSTM and GRU (resetAfter false) per forward call: median wall time\n');
  const header = ['cell', 'b×t×f→h', 'MFLOP', 'ours', 'tfjs', 'tfjs/ours', 'ours', 'onnxruntime', 'products'];
  const more = ['ours GFLOP/s', 'products GFLOP/s', 'ort GFLOP/s', 'ort/ours', 'ort/products'];
  console.log(table([...header, ...more], rows));
  console.log(
    '\nMFLOP: 2·b·t·(f + h)·G·h, G = 4 gates for LSTM, 3 for GRU. Columns 4–6: the race against tfjs; 7 on: the ' +
      "race against onnxruntime, with `products` (our pass's gate products alone, no activations) beside them.\n",
  );
  console.log('### The race against onnxruntime: median CPU time of the process per call\n');
  console.log(
    table(
      ['cell', 'ours', 'onnxruntime', 'products', 'ours GFLOP/s', 'ort GFLOP/s', 'ort CPU/wall', 'ort/ours'],
      cpuRows,
    ),
  );
  console.log('\nort CPU/wall near 1: onnxruntime ran on one thread.\n');
  console.log(`### Targets for the gated cells (wall-time medians above)\n\n${checks.join('\n')}\n`);
}

await tf.setBackend('cpu');
console.log(
  `## Engine (node ${process.version}, tfjs ${tf.version.tfjs} cpu backend, onnxruntime-node ${ort.env.versions.common}, 1 thread)\n`,
);
const only = process.argv.includes('--gated'); // just the LSTM and GRU comparison
if (!only) targets(await comparison());
await gatedComparison();
if (!only) await scaling();
