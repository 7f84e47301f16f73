/**
 * HTTP fuzzing (fast-check, fixed seed): random JSON bodies, mutations of valid requests at every path,
 * and hand-written raw bodies (duplicate keys, 10,000-deep nesting, lone surrogates, 100k-element arrays).
 * Every answer must be 2xx, or 4xx problem+json whose `errors` have string paths; never 5xx. Afterwards
 * the app must still give the exact hello answer a fresh app gives.
 *
 * Reproduce a failure: fast-check prints `{ seed, path }`; rerun with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>
 * to replay just the counterexample). FUZZ_RUNS=<factor> scales every run count (default 1).
 */
import t from 'tap';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ACTIVATION_NAMES } from '../../src/engine/activations.js';
import { MERGE_MODES } from '../../src/engine/network.js';
import { build, HELLO } from '../helpers/build.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const PATH = process.env.FUZZ_PATH;
const FACTOR = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * FACTOR));
const params = (numRuns: number): fc.Parameters<unknown> => ({
  seed: SEED,
  numRuns: runs(numRuns),
  ...(PATH === undefined ? {} : { path: PATH }),
  endOnFailure: false,
  interruptAfterTimeLimit: 40_000,
  markInterruptAsFailure: false,
});

/**
 * Load shedding off: a busy test machine must not turn into 503s here (shedding has its own tests). A
 * smaller MAX_HIDDEN_SIZE: a random valid hiddenSize near 1024 costs seconds of orthogonal initialisation
 * (see docs/reliability.md#what-the-tests-send), which would only make the run slow, not find more.
 */
const QUIET = { overload: { maxEventLoopDelayMs: 0 }, limits: { maxHiddenSize: 64 } } as const;

/** Counts of what was sent and what came back, for the summary (docs/reliability.md#what-the-tests-send). */
const tally = new Map<string, Map<number, number>>();
function record(group: string, status: number): void {
  const counts = tally.get(group) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  tally.set(group, counts);
}

/** Why this answer breaks the contract, or null when it keeps it. */
export function contractViolation(res: LightMyRequestResponse): string | null {
  const status = res.statusCode;
  if (status >= 500) return `status ${status}`;
  if (status >= 200 && status < 300) {
    if (!/^application\/json/.test(String(res.headers['content-type'])))
      return `2xx with content-type ${res.headers['content-type']}`;
    try {
      JSON.parse(res.body);
    } catch {
      return '2xx body is not JSON';
    }
    return null;
  }
  if (status < 400) return `unexpected status ${status}`;
  if (!/^application\/problem\+json/.test(String(res.headers['content-type'])))
    return `4xx with content-type ${res.headers['content-type']}`;
  let body: { status?: unknown; type?: unknown; detail?: unknown; errors?: unknown };
  try {
    body = JSON.parse(res.body);
  } catch {
    return '4xx body is not JSON';
  }
  if (body.status !== status) return `problem status ${String(body.status)} != ${status}`;
  if (typeof body.type !== 'string' || typeof body.detail !== 'string') return 'problem without type/detail';
  if (/at .*\.(ts|js):\d+/.test(res.body)) return 'stack trace in the answer';
  if (body.errors !== undefined) {
    if (!Array.isArray(body.errors) || body.errors.length === 0) return 'errors is not a non-empty array';
    for (const e of body.errors as { path?: unknown; message?: unknown }[]) {
      if (typeof e.path !== 'string' || e.path === '' || typeof e.message !== 'string')
        return `bad error entry ${JSON.stringify(e)}`;
    }
  }
  return null;
}

async function send(
  app: FastifyInstance,
  url: string,
  group: string,
  payload: string | Buffer,
): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
  record(group, res.statusCode);
  const violation = contractViolation(res);
  if (violation !== null) {
    const sent = typeof payload === 'string' ? payload : payload.toString('latin1');
    throw new Error(
      `${violation}\n  sent (${sent.length} chars): ${sent.slice(0, 400)}\n  got: ${res.body.slice(0, 400)}`,
    );
  }
  return res;
}

// ---- valid requests, small enough to be cheap, covering the options

