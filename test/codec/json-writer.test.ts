/**
 * The float32 text of every answer, held to a naive reference: the fewest significant digits (1 to 9,
 * tried in order with toPrecision) that read back through Math.fround as the same float32, in
 * JSON.stringify's notation. The JSON writer (bytes) and float32Text / shortestFloat32 must all equal it.
 */
import t from 'tap';
import { decimalExponent, float32Text } from '../../src/codec/float-format.js';
import { JsonWriter, prepareText } from '../../src/codec/json-writer.js';
import { nested, shortestFloat32 } from '../../src/codec/tensors.js';
import { rng } from '../helpers/random.js';

function referenceText(x: number): string {
  if (x === 0) return '0';
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(x.toPrecision(p));
    if (Math.fround(candidate) === x) return JSON.stringify(candidate);
  }
  throw new Error(`no 9-digit decimal reads back as ${x}`);
}

function writerText(x: number): string {
  const writer = new JsonWriter(16);
  writer.float32(x);
  return writer.toString();
}

const EDGES = [
  1, 0.1, 0.5, 100, 65504, 16777216, 16777217, 123456789, 1e-6, 1e-7, 9.999999e-5, 1e-10, 1e10, 1e20, 1e21, 1e22, 1e23,
  1e38, 3.4028234663852886e38, 1.17549435e-38, 1.4e-45, 0.35375288, -0.8389222,
].flatMap((v) => [Math.fround(v), -Math.fround(v)]);

t.test('edge values: writer, float32Text and shortestFloat32 equal the reference', async (t) => {
  for (const x of EDGES) {
    const expected = referenceText(x);
    t.equal(writerText(x), expected, `writer ${x}`);
    t.equal(String(Number(float32Text(x))), expected, `float32Text ${x}`);
    t.equal(JSON.stringify(shortestFloat32(x)), expected, `shortestFloat32 ${x}`);
  }
  t.equal(writerText(0), '0');
  t.equal(writerText(-0), '0', 'negative zero is written as JSON writes it');
});

t.test(
  'decimalExponent: next to every power of ten a float32 reaches, the exponent of the exact decimal',
  async (t) => {
    const bits = new Uint32Array(1);
    const value = new Float32Array(bits.buffer);
    let checked = 0;
    const wrong: string[] = [];
    const check = (x: number) => {
      // toExponential's digits identify the double uniquely, so its exponent is that of the exact value.
      const expected = Number(x.toExponential().split('e')[1]);
      checked++;
      if (decimalExponent(x) !== expected) wrong.push(`${x}: ${decimalExponent(x)}, expected ${expected}`);
    };
    for (let e = -46; e <= 39; e++) {
      value[0] = 10 ** e;
      const near = bits[0];
      for (let d = -4; d <= 4; d++) {
        bits[0] = near + d;
        if (value[0] > 0 && Number.isFinite(value[0])) check(value[0]);
      }
    }
    for (const pattern of [1, 2, 0x007fffff, 0x00800000, 0x7f7fffff]) {
      bits[0] = pattern; // the smallest subnormals, the largest subnormal, the smallest normal, the largest float32
      check(value[0]);
    }
    t.same(wrong, [], `${checked} values checked`);
  },
);

t.test('200,000 random float32 bit patterns: the writer equals the reference', async (t) => {
  const random = rng(2026);
  const bits = new Uint32Array(1);
  const value = new Float32Array(bits.buffer);
  let checked = 0;
  let wrong = 0;
  for (let i = 0; i < 200_000; i++) {
    bits[0] = Math.floor(random() * 2 ** 32);
    const x = value[0];
    if (!Number.isFinite(x)) continue;
    checked++;
    const expected = referenceText(x);
    if (writerText(x) !== expected || JSON.stringify(shortestFloat32(x)) !== expected) {
      if (wrong++ < 5) t.fail(`${x}: writer ${writerText(x)}, shortest ${shortestFloat32(x)}, expected ${expected}`);
    }
  }
  t.equal(wrong, 0, `${checked} finite values checked`);
});

t.test('nested and flat tensors: the same text as JSON.stringify of the nested decimals', async (t) => {
  const data = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 10 ** ((i % 7) - 3)));
  const shape = [2, 3, 4];
  const asNested = JSON.stringify(nested(data, shape));
  t.equal(new JsonWriter(8).nested(data, shape).toString(), asNested);
  t.equal(new JsonWriter(8).flat(data, shape).toString(), JSON.stringify({ shape, data: nested(data, [24]) }));
});

t.test('nested tensors of every rank and size, empty dimensions included, match JSON.stringify', async (t) => {
  const shapes = [
    [],
    [0],
    [1],
    [5],
    [1, 1],
    [2, 3],
    [3, 0],
    [0, 3],
    [1, 5, 2],
    [2, 1, 3],
    [2, 3, 0],
    [3, 2, 2, 2],
    [1, 1, 1, 1],
    [2, 0, 2, 2],
  ];
  for (const shape of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: shape.length === 0 ? 0 : size }, (_, i) =>
      Math.fround(Math.sin(i + 1) * 10 ** ((i % 9) - 4)),
    );
    const expected = shape.length === 0 ? '[]' : JSON.stringify(nested(data, shape));
    t.equal(new JsonWriter(8).nested(data, shape).toString(), expected, `[${shape}]`);
    t.equal(
      new JsonWriter(8).flat(data, shape).toString(),
      JSON.stringify({ shape, data: Array.from(data, shortestFloat32) }),
      `flat [${shape}]`,
    );
  }
});

t.test('integers and shapes as JSON.stringify writes them; text that is not ASCII survives', async (t) => {
  for (const n of [0, 7, 10, 99, 100, 2147483646, 2 ** 53 - 1])
    t.equal(new JsonWriter(8).int(n).toString(), JSON.stringify(n));
  t.equal(new JsonWriter(8).ints([16, 100, 64]).toString(), '[16,100,64]');
  t.equal(new JsonWriter(8).ints([]).toString(), '[]');
  const text = new JsonWriter(8).raw('{"vocabulary":["h","é","😀"],"x":').ints([1]).raw('}').toString();
  t.same(JSON.parse(text), { vocabulary: ['h', 'é', '😀'], x: [1] });
});

t.test('prepared text: ASCII as bytes, other text as it is, both written as raw writes them', async (t) => {
  const ascii = '{"inputDim":4,"layers":[{"activation":"tanh","clip":null}]}';
  const prepared = prepareText(ascii);
  t.ok(prepared instanceof Uint8Array, 'ASCII text is kept as its bytes');
  const other = prepareText('{"token":"é😀"}');
  t.equal(typeof other, 'string', 'other text stays text');
  for (const [text, p] of [
    [ascii, prepared],
    ['{"token":"é😀"}', other],
  ] as const) {
    // After a long prefix, so the copy must grow the buffer, and in the middle of other output.
    const expected = new JsonWriter(8).raw('['.repeat(40)).raw(text).int(5).toString();
    t.equal(new JsonWriter(8).raw('['.repeat(40)).prepared(p).int(5).toString(), expected);
  }
});
