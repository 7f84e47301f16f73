/**
 * float-format.ts writes a float32 as its shortest decimal that reads back as the same float32. Held to values
 * worked out (0.1 as float32 is 0.1, not 0.10000000149011612), the extremes of float32 (the slow path), every
 * float32 of a seeded sample reading back exactly with no shorter text that would, and decimalExponent against
 * Math.log10.
 */
import t from 'tap';
import { POW10, decimalExponent, float32Text } from '../../src/codec/float-format.js';

const f = Math.fround;

t.test('known values', async (t) => {
  t.equal(float32Text(f(0.1)), '0.1');
  t.equal(float32Text(f(-2.5)), '-2.5');
  t.equal(float32Text(f(1 / 3)), '0.33333334');
  t.equal(float32Text(f(16777217)), '16777216', 'float32 cannot hold 2^24 + 1');
  t.equal(float32Text(0), '0');
  t.equal(float32Text(-0), '0');
  t.equal(float32Text(f(3.4028234663852886e38)), '3.4028235e+38', 'the largest float32, by the slow path');
  t.equal(float32Text(f(1e-45)), '1e-45', 'the smallest subnormal');
  t.equal(float32Text(f(1.17549435e-38)), '1.1754944e-38');
  t.equal(float32Text(Infinity), 'Infinity', 'no JSON text: callers refuse it first');
  t.equal(POW10[22], 1e22);
  t.equal(POW10.length, 23);
});

t.test('every value of a sample reads back, and no shorter text would', async (t) => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const bits = new Uint32Array(1);
  const floats = new Float32Array(bits.buffer);
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    bits[0] = Math.floor(random() * 2 ** 32);
    const x = floats[0];
    if (!Number.isFinite(x) || x === 0) continue;
    const text = float32Text(x);
    if (f(Number(text)) !== x) t.fail(`${x}: ${text} does not read back`);
    const digits = text
      .replace(/^-/, '')
      .replace(/e.*$/, '')
      .replace('.', '')
      .replace(/^0+/, '')
      .replace(/0+$/, '').length;
    if (digits > 1 && f(Number(x.toPrecision(digits - 1))) === x) t.fail(`${x}: ${text} is not the shortest`);
    checked++;
  }
  t.ok(checked > 4700, `${checked} float32 values written shortest and read back`);
});

t.test('decimalExponent: 10^e <= a < 10^(e+1)', async (t) => {
  for (const a of [1, 9.999, 10, 0.1, f(0.1), 123456, 1e-30, f(3.4e38), f(1e-45)])
    t.equal(decimalExponent(a), Math.floor(Math.log10(a)), `${a}`);
  t.equal(decimalExponent(1000), 3);
  t.equal(decimalExponent(999.9999), 2);
});
