/**
 * Properties of the LSTM and GRU fast paths, checked with fast-check on random shapes, weights and options
 * (seeded runs, so a failure reproduces), as properties.test.ts does for SimpleRNN. "Equal" means bit for bit.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  ACTIVATION_NAMES,
  type ActivationName,
  gruForward,
  type LstmOptions,
  type LstmResult,
  lstmForward,
  type RecurrentWeights,
} from '../../src/engine/index.js';
import { gruForwardReference, lstmForwardReference } from '../../src/engine/gated-reference.js';

const RUNS = 50;
const f32 = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }).map(Math.fround);
const floats = (n: number) => fc.array(f32, { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

type Variant = 'lstm' | 'gruAfter' | 'gruBefore';

interface Case {
  variant: Variant;
  batch: number;
  time: number;
  inputDim: number;
  hiddenSize: number;
  inputs: Float32Array;
  weights: RecurrentWeights;
  initialState: Float32Array;
  initialCellState: Float32Array;
  mask: Uint8Array;
  activation: ActivationName;
  recurrentActivation: ActivationName;
  clip: number | null;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    variant: fc.constantFrom<Variant>('lstm', 'gruAfter', 'gruBefore'),
    batch: fc.integer({ min: 1, max: 4 }),
    time: fc.integer({ min: 1, max: 8 }),
    inputDim: fc.integer({ min: 1, max: 5 }),
    hiddenSize: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ variant, batch, time, inputDim, hiddenSize: h }) => {
    const g = variant === 'lstm' ? 4 : 3;
    return fc.record({
      variant: fc.constant(variant),
      batch: fc.constant(batch),
      time: fc.constant(time),
      inputDim: fc.constant(inputDim),
      hiddenSize: fc.constant(h),
      inputs: floats(batch * time * inputDim),
      weights: fc
        .record({
          kernel: floats(inputDim * g * h),
          recurrentKernel: floats(h * g * h),
          bias: floats(variant === 'gruAfter' ? 6 * h : g * h),
        })
        .map((w) => ({ inputDim, hiddenSize: h, ...w })),
      initialState: floats(batch * h),
      initialCellState: floats(batch * h),
      mask: fc
        .array(fc.boolean(), { minLength: batch * time, maxLength: batch * time })
        .map((a) => Uint8Array.from(a, Number)),
      activation: fc.constantFrom(...ACTIVATION_NAMES),
      recurrentActivation: fc.constantFrom(...ACTIVATION_NAMES),
      clip: fc.option(fc.float({ min: Math.fround(0.1), max: 5, noNaN: true }), { nil: null }),
    });
  });

type Run = { outputs: Float32Array; states: Float32Array; cellStates?: Float32Array };

function run(c: Case, inputs: Float32Array, batch: number, time: number, options: LstmOptions, naive = false): Run {
  const all = { activation: c.activation, recurrentActivation: c.recurrentActivation, clip: c.clip, ...options };
  const shape = [batch, time, c.inputDim] as const;
  if (c.variant === 'lstm') return (naive ? lstmForwardReference : lstmForward)(inputs, shape, c.weights, all);
  const gru = { ...all, resetAfter: c.variant === 'gruAfter' };
  return (naive ? gruForwardReference : gruForward)(inputs, shape, c.weights, gru);
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const sameRun = (a: Run, b: Run) =>
  same(a.outputs, b.outputs) && same(a.states, b.states) && (!a.cellStates || same(a.cellStates, b.cellStates!));

/** Sequence b of a flat [batch, time, width] array. */
const row = (data: Float32Array, b: number, time: number, width: number) =>
  data.slice(b * time * width, (b + 1) * time * width);

t.test('the fast paths equal the naive references with every option', async (t) => {
  fc.assert(
    fc.property(
      caseArb,
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      (c, goBackwards, useMask, useInitial, zeroOutputForMask) => {
        const options: LstmOptions = {
          goBackwards,
          zeroOutputForMask,
          mask: useMask ? c.mask : null,
          initialState: useInitial ? c.initialState : null,
          initialCellState: useInitial ? c.initialCellState : null,
        };
        return sameRun(run(c, c.inputs, c.batch, c.time, options), run(c, c.inputs, c.batch, c.time, options, true));
      },
    ),
    { numRuns: RUNS * 4, seed: 11 },
  );
  t.pass('fast = naive');
});