const value = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
function tensor(g: fc.GeneratorValue, shape: readonly number[]): unknown {
  if (shape.length === 0) return g(() => value);
  return Array.from({ length: shape[0] }, () => tensor(g, shape.slice(1)));
}

/** A valid POST /rnn/forward body (the generator follows every documented rule). */
export const validForward = fc.gen().map((g) => {
  const batch = g(fc.integer, { min: 1, max: 3 });
  const time = g(fc.integer, { min: 1, max: 4 });
  const source = g(fc.constantFrom, 'nested', 'flat', 'text');
  const features = source === 'text' ? 4 : g(fc.integer, { min: 1, max: 3 });
  const body: Record<string, unknown> = {};
  if (source === 'text') {
    const word = fc.string({ unit: fc.constantFrom('h', 'e', 'l', 'o'), minLength: time, maxLength: time });
    body.text = Array.from({ length: batch }, () => g(() => word));
    body.vocabulary = 'helo';
  } else if (source === 'nested') body.inputs = tensor(g, [batch, time, features]);
  else body.inputs = { shape: [batch, time, features], data: tensor(g, [batch * time * features]) };

  const bidirectional = g(fc.boolean);
  const mergeMode = bidirectional ? g(fc.constantFrom, ...MERGE_MODES, null) : undefined;
  if (bidirectional) body.bidirectional = g(fc.boolean) && mergeMode === 'concat' ? {} : { mergeMode };
  const directions = bidirectional ? 2 : 1;
  const kind = g(fc.constantFrom, 'seeded', 'layers', 'keras', 'pytorch');
  const hidden = g(fc.integer, { min: 1, max: 3 });
  const activation = g(fc.constantFrom, ...ACTIVATION_NAMES);
  let stateSizes = [hidden];
  if (kind === 'seeded') {
    body.hiddenSize = hidden;
    if (g(fc.boolean)) body.seed = g(fc.integer, { min: 0, max: 2_147_483_646 });
    if (g(fc.boolean)) body.activation = activation;
    if (g(fc.boolean)) body.useBias = g(fc.boolean);
    if (!bidirectional && g(fc.boolean)) body.goBackwards = g(fc.boolean);
    if (g(fc.boolean)) body.clip = g(fc.constantFrom, 0.5, 1, 3, 1e30);
  } else if (kind === 'layers') {
    const count = mergeMode === null && bidirectional ? 1 : g(fc.integer, { min: 1, max: 3 });
    const layers = Array.from({ length: count }, () => {
      const layer: Record<string, unknown> = { hiddenSize: g(fc.integer, { min: 1, max: 3 }) };
      if (g(fc.boolean)) layer.activation = g(fc.constantFrom, ...ACTIVATION_NAMES);
      if (g(fc.boolean)) layer.useBias = g(fc.boolean);
      if (!bidirectional && g(fc.boolean)) layer.goBackwards = true;
      if (g(fc.boolean)) layer.clip = 2;
      return layer;
    });
    body.layers = layers;
    stateSizes = layers.map((l) => l.hiddenSize as number);
    if (g(fc.boolean)) body.seed = g(fc.integer, { min: 0, max: 1000 });
  } else if (kind === 'keras') {
    const cells = Array.from({ length: directions }, () => ({
      kernel: tensor(g, [features, hidden]),
      recurrentKernel: tensor(g, [hidden, hidden]),
      bias: tensor(g, [hidden]),
    }));
    body.weights = directions === 1 && g(fc.boolean) ? cells[0] : cells;
    if (g(fc.boolean)) body.activation = activation;
  } else {
    const dict: Record<string, unknown> = {};
    const withBias = g(fc.boolean);
    for (let d = 0; d < directions; d++) {
      const suffix = d === 1 ? '_reverse' : '';
      dict[`weight_ih_l0${suffix}`] = tensor(g, [hidden, features]);
      dict[`weight_hh_l0${suffix}`] = tensor(g, [hidden, hidden]);
      // nn.RNN(bias=False) saves no biases: useBias then defaults to false.
      if (withBias) {
        dict[`bias_ih_l0${suffix}`] = tensor(g, [hidden]);
        dict[`bias_hh_l0${suffix}`] = tensor(g, [hidden]);
      }
    }
    body.pytorchWeights = dict;
  }
  // Masking: text batches of equal length are not ragged, so every source may take lengths or a mask.
  const masking = g(fc.constantFrom, 'none', 'lengths', 'mask');
  if (masking === 'lengths') body.lengths = Array.from({ length: batch }, () => g(fc.integer, { min: 0, max: time }));
  if (masking === 'mask')
    body.mask = Array.from({ length: batch }, () => Array.from({ length: time }, () => g(fc.boolean)));
  if (g(fc.boolean)) {
    const states = stateSizes.flatMap((h) => Array.from({ length: directions }, () => tensor(g, [batch, h])));
    // A single state as [batch, hidden], or as PyTorch's h0 [1, batch, hidden].
    body.initialState = states.length === 1 && g(fc.boolean) ? states[0] : states;
  }
  // PyTorch's h_n needs one hidden size throughout; topK one sequence of outputs, K at most their features (≥ 1).
  const oneSize = stateSizes.every((h) => h === stateSizes[0]);
  if (g(fc.boolean)) body.stateLayout = oneSize ? g(fc.constantFrom, 'keras', 'pytorch') : 'keras';
  if (mergeMode !== null && g(fc.boolean)) body.topK = 1;
  for (const flag of ['zeroOutputForMask', 'returnSequences', 'returnState'] as const)
    if (g(fc.boolean)) body[flag] = g(fc.boolean);
  if (g(fc.boolean)) body.outputFormat = g(fc.constantFrom, 'nested', 'flat');
  return body;
});

