/**
 * Bit-exactness tests for src/engine/initializers.ts against the real
 * @tensorflow/tfjs 4.22 (CPU backend), plus the Alea PRNG against the
 * `seedrandom` package that tfjs itself uses.
 *
 * Every comparison is exact: float32 bit patterns (Uint32Array views), so
 * signed zeros and the last ulp count. Never loosen these to a tolerance.
 */
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { alea } from '../../src/engine/random.js';
import {
  glorotUniform,
  householderQr,
  marsagliaNormals,
  orthogonal,
  type Shape2D,
} from '../../src/engine/initializers.js';

/** Runs `fn` with console.warn silenced (tfjs warns on large orthogonal shapes). */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

function tfGlorotUniform(seed: number, shape: Shape2D): Float32Array {
  return tf.tidy(
    () =>
      tf.initializers
        .glorotUniform({ seed })
        .apply([...shape])
        .dataSync() as Float32Array,
  );
}

function tfOrthogonal(seed: number, shape: Shape2D): Float32Array {
  return quietly(() =>
    tf.tidy(
      () =>
        tf.initializers
          .orthogonal({ seed })
          .apply([...shape])
          .dataSync() as Float32Array,
    ),
  );
}

/**
 * Returns null when `actual` and `expected` are bit-identical float32 arrays,
 * otherwise a description of the first difference.
 */
function bitDiff(actual: Float32Array, expected: Float32Array): string | null {
  if (actual.length !== expected.length) {
    return `length ${actual.length} !== ${expected.length}`;
  }
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      return `first difference at [${i}]: ours ${actual[i]} (0x${a[i].toString(16)}) vs tfjs ${expected[i]} (0x${e[i].toString(16)})`;
    }
  }
  return null;
}

/** Named seeds from the brief, including 0 and 2^31 - 2. */
const NAMED_SEEDS = [0, 1, 2, 7, 42, 43, 1000, 123456789, 2147483646];

/** A fixed list of arbitrary seeds (generated once, frozen here). */
const RANDOM_SEEDS = [
  3, 19, 88, 256, 977, 4096, 31337, 65521, 99991, 271828, 314159, 500009, 777777, 1048573, 2718281, 8675309, 16777213,
  20240229, 33554393, 98765432, 134217689, 271828182, 314159265, 536870909, 999999937, 1234567891, 1999999973,
  2147483647, -1, -424242,
];

const ALL_SEEDS = [...NAMED_SEEDS, ...RANDOM_SEEDS];

/** Seeds whose orthogonal output tfjs computes deterministically (0 is falsy there). */
const ORTHO_SEEDS = ALL_SEEDS.filter((s) => s !== 0);

const SMALL_SHAPES: Shape2D[] = [
  [1, 1],
  [1, 5],
  [4, 2],
  [2, 2],
  [5, 1],
  [3, 7],
  [7, 3],
  [16, 16],
];

// The tfjs reference is slow (its QR is O(n^3) tensor ops): allow more than
// tap's default 30 s per file when the machine is busy with other test files.
t.setTimeout(120_000);

t.before(async () => {
  await quietly(() => tf.setBackend('cpu'));
  await tf.ready();
});

t.test('tfjs is running on the CPU backend', async (t) => {
  t.equal(tf.getBackend(), 'cpu');
});

t.test('golden values', async (t) => {
  const glorot = [
    0.369726986, 0.0926489383, 0.691186666, -0.601828933, 0.127476245, 0.927078068, -0.910099864, 0.283232331,
  ];
  const g = glorotUniform(42, [4, 2]);
  t.equal(g.length, glorot.length);
  glorot.forEach((v, i) => t.ok(g[i] === Math.fround(v), `glorotUniform(42,[4,2])[${i}] = ${g[i]}, want ${v}`));

  const ortho = [0.973742247, 0.227653325, 0.227653325, -0.973742247];
  const o = orthogonal(42, [2, 2]);
  t.equal(o.length, ortho.length);
  ortho.forEach((v, i) => t.ok(o[i] === Math.fround(v), `orthogonal(42,[2,2])[${i}] = ${o[i]}, want ${v}`));
});

/** The `seedrandom` package tfjs depends on, if it is installed. */
const seedrandom: { alea: (seed: string) => () => number } | null = await import('seedrandom').then(
  (m) => m.default,
  () => null,
);

t.test(
  'alea matches the seedrandom package (first 1000 outputs)',
  { skip: seedrandom === null ? 'seedrandom is not installed' : false },
  async (t) => {
    if (seedrandom === null) return;
    const seeds = ['', '0', '42', '2147483646', '-1', '3.5', '1e+21', 'hello world', 'Ünïcødé \u{1F600}'];
    for (const seed of seeds) {
      const ours = alea(seed);
      const ref = seedrandom.alea(seed);
      let mismatch = -1;
      for (let i = 0; i < 1000 && mismatch < 0; i++) {
        if (!Object.is(ours(), ref())) mismatch = i;
      }
      t.equal(mismatch, -1, `alea(${JSON.stringify(seed)}) matches seedrandom`);
    }
  },
);

t.test('glorotUniform is bit-identical to tfjs', async (t) => {
  const shapes: Shape2D[] = [...SMALL_SHAPES, [64, 64], [130, 70], [70, 130], [1, 1200]];
  const bigShapes: Shape2D[] = [
    [128, 128],
    [300, 300],
  ];
  const cases: Array<[number, Shape2D]> = [
    ...ALL_SEEDS.flatMap((seed) => shapes.map((shape): [number, Shape2D] => [seed, shape])),
    ...[0, 42, 2147483646, -1].flatMap((seed) => bigShapes.map((shape): [number, Shape2D] => [seed, shape])),
  ];
  for (const [seed, shape] of cases) {
    const diff = bitDiff(glorotUniform(seed, shape), tfGlorotUniform(seed, shape));
    if (diff !== null) t.fail(`glorotUniform(${seed}, [${shape}]): ${diff}`);
    else t.pass(`glorotUniform(${seed}, [${shape}])`);
  }
});

