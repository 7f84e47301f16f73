/**
 * The fast path's functions stay optimised: in a fresh process, a few dozen calls of a shape that takes every
 * branch (row pairs and a row left over, column tiles and columns left over) must not deoptimise any of
 * them for lack of type feedback. The child loads the sources as these tests do (TypeScript's compiler, not
 * tsx), so the product kernels are asm.js there, as in production, and the functions around them are JavaScript. Before
 * the kernels were primed at module load, V8 compiled the
 * first large call mid-loop and deoptimised the same code on every later call (up to 39 times in a process,
 * mid ran ~1.45× slower in such processes). Not a timing test: it reads V8's own deoptimisation log.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TYPESCRIPT_CHILD_ARGS } from '../helpers/typescript-child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SCRIPT = `
import { simpleRnnForward } from './src/engine/simple-rnn.ts';
const [batch, time, inputDim, hiddenSize] = [7, 40, 20, 30]; // 7 % 2 = 1 row and 30 % 4 = 2 columns left over
const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) / 2);
const weights = { inputDim, hiddenSize, kernel: values(inputDim * hiddenSize, 1), recurrentKernel: values(hiddenSize * hiddenSize, 2), bias: values(hiddenSize, 3) };
const inputs = values(batch * time * inputDim, 4);
let sum = 0;
for (let i = 0; i < 40; i++) sum += simpleRnnForward(inputs, [batch, time, inputDim], weights).states[0];
console.log('done', Number.isFinite(sum));
`;

const KERNELS =
  /<JSFunction (packStep|fillBias|activateRow|activateRowTanh|simpleRnnForward|packStackedPanels|appendPanel) /;

t.test('no kernel deoptimises for lack of type feedback', async (t) => {
  const run = spawnSync(
    process.execPath,
    [...TYPESCRIPT_CHILD_ARGS, '--trace-deopt', '--input-type=module', '-e', SCRIPT],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /done true/, 'the script ran its calls');
  t.match(run.stdout, /bailout|deoptimiz/i, 'V8 logged deoptimisations (of something), so the log is readable');
  const kernelDeopts = run.stdout
    .split('\n')
    .filter((line) => line.includes('bailout') && line.includes('Insufficient type feedback') && KERNELS.test(line));
  t.same(
    kernelDeopts.map((line) => line.replace(/0x[0-9a-f]+/g, '').slice(0, 200)),
    [],
    'no kernel deoptimised for lack of feedback',
  );
});
