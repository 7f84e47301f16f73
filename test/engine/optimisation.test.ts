/**
 * The fast path's kernels stay optimised: in a fresh process, a few dozen calls of a shape that takes every
 * branch (row groups of three and rows left over, column tiles and columns left over) must not deoptimise
 * any of them for lack of type feedback. Before the kernels were primed at module load, V8 compiled the
 * first large call mid-loop and deoptimised the same code on every later call (up to 39 times in a process,
 * mid ran ~1.45× slower in such processes). Not a timing test: it reads V8's own deoptimisation log.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SCRIPT = `
import { simpleRnnForward } from './src/engine/simple-rnn.ts';
const [batch, time, inputDim, hiddenSize] = [8, 40, 20, 30]; // 8 % 3, 320 % 3 and 30 % 4 are all 2
const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) / 2);
const weights = { inputDim, hiddenSize, kernel: values(inputDim * hiddenSize, 1), recurrentKernel: values(hiddenSize * hiddenSize, 2), bias: values(hiddenSize, 3) };
const inputs = values(batch * time * inputDim, 4);
let sum = 0;
for (let i = 0; i < 40; i++) sum += simpleRnnForward(inputs, [batch, time, inputDim], weights).states[0];
console.log('done', Number.isFinite(sum));
`;

const KERNELS = /<JSFunction (addPackedProduct|packRows|addTile|addColumn|addRowTile|addRowColumn|listValidRows|activateRow|activateRowTanh|simpleRnnForward) /;

t.test('no kernel deoptimises for lack of type feedback', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--trace-deopt', '--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /done true/, 'the script ran its calls');
  t.match(run.stdout, /bailout|deoptimiz/i, 'V8 logged deoptimisations (of something), so the log is readable');
  const kernelDeopts = run.stdout
    .split('\n')
    .filter((line) => line.includes('bailout') && line.includes('Insufficient type feedback') && KERNELS.test(line));
  t.same(kernelDeopts.map((line) => line.replace(/0x[0-9a-f]+/g, '').slice(0, 200)), [], 'no kernel deoptimised for lack of feedback');
});
