/**
 * Determinism: the same request gives byte-identical answers, repeated on one app, computed inline or on a
 * worker thread, with or without the seeded-weights cache, and across separately built apps. Problems too:
 * with the same x-request-id, a 400 or 422 is the same bytes everywhere.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { build, HELLO, HELLO_BATCH } from '../helpers/build.js';
import { randomNested, rng } from '../helpers/random.js';

const medium = {
  inputs: randomNested(rng(21), [3, 40, 6], 2),
  layers: [{ hiddenSize: 16 }, { hiddenSize: 8, activation: 'relu' }],
  seed: 9,
};
const REQUESTS: [string, unknown][] = [
  ['hello', HELLO],
  ['hello batch', HELLO_BATCH],
  ['text', { text: ['hello', 'eolll', 'lleel'], hiddenSize: 3, seed: 5 }],
  ['bidirectional concat', { ...HELLO, bidirectional: {} }],
  ['bidirectional mergeMode null', { ...HELLO, bidirectional: { mergeMode: null } }],
  ['stacked, flat output', { ...medium, outputFormat: 'flat' }],
  [
    'stacked, bidirectional ave, masked',
    { ...medium, bidirectional: { mergeMode: 'ave' }, lengths: [40, 17, 1], returnSequences: false },
  ],
  [
    'explicit weights',
    {
      inputs: medium.inputs,
      weights: {
        kernel: randomNested(rng(22), [6, 5]),
        recurrentKernel: randomNested(rng(23), [5, 5]),
        bias: randomNested(rng(24), [5]),
      },
      activation: 'softsign',
    },
  ],
  [
    'pytorch weights',
    {
      inputs: HELLO.inputs,
      pytorchWeights: { weight_ih_l0: randomNested(rng(25), [3, 4]), weight_hh_l0: randomNested(rng(26), [3, 3]) },
      useBias: false,
    },
  ],
  [
    'overflow (422)',
    {
      inputs: { shape: [2, 30, 1], data: new Array(60).fill(1) },
      weights: { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] },
      activation: 'linear',
    },
  ],
  ['invalid (400)', { inputs: [[[1, 'x']]], hiddenSize: 2, extra: true }],
];

async function answers(app: FastifyInstance): Promise<string[]> {
  const out: string[] = [];
  for (const [name, body] of REQUESTS) {
    const res = await app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: {
        'content-type': 'application/json',
        'x-request-id': `determinism-${name.replace(/[^a-z0-9]+/gi, '-')}`,
      },
      payload: JSON.stringify(body),
    });
    out.push(`${res.statusCode} ${res.headers['content-type']}\n${res.body}`);
  }
  return out;
}

t.test('identical requests, byte-identical answers', async (t) => {
  const quiet = { overload: { maxEventLoopDelayMs: 0 } };
  const inline = await build(t, { ...quiet, pool: { threads: 0 } });
  const expected = await answers(inline.app);
  t.same(
    expected.map((a) => Number(a.slice(0, 3))),
    [200, 200, 200, 200, 200, 200, 200, 200, 200, 422, 400],
    'the statuses',
  );

  await t.test('repeated on the same app (weights cache warm)', async (t) => {
    for (let round = 0; round < 3; round++) t.same(await answers(inline.app), expected, `round ${round + 1}`);
  });

  await t.test('on worker threads (every request on the pool)', async (t) => {
    const pooled = await build(t, { ...quiet, pool: { threads: 2, minCompute: 1 } });
    t.same(await answers(pooled.app), expected);
    // Concurrent, so the two workers both serve some.
    const concurrent = await Promise.all([answers(pooled.app), answers(pooled.app), answers(pooled.app)]);
    for (const a of concurrent) t.same(a, expected);
  });

  await t.test('without the weights cache, and on a second app', async (t) => {
    const uncached = await build(t, { ...quiet, seededWeightsCache: 0 });
    t.same(await answers(uncached.app), expected);
    const other = await build(t, { ...quiet, pool: { threads: 0 } });
    t.same(await answers(other.app), expected);
  });
});