t.test('batching invariance: a batch equals its items run one by one', async (t) => {
  fc.assert(
    fc.property(caseArb, fc.boolean(), (c, useMask) => {
      const h = c.hiddenSize;
      const options = {
        mask: useMask ? c.mask : null,
        initialState: c.initialState,
        initialCellState: c.initialCellState,
      };
      const whole = run(c, c.inputs, c.batch, c.time, options);
      for (let b = 0; b < c.batch; b++) {
        const one = run(c, row(c.inputs, b, c.time, c.inputDim), 1, c.time, {
          mask: useMask ? c.mask.slice(b * c.time, (b + 1) * c.time) : null,
          initialState: c.initialState.slice(b * h, (b + 1) * h),
          initialCellState: c.initialCellState.slice(b * h, (b + 1) * h),
        });
        if (!same(one.outputs, row(whole.outputs, b, c.time, h))) return false;
        if (!same(one.states, whole.states.slice(b * h, (b + 1) * h))) return false;
        if (one.cellStates && !same(one.cellStates, whole.cellStates!.slice(b * h, (b + 1) * h))) return false;
      }
      return true;
    }),
    { numRuns: RUNS, seed: 12 },
  );
  t.pass('batching invariance');
});

t.test('streaming continuation: h (and c) after a prefix continue the sequence exactly', async (t) => {
  fc.assert(
    fc.property(
      caseArb.filter((c) => c.time >= 2),
      fc.integer({ min: 1, max: 7 }),
      (c, cut) => {
        const split = Math.min(cut, c.time - 1);
        const h = c.hiddenSize;
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
        const rest = run(c, part(split, c.time), c.batch, c.time - split, {
          initialState: first.states,
          initialCellState: first.cellStates ?? null,
        });
        if (!same(rest.states, whole.states)) return false;
        if (rest.cellStates && !same(rest.cellStates, whole.cellStates!)) return false;
        for (let b = 0; b < c.batch; b++) {
          const expected = whole.outputs.slice((b * c.time + split) * h, (b + 1) * c.time * h);
          if (!same(row(rest.outputs, b, c.time - split, h), expected)) return false;
        }
        return true;
      },
    ),
    { numRuns: RUNS, seed: 13 },
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
      return sameRun(
        run(c, c.inputs, c.batch, c.time, { goBackwards: true, mask: c.mask }),
        run(c, reversed, c.batch, c.time, { mask: reversedMask }),
      );
    }),
    { numRuns: RUNS, seed: 14 },
  );
  t.pass('goBackwards = reversed input');
});

t.test('masked steps carry h and c unchanged, and what lies under them does not matter', async (t) => {
  fc.assert(
    fc.property(caseArb, fc.integer(), (c, noise) => {
      const h = c.hiddenSize;
      const options = { mask: c.mask, initialState: c.initialState, initialCellState: c.initialCellState };
      const result = run(c, c.inputs, c.batch, c.time, options);
      const scrambled = c.inputs.slice();
      for (let b = 0; b < c.batch; b++)
        for (let s = 0; s < c.time; s++)
          if (c.mask[b * c.time + s] === 0)
            for (let i = 0; i < c.inputDim; i++)
              scrambled[(b * c.time + s) * c.inputDim + i] = Math.fround(((noise >>> i) % 7) - 3);
      if (!sameRun(result, run(c, scrambled, c.batch, c.time, options))) return false;
      // A sequence with every step masked keeps its initial h and c.
      for (let b = 0; b < c.batch; b++) {
        if (c.mask.subarray(b * c.time, (b + 1) * c.time).some((v) => v === 1)) continue;
        if (!same(result.states.slice(b * h, (b + 1) * h), c.initialState.slice(b * h, (b + 1) * h))) return false;
        const cells = (result as LstmResult).cellStates;
        if (cells && !same(cells.slice(b * h, (b + 1) * h), c.initialCellState.slice(b * h, (b + 1) * h))) return false;
      }
      // The output at a masked step is h before it.
      for (let b = 0; b < c.batch; b++) {
        let state = c.initialState.slice(b * h, (b + 1) * h);
        for (let s = 0; s < c.time; s++) {
          const out = result.outputs.slice((b * c.time + s) * h, (b * c.time + s + 1) * h);
          if (c.mask[b * c.time + s] === 0 && !same(out, state)) return false;
          state = out;
        }
      }
      return true;
    }),
    { numRuns: RUNS, seed: 15 },
  );
  t.pass('masked steps carry the state');
});
