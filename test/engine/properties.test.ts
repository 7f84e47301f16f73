/**
 * Properties of the engine, checked with fast-check on random shapes, weights and options (seeded runs,
 * so a failure reproduces). "Equal" here means bit for bit.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  ACTIVATION_NAMES,
  type ActivationName,
  simpleRnnForward,
  type SimpleRnnOptions,
  type SimpleRnnWeights,
} from '../../src/engine/index.js';
import { simpleRnnForwardReference } from '../../src/engine/reference.js';

const RUNS = 60;
const f32 = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }).map(Math.fround);

interface Case {
  batch: number;
  time: number;
  inputDim: number;
  hiddenSize: number;
  inputs: Float32Array;
  weights: SimpleRnnWeights;
  initialState: Float32Array;
  mask: Uint8Array;
  activation: ActivationName;
  clip: number | null;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    batch: fc.integer({ min: 1, max: 4 }),
    time: fc.integer({ min: 1, max: 9 }),
    inputDim: fc.integer({ min: 1, max: 5 }),
    hiddenSize: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ batch, time, inputDim, hiddenSize }) =>
    fc.record({
      batch: fc.constant(batch),
      time: fc.constant(time),
      inputDim: fc.constant(inputDim),
      hiddenSize: fc.constant(hiddenSize),
      inputs: fc
        .array(f32, { minLength: batch * time * inputDim, maxLength: batch * time * inputDim })
        .map((a) => Float32Array.from(a)),
      weights: fc
        .record({
          kernel: fc.array(f32, { minLength: inputDim * hiddenSize, maxLength: inputDim * hiddenSize }),
          recurrentKernel: fc.array(f32, { minLength: hiddenSize * hiddenSize, maxLength: hiddenSize * hiddenSize }),
          bias: fc.array(f32, { minLength: hiddenSize, maxLength: hiddenSize }),
        })
        .map((w) => ({
          inputDim,
          hiddenSize,
          kernel: Float32Array.from(w.kernel),
          recurrentKernel: Float32Array.from(w.recurrentKernel),
          bias: Float32Array.from(w.bias),
        })),
      initialState: fc
        .array(f32, { minLength: batch * hiddenSize, maxLength: batch * hiddenSize })
        .map((a) => Float32Array.from(a)),
      mask: fc
        .array(fc.boolean(), { minLength: batch * time, maxLength: batch * time })
        .map((a) => Uint8Array.from(a, Number)),
      activation: fc.constantFrom(...ACTIVATION_NAMES),
      clip: fc.option(fc.float({ min: Math.fround(0.1), max: 5, noNaN: true }), { nil: null }),
    }),
  );

const run = (c: Case, inputs: Float32Array, batch: number, time: number, options: SimpleRnnOptions) =>
  simpleRnnForward(inputs, [batch, time, c.inputDim], c.weights, {
    activation: c.activation,
    clip: c.clip,
    ...options,
  });

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/** Sequence b of a flat [batch, time, width] array. */
const row = (data: Float32Array, b: number, time: number, width: number) =>
  data.slice(b * time * width, (b + 1) * time * width);

t.test('the fast path equals the naive reference with every option', async (t) => {
  fc.assert(
    fc.property(
      caseArb,
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      (c, goBackwards, useMask, useInitial, zeroOutputForMask) => {
        const options: SimpleRnnOptions = {
          activation: c.activation,
          clip: c.clip,
          goBackwards,
          zeroOutputForMask,
          mask: useMask ? c.mask : null,
          initialState: useInitial ? c.initialState : null,
        };
        const fast = simpleRnnForward(c.inputs, [c.batch, c.time, c.inputDim], c.weights, options);
        const naive = simpleRnnForwardReference(c.inputs, [c.batch, c.time, c.inputDim], c.weights, options);
        return same(fast.outputs, naive.outputs) && same(fast.states, naive.states);
      },
    ),
    { numRuns: RUNS * 2, seed: 1 },
  );
  t.pass('fast = naive');
});

t.test('batching invariance: a batch equals its items run one by one', async (t) => {
  fc.assert(
    fc.property(caseArb, fc.boolean(), (c, useMask) => {
      const whole = run(c, c.inputs, c.batch, c.time, { mask: useMask ? c.mask : null, initialState: c.initialState });
      for (let b = 0; b < c.batch; b++) {
        const one = run(c, row(c.inputs, b, c.time, c.inputDim), 1, c.time, {
          mask: useMask ? c.mask.slice(b * c.time, (b + 1) * c.time) : null,
          initialState: c.initialState.slice(b * c.hiddenSize, (b + 1) * c.hiddenSize),
        });
        if (!same(one.outputs, row(whole.outputs, b, c.time, c.hiddenSize))) return false;
        if (!same(one.states, whole.states.slice(b * c.hiddenSize, (b + 1) * c.hiddenSize))) return false;
      }
      return true;
    }),
    { numRuns: RUNS, seed: 2 },
  );
  t.pass('batching invariance');
});

