/**
 * gru.ts: the GRU layer's fast path, in both formulations. Held to one unit worked from the formulas
 * (h' = z·h + (1 - z)·h̃, the reset before or after the recurrent product) within float32 rounding, to the naive
 * reference (gated-reference.ts) bit for bit with every option, and to its panels' layout and offsets.
 */
import t from 'tap';
import { gruForwardReference } from '../../src/engine/gated-reference.js';
import { gruForward, packGruPanels } from '../../src/engine/gru.js';
import { gruByHand, near, randomValues, randomWeights } from '../helpers/cells.js';

const w = [0.5, -1, 2];
const u = [0.3, 0.2, -0.5];
const xs = [1, -0.5, 2];
const unit = (bias: number[]) => ({
  inputDim: 1,
  hiddenSize: 1,
  kernel: Float32Array.from(w),
  recurrentKernel: Float32Array.from(u),
  bias: Float32Array.from(bias),
});

t.test('one unit from the formulas, reset after and before', async (t) => {
  const after = [0.1, 0, 0.2, 0, 0.1, -0.1];
  const run = gruForward(Float32Array.from(xs), [1, 3, 1], unit(after));
  t.ok(near(run.outputs, gruByHand(xs, w, u, after, true)), `after: ${[...run.outputs]}`);
  const before = [0.1, 0, 0.2];
  const old = gruForward(Float32Array.from(xs), [1, 3, 1], unit(before), { resetAfter: false });
  t.ok(near(old.outputs, gruByHand(xs, w, u, before, false)), `before: ${[...old.outputs]}`);
  t.ok(near(old.states, [old.outputs[2]]));
});

t.test('equal to the naive reference, bit for bit, with every option', async (t) => {
  const [batch, time, inputDim, h] = [2, 5, 3, 2];
  const inputs = randomValues(7, batch * time * inputDim, 2);
  for (const resetAfter of [true, false]) {
    const weights = randomWeights(resetAfter ? 8 : 9, inputDim, h, 3, (resetAfter ? 6 : 3) * h);
    const cases = {
      plain: {},
      masked: { mask: Uint8Array.of(1, 1, 1, 0, 0, 1, 0, 1, 1, 1) },
      zeroed: { mask: Uint8Array.of(1, 1, 1, 0, 0, 1, 0, 1, 1, 1), zeroOutputForMask: true },
      backwards: { goBackwards: true, initialState: randomValues(10, batch * h) },
      clip: { clip: 0.25, activation: 'softsign' as const },
    };
    for (const [name, options] of Object.entries(cases)) {
      const all = { ...options, resetAfter };
      const fast = gruForward(inputs, [batch, time, inputDim], weights, all);
      const naive = gruForwardReference(inputs, [batch, time, inputDim], weights, all);
      t.same([...fast.outputs], [...naive.outputs], `resetAfter ${resetAfter}, ${name}: outputs`);
      t.same([...fast.states], [...naive.states], `resetAfter ${resetAfter}, ${name}: h`);
    }
  }
});

t.test('the panels: six blocks after, three [W; U] blocks before', async (t) => {
  const after = packGruPanels(unit([0, 0, 0, 0, 0, 0]), true);
  t.same([...after.packed], [0.5, -1, 2, 0.3, 0.2, -0.5].map(Math.fround), 'W_z W_r W_h U_z U_r U_h');
  t.same(after.offsets, [0, 1, 2, 3, 4, 5]);
  const before = packGruPanels(unit([0, 0, 0]), false);
  t.same([...before.packed], [0.5, 0.3, -1, 0.2, 2, -0.5].map(Math.fround), '[W; U] of z, r, h');
  t.same(before.offsets, [0, 2, 4]);
  const larger = packGruPanels(randomWeights(3, 4, 5, 3, 30), true);
  t.same(larger.offsets, [0, 20, 40, 60, 85, 110], 'W blocks of 4·5, U blocks of 5·5');
});
