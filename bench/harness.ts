/**
 * Timing for benchmark scripts on a shared, noisy machine: contestants run interleaved (one sample of each
 * per round), so a burst of load from elsewhere hits all of them alike, and results are medians.
 *
 * A sample times `repeat` back-to-back calls (calibrated so a sample lasts at least MIN_SAMPLE_MS and the
 * timer's resolution does not matter), and records both wall time and this process's CPU time (user +
 * system; less sensitive to other processes competing for the cores).
 */

export interface Contestant {
  readonly name: string;
  /** One forward call, result read back. May be async (onnxruntime-node's `run` is). */
  readonly run: () => unknown;
}

export interface Budget {
  /** Untimed calls of each contestant first (JIT, caches, allocator). */
  readonly warmupCalls: number;
  /** At least this many rounds... */
  readonly minRounds: number;
  /** ...and then more until this much time has passed... */
  readonly seconds: number;
  /** ...but never more than this many rounds. */
  readonly maxRounds: number;
}

export interface Timing {
  readonly name: string;
  /** Median wall time per call, ms. */
  readonly wallMs: number;
  /** Median CPU time of the process per call, ms. */
  readonly cpuMs: number;
  readonly rounds: number;
  readonly callsPerSample: number;
}

const MIN_SAMPLE_MS = 2;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function sample(run: () => unknown, repeat: number): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < repeat; i++) await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs: wallMs / repeat, cpuMs: (used.user + used.system) / 1000 / repeat };
}

export async function race(contestants: readonly Contestant[], budget: Budget): Promise<Timing[]> {
  const repeats: number[] = [];
  for (const c of contestants) {
    for (let i = 0; i < budget.warmupCalls; i++) await c.run();
    const once = await sample(c.run, 1);
    repeats.push(Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(once.wallMs, 1e-3))));
  }
  const wall: number[][] = contestants.map(() => []);
  const cpu: number[][] = contestants.map(() => []);
  const start = performance.now();
  let rounds = 0;
  while (
    rounds < budget.maxRounds &&
    (rounds < budget.minRounds || performance.now() - start < budget.seconds * 1000)
  ) {
    for (let c = 0; c < contestants.length; c++) {
      const s = await sample(contestants[c].run, repeats[c]);
      wall[c].push(s.wallMs);
      cpu[c].push(s.cpuMs);
    }
    rounds++;
  }
  return contestants.map((c, i) => ({
    name: c.name,
    wallMs: median(wall[i]),
    cpuMs: median(cpu[i]),
    rounds,
    callsPerSample: repeats[i],
  }));
}

/** A fixed-width markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatMs(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)} µs`;
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}