t.test('orthogonal is bit-identical to tfjs: small shapes, many seeds', async (t) => {
  for (const seed of ORTHO_SEEDS) {
    for (const shape of SMALL_SHAPES) {
      const diff = bitDiff(orthogonal(seed, shape), tfOrthogonal(seed, shape));
      if (diff !== null) t.fail(`orthogonal(${seed}, [${shape}]): ${diff}`);
      else t.pass(`orthogonal(${seed}, [${shape}])`);
    }
  }
});

t.test('orthogonal is bit-identical to tfjs: every hidden size 1..40', async (t) => {
  for (let h = 1; h <= 40; h++) {
    const seed = ORTHO_SEEDS[h % ORTHO_SEEDS.length];
    const diff = bitDiff(orthogonal(seed, [h, h]), tfOrthogonal(seed, [h, h]));
    if (diff !== null) t.fail(`orthogonal(${seed}, [${h},${h}]): ${diff}`);
    else t.pass(`orthogonal(${seed}, [${h},${h}])`);
  }
});

t.test('orthogonal is bit-identical to tfjs: larger shapes', async (t) => {
  // Sizes around the CPU matMul block size (48) and its multiples exercise
  // the per-block float32 accumulation; the rest cover the brief's shapes.
  // The tfjs side dominates the run time (~7 s for [256, 256] alone), so the
  // seeds here are few; every square size 1..300 was verified offline.
  const cases: Array<[Shape2D, number[]]> = [
    [
      [47, 47],
      [1, 42],
    ],
    [
      [48, 48],
      [2, 43],
    ],
    [
      [49, 49],
      [7, 1000],
    ],
    [
      [64, 64],
      [42, 123456789, 2147483646],
    ],
    [[96, 96], [31337]],
    [[97, 97], [65521]],
    [[128, 128], [42]],
    [[130, 70], [42]],
    [[70, 130], [7]],
    [[50, 200], [99991]],
    [[200, 50], [-424242]],
    [[256, 256], [42]],
  ];
  for (const [shape, seeds] of cases) {
    for (const seed of seeds) {
      const diff = bitDiff(orthogonal(seed, shape), tfOrthogonal(seed, shape));
      if (diff !== null) t.fail(`orthogonal(${seed}, [${shape}]): ${diff}`);
      else t.pass(`orthogonal(${seed}, [${shape}])`);
    }
  }
});

t.test('seed 0', async (t) => {
  // glorotUniform: tfjs's UniformRandom only treats null/undefined as
  // "unseeded", so 0 is a real seed and must match.
  t.equal(bitDiff(glorotUniform(0, [5, 3]), tfGlorotUniform(0, [5, 3])), null, 'glorotUniform(0) matches tfjs');

  // orthogonal: tfjs's MPRandGauss uses `seed ? seed : Math.random()`, so
  // seed 0 is unseeded in tfjs. If this ever starts failing, tfjs changed and
  // orthogonal(0) should be made to match it.
  const a = tfOrthogonal(0, [6, 6]);
  const b = tfOrthogonal(0, [6, 6]);
  t.not(bitDiff(a, b), null, 'tfjs orthogonal({seed: 0}) is not deterministic');

  // Ours is deterministic (alea("0")) and still orthogonal.
  const q = orthogonal(0, [6, 6]);
  t.equal(bitDiff(q, orthogonal(0, [6, 6])), null, 'our orthogonal(0) is deterministic');
  let maxErr = 0;
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      let dot = 0;
      for (let k = 0; k < 6; k++) dot += q[k * 6 + i] * q[k * 6 + j];
      maxErr = Math.max(maxErr, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  t.ok(maxErr < 1e-5, `orthogonal(0) has orthonormal columns (max error ${maxErr})`);
});

t.test('helpers', async (t) => {
  // Normals are the values tfjs's randomNormal produces for the same seed.
  const ref = tf.tidy(() => tf.randomNormal([9, 11], 0, 1, 'float32', 42).dataSync() as Float32Array);
  t.equal(bitDiff(marsagliaNormals('42', 99), ref), null, 'marsagliaNormals matches tf.randomNormal');

  // QR matches tf.linalg.qr for a wide matrix too (m < n: Q is [m, m]).
  const x = marsagliaNormals('7', 5 * 9);
  const [tq, tr] = tf.tidy(() => tf.linalg.qr(tf.tensor2d(x, [5, 9])).map((r) => r.dataSync() as Float32Array));
  const { q, r } = householderQr(x, 5, 9);
  t.equal(bitDiff(q, tq), null, 'Q of a [5, 9] matrix matches tf.linalg.qr');
  t.equal(bitDiff(r, tr), null, 'R of a [5, 9] matrix matches tf.linalg.qr');
});

t.test('input validation', async (t) => {
  t.throws(() => glorotUniform(1, [0, 3]), RangeError);
  t.throws(() => glorotUniform(1, [2.5, 3]), RangeError);
  t.throws(() => orthogonal(1, [3, -1]), RangeError);
  t.throws(() => orthogonal(Number.NaN, [3, 3]), RangeError);
  t.throws(() => glorotUniform(Number.POSITIVE_INFINITY, [3, 3]), RangeError);
  t.throws(() => householderQr(new Float32Array(5), 2, 3), RangeError);
});