/** A valid POST /rnn/weights body. */
const validWeights = fc.gen().map((g) => {
  const body: Record<string, unknown> = { inputDim: g(fc.integer, { min: 1, max: 4 }) };
  const bidirectional = g(fc.boolean);
  if (bidirectional) body.bidirectional = { mergeMode: g(fc.constantFrom, ...MERGE_MODES) };
  if (g(fc.boolean))
    body.layers = Array.from({ length: g(fc.integer, { min: 1, max: 3 }) }, () => ({
      hiddenSize: g(fc.integer, { min: 1, max: 3 }),
    }));
  else body.hiddenSize = g(fc.integer, { min: 1, max: 3 });
  if (g(fc.boolean)) body.seed = g(fc.integer, { min: 0, max: 2_147_483_646 });
  if (g(fc.boolean) && body.hiddenSize !== undefined) body.useBias = g(fc.boolean);
  return body;
});

// ---- mutations

const LONG_ARRAY = new Array<number>(100_000).fill(0.5);
const LONG_STRING = 'h'.repeat(100_000);
/** An object with an own `__proto__` key, which JSON.stringify writes out as such. */
const PROTO = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
const CONSTRUCTOR = JSON.parse('{"constructor": {"prototype": {"polluted": true}}}') as unknown;

const smallWeird = fc.constantFrom<unknown>(
  null,
  true,
  false,
  '',
  '1',
  '0.5',
  'x',
  '\ud800',
  '\udfff',
  '😀',
  'é\u0000',
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  2 ** 31,
  2 ** 53,
  1e6,
  1e308,
  -1e308,
  5e-324,
  -5e-324,
  3.5e38,
  -3.5e38,
  {},
  [],
  [[]],
  [[[]]],
  [null],
  [0.5],
  [[0.5]],
  ['a'],
  [true],
  PROTO,
  CONSTRUCTOR,
);
const weirdValue = fc.oneof(
  { weight: 12, arbitrary: smallWeird },
  // Long arrays cost ~400 kB of JSON each: sent often enough to matter, rarely enough to stay fast.
  { weight: 1, arbitrary: fc.constantFrom<unknown>(LONG_ARRAY, [LONG_ARRAY], LONG_STRING) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const weirdKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'hidden_size',
  'inputs ',
  '',
  '😀',
  '\ud800',
  'a\u0000b',
  'valueOf',
);

type Segment = string | number;
function pathsOf(value: unknown, base: Segment[] = [], out: Segment[][] = []): Segment[][] {
  out.push(base);
  // Long arrays of numbers: their elements are all alike, one of them stands for the rest.
  if (Array.isArray(value)) value.slice(0, 8).forEach((item, i) => pathsOf(item, [...base, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...base, k], out);
  return out;
}

/** A deep copy with one change at `path`: replace the value, delete it, or add a key beside it. */
function mutate(
  body: unknown,
  path: Segment[],
  kind: 'replace' | 'delete' | 'extra',
  replacement: unknown,
  key: string,
): unknown {
  const copy = structuredClone(body);
  if (path.length === 0) return kind === 'replace' ? replacement : copy;
  let parent = copy as Record<Segment, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<Segment, unknown>;
  const last = path[path.length - 1];
  if (kind === 'replace') parent[last] = replacement;
  else if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    const holder =
      target !== null && typeof target === 'object' && !Array.isArray(target)
        ? (target as Record<string, unknown>)
        : (parent as Record<string, unknown>);
    if (Array.isArray(holder)) holder.push(replacement);
    else
      Object.defineProperty(holder, key, { value: replacement, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

const mutated = (base: fc.Arbitrary<Record<string, unknown>>) =>
  base.chain((body) => {
    const paths = pathsOf(body);
    return fc
      .record({
        path: fc.constantFrom(...paths),
        kind: fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'extra' as const),
        replacement: weirdValue,
        key: weirdKey,
      })
      .map(({ path, kind, replacement, key }) => ({
        path,
        kind,
        text: JSON.stringify(mutate(body, path, kind, replacement, key)) ?? 'null',
      }));
  });

// ---- raw bodies JSON.stringify cannot produce

const deep = (open: string, close: string, n: number, inner = '1') => open.repeat(n) + inner + close.repeat(n);
const RAW_BODIES: [string, string | Buffer][] = [
  ['duplicate keys', '{"inputs":[[[1]]],"hiddenSize":1,"hiddenSize":2}'],
  ['duplicate keys, invalid first', '{"inputs":"x","inputs":[[[1]]],"hiddenSize":1}'],
  ['duplicate __proto__', '{"inputs":[[[1]]],"hiddenSize":1,"__proto__":{},"__proto__":{"x":1}}'],
  ['nested __proto__', '{"inputs":[[[1]]],"layers":[{"hiddenSize":1,"__proto__":{"useBias":false}}]}'],
  [
    'constructor.prototype nested',
    '{"inputs":[[[1]]],"weights":{"constructor":{"prototype":{"x":1}},"kernel":[[1]],"recurrentKernel":[[1]]}}',
  ],
  ['10,000 [ unclosed', '['.repeat(10_000)],
  ['10,000 [ closed', deep('[', ']', 10_000)],
  ['10,000 [ as inputs', `{"inputs":${deep('[', ']', 10_000)},"hiddenSize":1}`],
  ['10,000 {"a": as an unknown field', `{"inputs":[[[1]]],"hiddenSize":1,"x":${deep('{"a":', '}', 10_000)}}`],
  ['10,000 [ beside a constructor key', `{"constructor":1,"x":${deep('[', ']', 10_000)}}`],
  ['100,000 [ closed', deep('[', ']', 100_000)],
  ['lone high surrogate escape in text', '{"text":["\\ud800h"],"hiddenSize":1}'],
  ['lone low surrogate escape in a key', '{"inputs":[[[1]]],"hiddenSize":1,"\\udc00":1}'],
  [
    'surrogate encoded in UTF-8 (invalid)',
    Buffer.from([...Buffer.from('{"text":["'), 0xed, 0xa0, 0x80, ...Buffer.from('"],"hiddenSize":1}')]),
  ],
  [
    'overlong UTF-8 (invalid)',
    Buffer.from([...Buffer.from('{"text":["'), 0xc0, 0xaf, ...Buffer.from('"],"hiddenSize":1}')]),
  ],
  ['truncated UTF-8 at the end', Buffer.from([...Buffer.from('{"text":["h"],"hiddenSize":1}'), 0xe2, 0x82])],
  ['emoji text and vocabulary', '{"text":["😀🙃😀","🙃"],"vocabulary":["😀","🙃"],"hiddenSize":2}'],
  ['BOM before the JSON', '\ufeff{"inputs":[[[1]]],"hiddenSize":1}'],
  ['NUL byte inside', '{"inputs":[[[1]]],"hiddenSize":1}\u0000'],
  ['1e999 (Infinity)', '{"inputs":[[[1e999]]],"hiddenSize":1}'],
  ['-1e999 as hiddenSize', '{"inputs":[[[1]]],"hiddenSize":-1e999}'],
  ['1e-999 (underflows to 0)', '{"inputs":[[[1e-999]]],"hiddenSize":1}'],
  [
    '5e-324 everywhere',
    '{"inputs":[[[5e-324]]],"weights":{"kernel":[[5e-324]],"recurrentKernel":[[5e-324]],"bias":[5e-324]},"clip":5e-324}',
  ],
  ['1e308 clip', '{"inputs":[[[1]]],"hiddenSize":1,"clip":1e308}'],
  ['huge integer literal', `{"inputs":[[[1]]],"hiddenSize":${'9'.repeat(400)}}`],
  [
    'flat tensor of 100,000 numbers',
    JSON.stringify({ inputs: { shape: [1, 10_000, 10], data: LONG_ARRAY }, hiddenSize: 1, returnSequences: false }),
  ],
  ['100,000 time steps', JSON.stringify({ inputs: [LONG_ARRAY.map((x) => [x])], hiddenSize: 1 })],
  ['100,000 features', JSON.stringify({ inputs: [[LONG_ARRAY]], hiddenSize: 1 })],
  ['100,000-character text', JSON.stringify({ text: [LONG_STRING], hiddenSize: 1 })],
  ['100,000 lengths', JSON.stringify({ inputs: [[[1]]], hiddenSize: 1, lengths: LONG_ARRAY.map(() => 1) })],
  ['100,000 layers', JSON.stringify({ inputs: [[[1]]], layers: LONG_ARRAY.map(() => ({ hiddenSize: 1 })) })],
  [
    '100,000 vocabulary tokens',
    JSON.stringify({ text: ['a'], vocabulary: LONG_ARRAY.map((_, i) => String(i)), hiddenSize: 1 }),
  ],
  [
    '100,000 pytorch keys',
    JSON.stringify({
      inputs: [[[1]]],
      pytorchWeights: Object.fromEntries(LONG_ARRAY.map((_, i) => [`weight_ih_l${i}`, [[1]]])),
    }),
  ],
  [
    '100,000 string errors',
    JSON.stringify({ inputs: { shape: [1, 10_000, 10], data: LONG_ARRAY.map(String) }, hiddenSize: 1 }),
  ],
];

t.test('HTTP fuzzing: never a 5xx, every error a problem with paths, the app keeps working', async (t) => {
  const { app, logs } = await build(t, QUIET);
  const started = Date.now();

  await t.test('random JSON values as bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        async (v) => void (await send(app, '/rnn/forward', 'jsonValue', JSON.stringify(v) ?? 'null')),
      ),
      params(250),
    );
  });

  await t.test('random values under the known field names', async () => {
    const fields = [
      'inputs',
      'text',
      'vocabulary',
      'hiddenSize',
      'seed',
      'weights',
      'pytorchWeights',
      'onnxWeights',
      'layers',
      'bidirectional',
      'activation',
      'useBias',
      'goBackwards',
      'clip',
      'lengths',
      'mask',
      'initialState',
      'stateLayout',
      'topK',
      'returnSequences',
      'returnState',
      'outputFormat',
      'zeroOutputForMask',
    ];
    const body = fc.dictionary(fc.constantFrom(...fields), fc.oneof(fc.jsonValue({ maxDepth: 3 }), smallWeird), {
      maxKeys: 6,
    });
    await fc.assert(
      fc.asyncProperty(body, async (b) => void (await send(app, '/rnn/forward', 'fields', JSON.stringify(b)))),
      params(200),
    );
  });

  await t.test('valid requests are answered 200', async () => {
    await fc.assert(
      fc.asyncProperty(validForward, async (b) => {
        const res = await send(app, '/rnn/forward', 'valid', JSON.stringify(b));
        if (res.statusCode !== 200)
          throw new Error(
            `a valid request was refused ${res.statusCode}: ${res.body.slice(0, 300)}\n  sent: ${JSON.stringify(b).slice(0, 400)}`,
          );
      }),
      params(300),
    );
  });

  await t.test(
    'mutations of valid requests: wrong types, missing and extra fields, extreme numbers, long arrays',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          mutated(validForward),
          async ({ text }) => void (await send(app, '/rnn/forward', 'mutated', text)),
        ),
        params(500),
      );
    },
  );

  await t.test('raw bodies: duplicate keys, deep nesting, unicode, 100k-element arrays', async (t) => {
    for (const [name, body] of RAW_BODIES) {
      const res = await send(app, '/rnn/forward', 'raw', body);
      t.ok(
        res.statusCode < 500,
        `${name}: ${res.statusCode} ${res.statusCode >= 400 ? res.json().detail.slice(0, 120) : ''}`,
      );
    }
    const dup = await send(app, '/rnn/forward', 'raw', RAW_BODIES[0][1]);
    t.equal(dup.json().model.hiddenSize, 2, 'duplicate keys: the last one wins, as in JSON.parse');
  });

  await t.test('POST /rnn/weights: valid, mutated, random', async () => {
    await fc.assert(
      fc.asyncProperty(validWeights, async (b) => {
        const res = await send(app, '/rnn/weights', 'weights-valid', JSON.stringify(b));
        if (res.statusCode !== 200)
          throw new Error(`a valid weights request was refused ${res.statusCode}: ${res.body.slice(0, 300)}`);
      }),
      params(100),
    );
    await fc.assert(
      fc.asyncProperty(
        mutated(validWeights),
        async ({ text }) => void (await send(app, '/rnn/weights', 'weights-mutated', text)),
      ),
      params(250),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        async (v) => void (await send(app, '/rnn/weights', 'weights-json', JSON.stringify(v) ?? 'null')),
      ),
      params(100),
    );
  });

  await t.test(
    'regression: seeded bidirectional mergeMode null after a unidirectional model with the same seed',
    async (t) => {
      // The weights cache keyed mergeMode null like "not bidirectional": the second request got one direction
      // of weights and failed with a 500 (src/inference/weights-cache.ts). The warm-up caches the hello model, seed 42.
      const res = await send(
        app,
        '/rnn/forward',
        'regression',
        JSON.stringify({ ...HELLO, bidirectional: { mergeMode: null } }),
      );
      t.equal(res.statusCode, 200);
      t.same(res.json().shapes.outputs, [2, 1, 5, 2]);
    },
  );

  await t.test('afterwards: no error logged, and the exact hello answer of a fresh app', async (t) => {
    t.same(
      logs.filter((l) => Number(l.level) >= 50),
      [],
      'nothing logged at error level',
    );
    const fresh = await build(t, QUIET);
    const payload = JSON.stringify(HELLO);
    const headers = { 'content-type': 'application/json' };
    const after = await app.inject({ method: 'POST', url: '/rnn/forward', headers, payload });
    const expected = await fresh.app.inject({ method: 'POST', url: '/rnn/forward', headers, payload });
    t.equal(after.statusCode, 200);
    t.equal(after.body, expected.body, 'byte-identical to a fresh app');
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'still ready');
  });

  let total = 0;
  const lines = [...tally].map(([group, counts]) => {
    const n = [...counts.values()].reduce((a, b) => a + b, 0);
    total += n;
    return `${group}: ${n} (${[...counts]
      .sort(([a], [b]) => a - b)
      .map(([s, c]) => `${s}×${c}`)
      .join(', ')})`;
  });
  t.comment(`fuzz seed ${SEED}: ${total} requests in ${Date.now() - started} ms\n${lines.join('\n')}`);
});
