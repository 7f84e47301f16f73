/**
 * Where the worker pool starts to pay: the same forward plans run inline and on a one-thread pool,
 * sequentially, for growing compute costs. The pool adds a roughly constant round trip (structured clone
 * of the plan, transfer of the answer); POOL_MIN_COMPUTE is set where that overhead falls under ~10% of
 * the inline time, so a request moved off the event loop costs its caller little.
 */
import { performance } from 'node:perf_hooks';
import { ForwardRequest } from '../schemas/forward.js';
import { defaultConfig } from '../src/config/config.js';
import { computeCost } from '../src/engine/index.js';
import { planLayers } from '../src/inference/layer-plan.js';
import { createWorkerPool } from '../src/runtime/pool.js';
import { type Job, runJob } from '../src/runtime/jobs.js';
import { SeededWeightsCache } from '../src/inference/weights-cache.js';
import { forwardRequest } from '../src/protocols/forward-request.js';

const cache = new SeededWeightsCache(16);
const pool = createWorkerPool({ threads: 1, minCompute: 0, maxQueue: 1000, minBodyBytes: 0, nice: 0, maxHeapMb: 0 });
const env = {
  cache,
  program: () => {
    throw new Error('no ONNX here');
  },
};
/** The job of a plan, as the core makes it for one request: the pass and its answer (nested JSON). */
const job = (plan: ReturnType<typeof planLayers>, inline: boolean): Job => ({
  kind: 'layers',
  plan: inline ? plan : { ...plan, model: { ...plan.model, weights: null } },
  members: [
    {
      rows: null,
      carry: false,
      facts: { model: null, inputShape: plan.shape, vocabulary: null, labels: null, summary: null, graph: null },
      encoding: { kind: 'forward', format: 'nested' },
    },
  ],
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

process.stdout.write('compute (MACs)   inline ms   pool ms   overhead ms   overhead %\n');
const rows: { cost: number; overhead: number; inline: number }[] = [];
for (const [batch, time, features, hidden] of [
  [1, 5, 4, 2],
  [1, 20, 16, 16],
  [4, 20, 16, 32],
  [8, 50, 32, 64],
  [16, 50, 64, 128],
  [32, 50, 64, 128],
  [32, 100, 128, 256],
]) {
  const request = ForwardRequest.parse({
    inputs: {
      shape: [batch, time, features],
      data: Array.from({ length: batch * time * features }, (_, i) => Math.sin(i)),
    },
    hiddenSize: hidden,
    seed: 1,
  });
  const plan = () => planLayers(forwardRequest(request), defaultConfig.limits, cache, null, request);
  const cost = computeCost(plan().model.spec, plan().shape);
  const inline: number[] = [];
  const pooled: number[] = [];
  const runs = cost < 1e6 ? 200 : cost < 1e8 ? 20 : 5;
  for (let i = 0; i < runs + 2; i++) {
    let t0 = performance.now();
    runJob(job(plan(), true), env);
    const a = performance.now() - t0;
    t0 = performance.now();
    await pool.run(job(plan(), false));
    const b = performance.now() - t0;
    if (i >= 2) {
      inline.push(a);
      pooled.push(b);
    }
  }
  const i = median(inline);
  const p = median(pooled);
  rows.push({ cost, overhead: p - i, inline: i });
  process.stdout.write(
    `${String(cost).padStart(14)} ${i.toFixed(3).padStart(11)} ${p.toFixed(3).padStart(9)} ${(p - i).toFixed(3).padStart(13)} ${(((p - i) / i) * 100).toFixed(0).padStart(11)}%\n`,
  );
}
const overhead = median(rows.slice(0, 3).map((r) => r.overhead));
const perMac = median(rows.slice(-3).map((r) => r.inline / r.cost));
process.stdout.write(
  `\nround trip ≈ ${overhead.toFixed(3)} ms; inline ≈ ${(perMac * 1e6).toFixed(3)} ms per million MACs\n`,
);
process.stdout.write(
  `overhead under 10% from ≈ ${Math.round(overhead / 0.1 / perMac).toLocaleString('en')} MACs (POOL_MIN_COMPUTE default: ${defaultConfig.pool.minCompute.toLocaleString('en')})\n`,
);
await pool.close();
