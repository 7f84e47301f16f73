/**
 * gated-reference.ts: the naive LSTM and GRU the fast paths are held to. Held here to the formulas themselves (one
 * unit, worked in float64, within float32 rounding) and to the masking rules written out: a masked step carries h
 * and c unchanged and repeats h (or writes zeros with zeroOutputForMask); goBackwards processes from the end with
 * its outputs in processing order; clip clamps each gate's pre-activation.
 */
import t from 'tap';
import { gruForwardReference, lstmForwardReference } from '../../src/engine/gated-reference.js';
import { gruByHand, lstmByHand, near } from '../helpers/cells.js';

const f32 = (values: ArrayLike<number>) => Float32Array.from(values);
const lstmUnit = {
  inputDim: 1,
  hiddenSize: 1,
  kernel: f32([0.5, -0.5, 1, 0.25]),
  recurrentKernel: f32([0.1, 0.2, 0.3, 0.4]),
  bias: f32([0, 1, 0, 0]),
};
const W = [0.5, -0.5, 1, 0.25];
const U = [0.1, 0.2, 0.3, 0.4];
const B = [0, 1, 0, 0];

t.test('LSTM: the formulas, one unit', async (t) => {
  const run = lstmForwardReference(f32([1, 2, -1]), [1, 3, 1], lstmUnit);
  const hand = lstmByHand([1, 2, -1], W, U, B);
  t.ok(near(run.outputs, hand.hs));
  t.ok(near(run.cellStates, [hand.c]));
});

t.test('LSTM: masks, going backwards, clip', async (t) => {
  const hand = lstmByHand([1, -1], W, U, B);
  const masked = lstmForwardReference(f32([1, 2, -1]), [1, 3, 1], lstmUnit, { mask: Uint8Array.of(1, 0, 1) });
  t.ok(near(masked.outputs, [hand.hs[0], hand.hs[0], hand.hs[1]]), 'the masked step repeats h, and is skipped');
  t.ok(near(masked.cellStates, [hand.c]), 'c carried across the masked step');
  const zeroed = lstmForwardReference(f32([1, 2, -1]), [1, 3, 1], lstmUnit, {
    mask: Uint8Array.of(1, 0, 1),
    zeroOutputForMask: true,
  });
  t.equal(zeroed.outputs[1], 0);
  t.same([...zeroed.states], [...masked.states]);
  const backwards = lstmForwardReference(f32([1, 2, -1]), [1, 3, 1], lstmUnit, { goBackwards: true });
  t.ok(near(backwards.outputs, lstmByHand([-1, 2, 1], W, U, B).hs), 'processing order: the last step first');
  // Clip 0.1: every gate pre-activation within [-0.1, 0.1]; by hand, with each pre-activation clamped.
  const clipped = lstmForwardReference(f32([1]), [1, 1, 1], lstmUnit, { clip: 0.1 });
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  const c = s(0.1) * 0 + s(0.1) * Math.tanh(0.1);
  t.ok(near(clipped.outputs, [s(0.1) * Math.tanh(c)]), 'each gate clamped, not the cell state');
});

t.test('GRU: both formulations, one unit; masks', async (t) => {
  const w = [0.5, -1, 2];
  const u = [0.3, 0.2, -0.5];
  const unit = (bias: number[]) => ({
    inputDim: 1,
    hiddenSize: 1,
    kernel: f32(w),
    recurrentKernel: f32(u),
    bias: f32(bias),
  });
  const after = [0.1, 0, 0.2, 0, 0.1, -0.1];
  t.ok(
    near(gruForwardReference(f32([1, -0.5]), [1, 2, 1], unit(after)).outputs, gruByHand([1, -0.5], w, u, after, true)),
  );
  const before = [0.1, 0, 0.2];
  t.ok(
    near(
      gruForwardReference(f32([1, -0.5]), [1, 2, 1], unit(before), { resetAfter: false }).outputs,
      gruByHand([1, -0.5], w, u, before, false),
    ),
  );
  const masked = gruForwardReference(f32([1, 3, -0.5]), [1, 3, 1], unit(after), { mask: Uint8Array.of(1, 0, 1) });
  const hand = gruByHand([1, -0.5], w, u, after, true);
  t.ok(near(masked.outputs, [hand[0], hand[0], hand[1]]));
  t.throws(() => gruForwardReference(f32([1]), [1, 1, 1], unit(before)), {
    message: 'bias has 3 elements; expected 6',
  });
});