t.test('streaming continuation: the final state of a prefix continues the sequence exactly', async (t) => {
  fc.assert(
    fc.property(
      caseArb.filter((c) => c.time >= 2),
      fc.integer({ min: 1, max: 8 }),
      (c, cut) => {
        const split = Math.min(cut, c.time - 1);
        const whole = run(c, c.inputs, c.batch, c.time, {});
        const part = (from: number, to: number) => {
          const out = new Float32Array(c.batch * (to - from) * c.inputDim);
          for (let b = 0; b < c.batch; b++) {
            out.set(
              c.inputs.subarray((b * c.time + from) * c.inputDim, (b * c.time + to) * c.inputDim),
              b * (to - from) * c.inputDim,
            );
          }
          return out;
        };
        const first = run(c, part(0, split), c.batch, split, {});
        const rest = run(c, part(split, c.time), c.batch, c.time - split, { initialState: first.states });
        if (!same(rest.states, whole.states)) return false;
        for (let b = 0; b < c.batch; b++) {
          const expected = whole.outputs.slice((b * c.time + split) * c.hiddenSize, (b + 1) * c.time * c.hiddenSize);
          if (!same(row(rest.outputs, b, c.time - split, c.hiddenSize), expected)) return false;
        }
        return true;
      },
    ),
    { numRuns: RUNS, seed: 3 },
  );
  t.pass('streaming continuation');
});

t.test('goBackwards equals running the reversed input', async (t) => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const reversed = new Float32Array(c.inputs.length);
      const reversedMask = new Uint8Array(c.mask.length);
      for (let b = 0; b < c.batch; b++) {
        for (let s = 0; s < c.time; s++) {
          const from = (b * c.time + s) * c.inputDim;
          reversed.set(c.inputs.subarray(from, from + c.inputDim), (b * c.time + c.time - 1 - s) * c.inputDim);
          reversedMask[b * c.time + c.time - 1 - s] = c.mask[b * c.time + s];
        }
      }
      const backwards = run(c, c.inputs, c.batch, c.time, { goBackwards: true, mask: c.mask });
      const forwardOnReversed = run(c, reversed, c.batch, c.time, { mask: reversedMask });
      return same(backwards.outputs, forwardOnReversed.outputs) && same(backwards.states, forwardOnReversed.states);
    }),
    { numRuns: RUNS, seed: 4 },
  );
  t.pass('goBackwards = reversed input');
});

t.test('masked steps never change the state, and what lies under them does not matter', async (t) => {
  fc.assert(
    fc.property(caseArb, fc.integer(), (c, noise) => {
      const result = run(c, c.inputs, c.batch, c.time, { mask: c.mask, initialState: c.initialState });
      // Change every masked input: nothing may move.
      const scrambled = c.inputs.slice();
      for (let b = 0; b < c.batch; b++) {
        for (let s = 0; s < c.time; s++) {
          if (c.mask[b * c.time + s] === 0)
            for (let i = 0; i < c.inputDim; i++)
              scrambled[(b * c.time + s) * c.inputDim + i] = Math.fround(((noise >>> i) % 7) - 3);
        }
      }
      const again = run(c, scrambled, c.batch, c.time, { mask: c.mask, initialState: c.initialState });
      if (!same(result.outputs, again.outputs) || !same(result.states, again.states)) return false;
      // The output at a masked step is the state before it (the initial state if no step was valid yet).
      for (let b = 0; b < c.batch; b++) {
        let state = c.initialState.slice(b * c.hiddenSize, (b + 1) * c.hiddenSize);
        for (let s = 0; s < c.time; s++) {
          const out = result.outputs.slice((b * c.time + s) * c.hiddenSize, (b * c.time + s + 1) * c.hiddenSize);
          if (c.mask[b * c.time + s] === 0 && !same(out, state)) return false;
          state = out;
        }
        if (!same(state, result.states.slice(b * c.hiddenSize, (b + 1) * c.hiddenSize))) return false;
      }
      return true;
    }),
    { numRuns: RUNS, seed: 5 },
  );
  t.pass('masked steps carry the state');
});

t.test('clip clamps the pre-activation', async (t) => {
  const weights: SimpleRnnWeights = {
    inputDim: 1,
    hiddenSize: 1,
    kernel: Float32Array.of(10),
    recurrentKernel: Float32Array.of(0),
    bias: Float32Array.of(0),
  };
  const x = Float32Array.of(1, -1, 0.05);
  const clipped = simpleRnnForward(x, [1, 3, 1], weights, { activation: 'linear', clip: 2 });
  t.same(Array.from(clipped.outputs), [2, -2, Math.fround(0.5)]);
  const free = simpleRnnForward(x, [1, 3, 1], weights, { activation: 'linear' });
  t.same(Array.from(free.outputs), [10, -10, Math.fround(0.5)]);
});
