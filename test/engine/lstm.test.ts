/**
 * lstm.ts: the LSTM layer's fast path. Held to one unit worked from the formulas (c' = σ(f)·c + σ(i)·tanh(g),
 * h' = σ(o)·tanh(c')) within float32 rounding, to the naive reference (gated-reference.ts) bit for bit with masks,
 * going backwards, initial states, clip and other activations, and to its panels' layout: gate after gate, each
 * gate's [W; U] columns.
 */
import t from 'tap';
import { lstmForwardReference } from '../../src/engine/gated-reference.js';
import { lstmForward, packLstmPanels } from '../../src/engine/lstm.js';
import { lstmByHand, near, randomValues, randomWeights } from '../helpers/cells.js';

t.test('one unit from the formulas', async (t) => {
  const w = [0.5, -0.5, 1, 0.25];
  const u = [0.1, 0.2, 0.3, 0.4];
  const b = [0, 1, 0, 0];
  const xs = [1, 2, -1];
  const weights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.from(w),
    recurrentKernel: Float32Array.from(u),
    bias: Float32Array.from(b),
  };
  const run = lstmForward(Float32Array.from(xs), [1, 3, 1], weights);
  const hand = lstmByHand(xs, w, u, b);
  t.ok(near(run.outputs, hand.hs), `outputs ${[...run.outputs]} ≈ ${hand.hs}`);
  t.ok(near(run.states, [hand.hs[2]]));
  t.ok(near(run.cellStates, [hand.c]), 'the cell state');
});

t.test('equal to the naive reference, bit for bit, with every option', async (t) => {
  const [batch, time, inputDim, h] = [3, 4, 2, 3];
  const weights = randomWeights(1, inputDim, h, 4, 4 * h);
  const inputs = randomValues(2, batch * time * inputDim, 2);
  const cases = {
    plain: {},
    masked: { mask: Uint8Array.of(1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1), zeroOutputForMask: true },
    backwards: { goBackwards: true, mask: Uint8Array.of(1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1) },
    states: { initialState: randomValues(3, batch * h), initialCellState: randomValues(4, batch * h) },
    clip: { clip: 0.5 },
    activations: { activation: 'relu' as const, recurrentActivation: 'hardSigmoid' as const },
  };
  for (const [name, options] of Object.entries(cases)) {
    const fast = lstmForward(inputs, [batch, time, inputDim], weights, options);
    const naive = lstmForwardReference(inputs, [batch, time, inputDim], weights, options);
    t.same([...fast.outputs], [...naive.outputs], `${name}: outputs`);
    t.same([...fast.states], [...naive.states], `${name}: h`);
    t.same([...fast.cellStates], [...naive.cellStates], `${name}: c`);
  }
});

t.test("the panels: each gate's [W; U] columns, gate after gate", async (t) => {
  // inputDim 1, h 1: gate g's panel is [W[0][g], U[0][g]].
  const weights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.of(1, 2, 3, 4),
    recurrentKernel: Float32Array.of(5, 6, 7, 8),
    bias: new Float32Array(4),
  };
  t.same([...packLstmPanels(weights)], [1, 5, 2, 6, 3, 7, 4, 8]);
  t.equal(packLstmPanels(weights), packLstmPanels(weights), 'packed once per weights');
  t.equal(packLstmPanels(randomWeights(5, 3, 2, 4, 8)).length, 4 * (3 + 2) * 2);
});
