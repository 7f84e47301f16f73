import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { COLUMN_BLOCK, kernelHeap, MAX_HEAP_BYTES, ROW_BLOCK } from '../../src/engine/asm-kernels.js';
import { rng } from '../helpers/random.js';
import { TYPESCRIPT_CHILD_ARGS } from '../helpers/typescript-child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

t.test('V8 validates the kernels as asm.js, as the tests and the build load them', async (t) => {
  t.ok(TYPESCRIPT_CHILD_ARGS.length > 0, 'the tests run through the TypeScript loader');
  const script = `
    const { productKernels, kernelHeap } = await import('./src/engine/asm-kernels.ts');
    kernelHeap(1024, new Float64Array(0));
    console.log(JSON.stringify({ asm: %IsAsmWasmCode(productKernels) }));
  `;
  for (const [loader, args] of [
    ['the tests', [...TYPESCRIPT_CHILD_ARGS, '--input-type=module', '-e', script]],
    ['tsc', ['--input-type=module', '-e', compiledScript(script)]],
  ] as const) {
    const run = spawnSync(process.execPath, ['--allow-natives-syntax', ...args], { cwd: ROOT, encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    t.notMatch(run.stderr, /Invalid asm\.js/, `${loader}: V8 reports no validation failure`);
    t.same(JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null'), { asm: true }, `${loader}: compiled as asm.js`);
  }
});

/** The same script against the module as tsc compiles it (to a temporary directory). */
function compiledScript(script: string): string {
  const out = path.join(ROOT, '.tap', 'asm-kernels-build');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(
    process.execPath,
    [
      tsc,
      '--outDir',
      out,
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--types',
      'node',
      'src/engine/asm-kernels.ts',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc failed: ${build.stdout}${build.stderr}`);
  return script.replace('./src/engine/asm-kernels.ts', path.join(out, 'asm-kernels.js'));
}

/** acc[q, j] += Σ_k a[q, k] · w[k, j], term by term in k order: what `product` must compute, bit for bit. */
function naiveProduct(
  acc: Float64Array,
  a: Float64Array,
  w: Float64Array,
  count: number,
  depth: number,
  n: number,
): void {
  for (let q = 0; q < count; q++) {
    for (let j = 0; j < n; j++) {
      let s = acc[q * n + j];
      for (let k = 0; k < depth; k++) s += a[q * depth + k] * w[k * n + j];
      acc[q * n + j] = s;
    }
  }
}

t.test('product equals the naive loop bit for bit, over every tile and leftover', async (t) => {
  const random = rng(41);
  const f32 = () => Math.fround(random() * 2 - 1);
  let cases = 0;
  // count odd and even (a row left over or not), n with 0 … 3 columns left over, depth 1 and more.
  for (const [count, depth, n] of [
    [1, 1, 1],
    [2, 3, 4],
    [3, 5, 7],
    [4, 9, 6],
    [5, 17, 13],
    [8, 33, 16],
    [7, 64, 35],
  ] as const) {
    const a = Float64Array.from({ length: count * depth }, f32);
    const w = Float64Array.from({ length: depth * n }, f32);
    const acc0 = Float64Array.from({ length: count * n }, f32);
    const expected = acc0.slice();
    naiveProduct(expected, a, w, count, depth, n);

    // Lay the operands out as the kernels read them: the panels at the start of the heap (kernelHeap copies
    // them there), the accumulators and rows after them, with gaps.
    const nTiled = n - (n % COLUMN_BLOCK);
    const panels = new Float64Array(depth * n);
    let o = 0;
    for (let j = 0; j < nTiled; j += COLUMN_BLOCK)
      for (let k = 0; k < depth; k++) for (let c = 0; c < COLUMN_BLOCK; c++) panels[o++] = w[k * n + j + c];
    for (let j = nTiled; j < n; j++) for (let k = 0; k < depth; k++) panels[o++] = w[k * n + j];
    const accAt = depth * n + 5;
    const aAt = accAt + count * n + 2;
    const { f64, kernels } = kernelHeap((aAt + count * depth) * 8, panels);
    f64.fill(NaN, panels.length); // nothing the kernels should not read may matter
    let q = 0;
    for (; q + ROW_BLOCK <= count; q += ROW_BLOCK) {
      for (let k = 0; k < depth; k++)
        for (let r = 0; r < ROW_BLOCK; r++) f64[aAt + q * depth + ROW_BLOCK * k + r] = a[(q + r) * depth + k];
    }
    for (; q < count; q++) for (let k = 0; k < depth; k++) f64[aAt + q * depth + k] = a[q * depth + k];
    f64.set(acc0, accAt);

    kernels.product(accAt * 8, aAt * 8, count, 0, depth, n);
    const got = f64.subarray(accAt, accAt + count * n);
    const wrong = Array.from(got).findIndex((v, i) => !Object.is(v, expected[i]));
    t.equal(wrong, -1, `count ${count}, depth ${depth}, n ${n}: every sum equal`);
    t.ok(Number.isNaN(f64[accAt - 1]) && Number.isNaN(f64[accAt + count * n]), 'nothing written outside acc');
    cases++;
  }
  t.equal(cases, 7);
});

t.test(
  'kernelHeap: one heap kept per thread, grown on demand, none kept above 16 MiB unless mostly weights',
  async (t) => {
    const none = new Float64Array(0);
    const first = kernelHeap(100_000, none);
    t.ok(first.f64.byteLength >= 100_000, 'at least the size asked for');
    t.equal(first.f64.byteLength & (first.f64.byteLength - 1), 0, 'a power of two, as asm.js wants');
    first.f64.fill(5);
    const again = kernelHeap(1000, none);
    t.ok(again === first, 'a smaller call reuses it');
    t.equal(again.f64[100], 5, 'and it is not cleared (the caller fills what it reads)');
    const grown = kernelHeap(3_000_000, none);
    t.ok(grown.f64.buffer !== first.f64.buffer, 'a larger call gets a larger heap');
    t.ok(kernelHeap(10, none) === grown, 'which is kept from then on');
    const huge = kernelHeap(20 * 1024 * 1024, none);
    t.ok(huge.f64.byteLength >= 20 * 1024 * 1024, 'a call above 16 MiB gets a heap of its own');
    t.ok(kernelHeap(10, none) === grown, 'a heap above 16 MiB is not kept');
    // A fresh heap links its own kernels: they write into it, not into the kept one.
    huge.f64.fill(0, 0, 16);
    huge.f64[8] = 2;
    huge.f64[9] = 3;
    huge.kernels.product(0, 64, 1, 72, 1, 1);
    t.equal(huge.f64[0], 6, "the huge heap's kernels work on the huge heap");
    // Above 16 MiB, a heap is kept when it is at most 4× the weights it was made for.
    const weights = new Float64Array((8 * 1024 * 1024) / 8); // 8 MiB
    const forWeights = kernelHeap(20 * 1024 * 1024, weights); // a 32 MiB heap
    t.ok(kernelHeap(10, none) === forWeights, 'a 32 MiB heap made for 8 MiB of weights is kept');
    t.throws(
      () => kernelHeap(MAX_HEAP_BYTES + 8, none),
      /needs 1073741832 bytes of kernel heap; at most 1073741824 \(1 GiB\)/,
      'beyond 1 GiB: refused, never wrapped offsets',
    );
  },
);

t.test('kernelHeap copies the weights to the start of the heap only when it does not hold them', async (t) => {
  const w1 = Float64Array.from([1, 2, 3]);
  const w2 = Float64Array.from([4, 5]);
  const heap = kernelHeap(1024, w1);
  t.same(Array.from(heap.f64.subarray(0, 3)), [1, 2, 3], 'copied');
  heap.f64[0] = -1; // a mark (callers must not do this): it shows whether the next call copies
  t.equal(kernelHeap(1024, w1).f64[0], -1, 'the same weights again: not copied');
  t.same(Array.from(kernelHeap(1024, w2).f64.subarray(0, 2)), [4, 5], 'other weights: copied');
  t.equal(kernelHeap(1024, w1).f64[0], 1, 'and the first ones again: copied again');
  const grown = kernelHeap(heap.f64.byteLength * 2, w1);
  t.ok(grown !== heap, 'a larger call gets a new heap');
  t.equal(grown.f64[2], 3, 'a new heap gets the weights too');
});

t.test('run as ordinary JavaScript (asm.js off), the forward pass gives the same bits', async (t) => {
  // What an engine without asm.js, or a loader that rewrites the module (tsx), runs: the same functions as
  // plain JavaScript. 7 rows (pairs and one left over), 30 units (tiles and 2 columns left over), a mask.
  const script = `
    const { productKernels } = await import('./src/engine/asm-kernels.ts');
    const { simpleRnnForward } = await import('./src/engine/index.ts');
    const { simpleRnnForwardReference } = await import('./src/engine/reference.ts');
    const [batch, time, inputDim, hiddenSize] = [7, 9, 11, 30];
    const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * seed + 1) / 2));
    const weights = { inputDim, hiddenSize, kernel: values(inputDim * hiddenSize, 1), recurrentKernel: values(hiddenSize * hiddenSize, 2), bias: values(hiddenSize, 3) };
    const inputs = values(batch * time * inputDim, 4);
    const mask = Uint8Array.from({ length: batch * time }, (_, i) => (i % 4 === 1 ? 0 : 1));
    let mismatches = 0;
    for (const options of [{}, { mask }]) {
      const fast = simpleRnnForward(inputs, [batch, time, inputDim], weights, options);
      const naive = simpleRnnForwardReference(inputs, [batch, time, inputDim], weights, options);
      fast.outputs.forEach((v, i) => { if (!Object.is(v, naive.outputs[i])) mismatches++; });
      fast.states.forEach((v, i) => { if (!Object.is(v, naive.states[i])) mismatches++; });
    }
    console.log(JSON.stringify({ asm: %IsAsmWasmCode(productKernels), mismatches }));
  `;
  const run = spawnSync(
    process.execPath,
    ['--allow-natives-syntax', '--no-validate-asm', ...TYPESCRIPT_CHILD_ARGS, '--input-type=module', '-e', script],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  t.equal(run.status, 0, run.stderr);
  t.same(JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null'), { asm: false, mismatches: 0 });
});
