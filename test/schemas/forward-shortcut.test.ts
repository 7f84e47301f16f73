/**
 * The validation shortcuts (POST /rnn/forward, and a served model's body) against zod, over generated bodies: it must
 * return exactly zod's
 * output or null, never accept what zod rejects, and accept every body zod accepts that uses only the
 * fields it covers (so it is not a shortcut that is never taken).
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { ForwardRequest, MAX_SEED } from '../../schemas/forward.js';
import { parseCommonForwardRequest, parseCommonModelForwardRequest } from '../../schemas/forward-shortcut.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import { rng } from '../helpers/random.js';

const COVERED = new Set([
  'inputs',
  'hiddenSize',
  'seed',
  'activation',
  'useBias',
  'goBackwards',
  'clip',
  'outputFormat',
  'zeroOutputForMask',
  'returnSequences',
  'returnState',
]);
const HELLO = {
  inputs: [
    [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ],
  ],
  hiddenSize: 2,
  seed: 42,
};

/** Values that sit on or next to a boundary of some field. */
const ODD: unknown[] = [
  0,
  -0,
  1,
  -1,
  2,
  0.5,
  1.5,
  -2.5,
  1e-45,
  3.4e38,
  1e300,
  Infinity,
  -Infinity,
  NaN,
  2 ** 53 - 1,
  2 ** 53,
  MAX_SEED,
  MAX_SEED + 1,
  '',
  '1',
  'tanh',
  'relu',
  'linear',
  'TANH',
  'nested',
  'flat',
  'Flat',
  true,
  false,
  null,
  undefined,
  [],
  [1],
  [[1]],
  [[[1]]],
  {},
  { shape: [1, 1, 1], data: [1] },
  { shape: [1, 1, 1] },
  { shape: [1, 1, 1], data: [1], extra: 1 },
  { shape: [-1], data: [] },
  { shape: [1.5], data: [] },
  { shape: [], data: [] },
  { data: [1], shape: [1, 1, 1] },
];

function validValue(key: string, random: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const int = (n: number) => Math.floor(random() * n);
  switch (key) {
    case 'inputs': {
      const [b, tt, f] = [int(3), 1 + int(3), 1 + int(3)];
      if (random() < 0.3)
        return { shape: [b, tt, f], data: Array.from({ length: b * tt * f }, () => random() * 4 - 2) };
      // Ragged batches and empty ones are valid for the schema (the route checks them later).
      return Array.from({ length: b }, () =>
        Array.from({ length: random() < 0.2 ? int(3) : tt }, () =>
          Array.from({ length: f }, () => pick([0, 1, random() - 0.5, -3e38])),
        ),
      );
    }
    case 'hiddenSize':
      return pick([1, 2, 64, 2 ** 53 - 1]);
    case 'seed':
      return pick([0, 1, 42, MAX_SEED]);
    case 'activation':
      return pick([
        'tanh',
        'relu',
        'sigmoid',
        'linear',
        'elu',
        'softsign',
        'hardSigmoid',
        'selu',
        'softplus',
        'swish',
        'mish',
        'relu6',
      ]);
    case 'clip':
      return pick([1e-45, 0.5, 3, 1e300]);
    case 'outputFormat':
      return pick(['nested', 'flat']);
    case 'text':
      return pick([['hello'], [['h', 'e']]]);
    case 'lengths':
      return [1];
    case 'mask':
      return [[true]];
    case 'layers':
      return [{ hiddenSize: 2 }];
    case 'bidirectional':
      return {};
    case 'stateLayout':
      return pick(['keras', 'pytorch']);
    case 'topK':
      return pick([1, 3]);
    case 'cell':
      return pick(['simpleRNN', 'lstm', 'gru']);
    case 'recurrentActivation':
      return pick(['sigmoid', 'hardSigmoid']);
    case 'initialCellState':
      return [[0.5]];
    default:
      return random() < 0.5;
  }
}

/** A copy of `value` with one number deep inside replaced by `odd` (or the array itself, at depth 0). */
function corrupt(value: unknown, odd: unknown, random: () => number): unknown {
  if (!Array.isArray(value) || value.length === 0) return odd;
  const copy = [...value];
  const i = Math.floor(random() * copy.length);
  copy[i] = random() < 0.25 ? odd : corrupt(copy[i], odd, random);
  return copy;
}

/** Fields of the LSTM and GRU cells: rarer still, so that enough bodies stay the shortcut's. */
const CELL_FIELDS: ReadonlySet<string> = new Set([
  'cell',
  'recurrentActivation',
  'unitForgetBias',
  'resetAfter',
  'initialCellState',
]);

