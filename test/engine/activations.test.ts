/**
 * tanhToFloat32 against Math.tanh: its float32 rounding must be Math.tanh's on every input, and the
 * approximation behind it must be far inside the error bound its rounding check relies on (1e-11).
 */
import t from 'tap';
import { ACTIVATION_NAMES, ACTIVATIONS, FLOAT32_ACTIVATIONS, tanhToFloat32 } from '../../src/engine/activations.js';
import { rng as random } from '../helpers/random.js';

function firstMismatch(values: Iterable<number>): { x: number; ours: number; mathTanh: number } | null {
  for (const x of values) {
    const ours = Math.fround(tanhToFloat32(x));
    const mathTanh = Math.fround(Math.tanh(x));
    if (!Object.is(ours, mathTanh)) return { x, ours, mathTanh };
  }
  return null;
}

function* randomValues(seed: number, count: number, draw: (r: () => number) => number): Generator<number> {
  const r = random(seed);
  for (let i = 0; i < count; i++) yield draw(r);
}

t.test('tanhToFloat32 rounds to float32 exactly as Math.tanh does', async (t) => {
  t.equal(firstMismatch(randomValues(1, 1_000_000, (r) => (r() - 0.5) * 24)), null, 'uniform in (-12, 12)');
  t.equal(
    firstMismatch(randomValues(2, 1_000_000, (r) => (r() < 0.5 ? -1 : 1) * 10 ** (r() * 12 - 11))),
    null,
    'log-uniform magnitudes from 1e-11 to 10, both signs',
  );
  // Every 61st float32 from 0 to 10 and its negative: a dense, regular sweep of the range that matters.
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const sweep = function* (): Generator<number> {
    for (let b = 0; b <= 0x41200000; b += 61) {
      bits[0] = b;
      yield f32[0];
      yield -f32[0];
    }
  };
  t.equal(firstMismatch(sweep()), null, 'every 61st float32 in [-10, 10]');
  // Around the places where the computation changes: the table steps (2x = n·ln2/64), saturation, zero.
  const edges: number[] = [];
  for (let n = -1800; n <= 1800; n++) {
    const x = ((n + 0.5) * Math.LN2) / 128;
    edges.push(x, x * (1 + 1e-15), x * (1 - 1e-15));
  }
  for (const x of [9.5, 9.499999999999998, 9.500000000000002, 9.1, 22, 1e-300, 5e-324, Number.MIN_VALUE, 1e308])
    edges.push(x, -x);
  t.equal(firstMismatch(edges), null, 'table steps, saturation and extreme magnitudes');

  // The hard cases: x whose tanh is (within a few float64 ulps of) a tie between two float32 values, where
  // any error in the approximation flips the rounding unless the check catches it.
  const ties = function* (): Generator<number> {
    const r = random(5);
    for (let i = 0; i < 100_000; i++) {
      bits[0] = 0x3a800000 + Math.floor(r() * (0x3f7fffff - 0x3a800000)); // float32 in [~1e-3, 1)
      const below = f32[0];
      bits[0] += 1;
      const tie = (below + f32[0]) / 2; // exact in float64
      const x = Math.atanh(tie);
      for (const y of [x, x * (1 + 2 ** -52), x * (1 - 2 ** -52), x * (1 + 2 ** -51), x * (1 - 2 ** -51)]) {
        yield y;
        yield -y;
      }
    }
  };
  t.equal(firstMismatch(ties()), null, 'inputs whose tanh is a float32 rounding tie');

  t.ok(Object.is(tanhToFloat32(0), 0) && Object.is(tanhToFloat32(-0), -0), 'keeps the sign of zero');
  t.ok(Number.isNaN(tanhToFloat32(Number.NaN)), 'NaN stays NaN');
  t.equal(tanhToFloat32(Infinity), 1);
  t.equal(tanhToFloat32(-Infinity), -1);
});

t.test('the approximation is within 1e-13 of Math.tanh (its check assumes 1e-11)', async (t) => {
  // Where the rounding check passes, tanhToFloat32 returns the approximation itself, so its distance from
  // Math.tanh is the approximation's error (where the check fails it returns Math.tanh: distance 0).
  let worst = 0;
  let worstAt = 0;
  const r = random(3);
  for (let i = 0; i < 400_000; i++) {
    const x = (r() < 0.5 ? -1 : 1) * (i % 2 === 0 ? r() * 9.5 : 10 ** (r() * 10 - 10));
    const ours = tanhToFloat32(x);
    const exact = Math.tanh(x);
    if (exact === 0) continue;
    const relative = Math.abs(ours - exact) / Math.abs(exact);
    if (relative > worst) {
      worst = relative;
      worstAt = x;
    }
  }
  t.ok(worst < 1e-13, `worst relative distance ${worst.toExponential(2)} at x = ${worstAt}`);
  t.ok(worst > 0, 'the approximation is not Math.tanh itself (the test would prove nothing)');
});

t.test('FLOAT32_ACTIVATIONS give the float32 results of ACTIVATIONS, bit for bit', async (t) => {
  const r = random(4);
  const xs = Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? (r() - 0.5) * 30 : (r() - 0.5) * 1e-3));
  xs.push(0, -0, 9.5, -9.5, 100, -100);
  for (const name of ACTIVATION_NAMES) {
    const bad = xs.find(
      (x) => !Object.is(Math.fround(FLOAT32_ACTIVATIONS[name](x)), Math.fround(ACTIVATIONS[name](x))),
    );
    t.equal(bad, undefined, name);
  }
});
