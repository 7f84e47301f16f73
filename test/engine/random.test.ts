/**
 * random.ts reproduces the Alea generator of seedrandom 3.0.5, which tfjs seeds its initializers with. Held to
 * golden outputs of seedrandom 3.0.5's `alea(seed)` (its README's `alea('hello.')` among them; the package itself
 * is compared over 1000 outputs in test/engine/initializers.test.ts), including the empty seed and a seed outside
 * the BMP (hashed by UTF-16 code unit), and to outputs in [0, 1), reproducible per seed.
 */
import t from 'tap';
import { alea } from '../../src/engine/random.js';

const GOLDEN: Record<string, number[]> = {
  '42': [0.6848634963389486, 0.5463244677521288, 0.8455933185759932],
  'hello.': [0.4783254903741181, 0.8297006865032017, 0.46924330526962876],
  '': [0.1666577742435038, 0.4869158477522433, 0.00011322717182338238],
  '😀': [0.08367577847093344, 0.13937416090629995, 0.7861181884072721],
};

t.test("seedrandom 3.0.5's outputs, exactly", async (t) => {
  for (const [seed, expected] of Object.entries(GOLDEN)) {
    const next = alea(seed);
    t.same([next(), next(), next()], expected, JSON.stringify(seed));
  }
});

t.test('in [0, 1), the same sequence per seed, another for another seed', async (t) => {
  const a = alea('7');
  const b = alea('7');
  const c = alea('8');
  let inRange = true;
  let same = true;
  let differs = false;
  for (let i = 0; i < 10000; i++) {
    const x = a();
    inRange &&= x >= 0 && x < 1;
    same &&= x === b();
    differs ||= x !== c();
  }
  t.ok(inRange);
  t.ok(same);
  t.ok(differs);
});