/** A body with some of `common` (often) and of the other fields (rarely), about half of them broken somewhere. */
function generate(random: () => number, common: ReadonlySet<string>): unknown {
  const roll = random();
  if (roll < 0.02) return [null, [], 'body', 7, true][Math.floor(random() * 5)];
  const keys = [
    ...COVERED,
    'text',
    'vocabulary',
    'lengths',
    'mask',
    'layers',
    'bidirectional',
    'initialState',
    'stateLayout',
    'topK',
    'weights',
    // The cells' fields: not covered, so a body with any of them goes to zod.
    'cell',
    'recurrentActivation',
    'unitForgetBias',
    'resetAfter',
    'initialCellState',
    'bogus',
  ];
  const body: Record<string, unknown> = {};
  if (random() < 0.9) body.inputs = validValue('inputs', random);
  for (const key of keys)
    if (key !== 'inputs' && random() < (common.has(key) ? 0.35 : CELL_FIELDS.has(key) ? 0.015 : 0.04))
      body[key] = validValue(key, random);
  // Break roughly half of them somewhere.
  if (random() < 0.5) {
    const present = Object.keys(body);
    const key = present.length > 0 && random() < 0.8 ? present[Math.floor(random() * present.length)] : 'inputs';
    const odd = ODD[Math.floor(random() * ODD.length)];
    const current = body[key];
    if (
      key === 'inputs' &&
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current) &&
      random() < 0.7
    ) {
      const flat = current as { shape: number[]; data: number[] };
      body.inputs =
        random() < 0.5
          ? { ...flat, data: corrupt(flat.data, odd, random) }
          : { ...flat, shape: corrupt(flat.shape, odd, random) };
    } else {
      body[key] = key === 'inputs' ? corrupt(current, odd, random) : odd;
    }
  }
  return body;
}

const SCHEMAS = [
  { name: 'ForwardRequest', schema: ForwardRequest, shortcut: parseCommonForwardRequest, seed: 20261129 },
  {
    name: 'ModelForwardRequest',
    schema: ModelForwardRequest,
    shortcut: parseCommonModelForwardRequest,
    seed: 20261130,
  },
];

for (const { name, schema, shortcut: parseCommon, seed } of SCHEMAS) {
  t.test(`${name}: the shortcut returns zod's output or null, and null only for what it does not cover`, async (t) => {
    const random = rng(seed);
    const covered = new Set([...COVERED].filter((key) => key in schema.shape));
    const mismatches: string[] = [];
    let accepted = 0;
    let rejectedByZod = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      // Served-model bodies: mostly the fields that schema has, so that the shortcut is exercised.
      const body = generate(random, name === 'ModelForwardRequest' ? covered : COVERED);
      const shortcut = parseCommon(body);
      const zod = schema.safeParse(body);
      if (!zod.success) rejectedByZod++;
      if (shortcut !== null) {
        accepted++;
        if (!zod.success)
          mismatches.push(`accepted what zod rejects: ${JSON.stringify(body)} (${zod.error.issues[0].message})`);
        else if (!isDeepStrictEqual(shortcut, zod.data)) mismatches.push(`differs from zod: ${JSON.stringify(body)}`);
      } else if (zod.success) {
        // JSON has no undefined: a key set to undefined is left to zod (which keeps it, as undefined).
        const plain = typeof body === 'object' && body !== null && !Array.isArray(body);
        const takes =
          plain &&
          Object.entries(body).every(([key, value]) => covered.has(key) && value !== undefined) &&
          'inputs' in body;
        if (takes) mismatches.push(`left to zod although covered: ${JSON.stringify(body)}`);
      }
    }
    t.same(mismatches.slice(0, 5), [], `no mismatches over ${N} bodies (${mismatches.length} found)`);
    t.ok(accepted > N / 5, `the shortcut took ${accepted} of ${N}`);
    t.ok(rejectedByZod > N / 5, `zod rejected ${rejectedByZod} of ${N}`);
  });
}

t.test("a body with a cell's field is left to zod, which keeps it", async (t) => {
  for (const extra of [
    { cell: 'lstm' },
    { cell: 'simpleRNN' },
    { cell: 'gru', resetAfter: false },
    { cell: 'lstm', unitForgetBias: false, recurrentActivation: 'hardSigmoid' },
    { cell: 'lstm', initialCellState: [[0]] },
  ]) {
    const body = { ...HELLO, ...extra };
    t.equal(parseCommonForwardRequest(body), null, `${JSON.stringify(extra)}: not the shortcut's`);
    t.match(ForwardRequest.parse(body), extra, `${JSON.stringify(extra)}: zod keeps it`);
  }
});

t.test("common bodies take the shortcut, with zod's defaults", async (t) => {
  t.strictSame(parseCommonForwardRequest(HELLO), {
    ...HELLO,
    zeroOutputForMask: false,
    returnSequences: true,
    returnState: true,
    outputFormat: 'nested',
  });
  const flat = {
    inputs: { shape: [1, 2, 1], data: [0.5, -1] },
    hiddenSize: 3,
    activation: 'relu',
    outputFormat: 'flat',
    returnState: false,
  };
  t.strictSame(parseCommonForwardRequest(flat), ForwardRequest.parse(flat));
});

t.test('bodies parsed from JSON with poisoned or unknown keys go to zod', async (t) => {
  for (const text of [
    '{"inputs":[[[1]]],"hiddenSize":1,"__proto__":{"x":1}}',
    '{"inputs":[[[1]]],"hiddenSize":1,"constructor":{}}',
    '{"inputs":{"shape":[1,1,1],"data":[1],"__proto__":{}},"hiddenSize":1}',
    '{"inputs":[[[1]]],"hiddenSize":1,"hiddensize":2}',
    '{"inputs":[[[1]]],"hiddenSize":1,"seed":1e999}',
    '{"inputs":[[[1e999]]],"hiddenSize":1}',
  ]) {
    t.equal(parseCommonForwardRequest(JSON.parse(text)), null, text);
  }
  t.equal(
    parseCommonForwardRequest(Object.assign(Object.create({ inherited: 1 }), HELLO)),
    null,
    'an object with another prototype',
  );
});
