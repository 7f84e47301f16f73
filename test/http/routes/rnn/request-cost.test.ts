/**
 * A request's cost is known from its shapes before the work that scales with it: time steps, the input tensor
 * (text's one-hot floats included), building seeded weights, the pass, the answer's values. Each request a hostile
 * client would send, within every other limit, gets its own 400 naming the limit, in well under a second and
 * without the memory the work would have taken.
 */
import t from 'tap';
import { DEFAULT_MAX_INPUT_VALUES, DEFAULT_MAX_OUTPUT_VALUES, defaultConfig } from '../../../../src/config/config.js';
import { letters } from '../../../../scripts/hostile.js';
import { build } from '../../../helpers/build.js';

type App = Awaited<ReturnType<typeof build>>['app'];
type Test = Parameters<Extract<Parameters<typeof t.test>[0], (t: never) => unknown>>[0];

async function refused(t: Test, app: App, url: string, payload: unknown, variable: string) {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const response = await app.inject({ method: 'POST', url, payload: payload as object });
  const ms = performance.now() - started;
  const body = response.json();
  t.equal(response.statusCode, 400, `${variable}: 400`);
  t.equal(body.type, 'urn:rnn-serve:problem:limit-exceeded');
  t.match(body.errors[0].message, new RegExp(`the limit is \\d+ \\(${variable}\\)`), body.detail);
  t.ok(ms < 1500, `answered in ${ms.toFixed(0)} ms`);
  const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  t.ok(grown < 200, `resident memory grew ${grown.toFixed(0)} MiB`);
  return body;
}

t.test('text over a large vocabulary: its length is checked before anything is built', async (t) => {
  const { app } = await build(t);
  // 53,000 characters over a 4,096-symbol vocabulary: more steps than MAX_TIME_STEPS.
  const body = await refused(
    t,
    app,
    '/rnn/forward',
    { text: [letters(53_000, 4096, 1)], hiddenSize: 2 },
    'MAX_TIME_STEPS',
  );
  t.equal(body.errors[0].path, 'text[0]');
  t.match(body.errors[0].message, /time steps is 53000; the limit is 10000/);
});

t.test('text within the step limit whose one-hot floats are too many: MAX_INPUT_VALUES', async (t) => {
  const { app } = await build(t);
  const texts = Array.from({ length: 5 }, (_, b) => letters(10_000, 4096, b + 1));
  const body = await refused(t, app, '/rnn/forward', { text: texts, hiddenSize: 2 }, 'MAX_INPUT_VALUES');
  t.equal(body.errors[0].path, 'text');
  t.match(body.errors[0].message, /input values batch·time·vocabulary = 5·10000·\d+ is \d+/);
});

t.test('1,024 texts of 10,000 characters (a 10 MB body): refused before the 900 MB answer', async (t) => {
  const { app } = await build(t);
  // ASCII, so the body is 10 MB (within BODY_LIMIT_BYTES): 8 letters, 1,024·10,000·8 one-hot floats.
  const texts = Array.from(
    { length: 1024 },
    (_, b) => 'abcdefgh'.slice(b % 8) + 'abcdefgh'.repeat(1249) + 'abcdefgh'.slice(0, b % 8),
  );
  await refused(t, app, '/rnn/forward', { text: texts, hiddenSize: 8 }, 'MAX_INPUT_VALUES');
});

t.test('a vocabulary found in the texts stops growing one past MAX_FEATURES', async (t) => {
  const { app } = await build(t, { limits: { maxFeatures: 3 } });
  const body = await refused(t, app, '/rnn/forward', { text: ['ab', 'cdefg'], hiddenSize: 2 }, 'MAX_FEATURES');
  t.match(body.errors[0].message, /vocabulary size is at least 4; the limit is 3/);
});

t.test('building seeded weights counts: a one-step pass with hiddenSize 1024 and a new seed', async (t) => {
  const { app } = await build(t);
  const body = await refused(
    t,
    app,
    '/rnn/forward',
    { inputs: [[[1, 0, 0, 0]]], hiddenSize: 1024, seed: 987 },
    'MAX_COMPUTE',
  );
  // 1·1·(4 + 1024)·1024 for the pass, 6·1024³ to build.
  t.match(body.errors[0].message, /plus 6442450944 to build the seeded weights/);
  t.match(body.errors[0].message, /is 6443503616; the limit is 1000000000/);
});

t.test('POST /rnn/weights: building and writing the weights are limited too', async (t) => {
  const { app } = await build(t);
  const build4096 = await refused(t, app, '/rnn/weights', { inputDim: 4096, hiddenSize: 1024, seed: 7 }, 'MAX_COMPUTE');
  t.match(build4096.errors[0].message, /building the seeded weights/);
  // Explicit (not seeded) cost nothing to build; the answer's size is what stops it.
  const { app: small } = await build(t, { limits: { maxOutputValues: 100 } });
  const body = await refused(t, small, '/rnn/weights', { inputDim: 8, hiddenSize: 4, seed: 1 }, 'MAX_OUTPUT_VALUES');
  // 3 layouts · (8·4 + 4·4 + 4) weights
  t.match(body.errors[0].message, /is 156; the limit is 100/);
  const fits = await small.inject({
    method: 'POST',
    url: '/rnn/weights',
    payload: { inputDim: 2, hiddenSize: 2, seed: 1 },
  });
  t.equal(fits.statusCode, 200, '3·(2·2 + 2·2 + 2) = 30 values');
});

t.test("the answer's values: outputs and states, as the options shape them", async (t) => {
  const { app } = await build(t, { limits: { maxOutputValues: 100 } });
  const inputs = { shape: [2, 10, 3], data: new Array(60).fill(0.5) };
  // outputs 2·10·4 = 80, states 2·4 = 8: fits
  const fits = await app.inject({ method: 'POST', url: '/rnn/forward', payload: { inputs, hiddenSize: 4 } });
  t.equal(fits.statusCode, 200);
  // outputs 2·10·5 = 100, states 2·5 = 10
  const body = await refused(t, app, '/rnn/forward', { inputs, hiddenSize: 5 }, 'MAX_OUTPUT_VALUES');
  t.match(body.errors[0].message, /outputs and states; returnSequences true\) is 110; the limit is 100/);
  const lastOnly = { inputs, hiddenSize: 5, returnSequences: false };
  t.equal((await app.inject({ method: 'POST', url: '/rnn/forward', payload: lastOnly })).statusCode, 200);
  // bidirectional, mergeMode null: both directions' outputs (2·10·2·3 = 120)
  const both = { inputs, layers: [{ hiddenSize: 3 }], bidirectional: { mergeMode: null }, returnState: false };
  const bothBody = await refused(t, app, '/rnn/forward', both, 'MAX_OUTPUT_VALUES');
  t.match(bothBody.errors[0].message, /is 120/);
});

t.test('the defaults docs/operations/limits.md explains: 2^23 input and 2^22 answer values', async (t) => {
  t.equal(DEFAULT_MAX_INPUT_VALUES, 8_388_608);
  t.equal(DEFAULT_MAX_OUTPUT_VALUES, 4_194_304);
  t.equal(defaultConfig.limits.maxInputValues, DEFAULT_MAX_INPUT_VALUES);
  t.equal(defaultConfig.limits.maxOutputValues, DEFAULT_MAX_OUTPUT_VALUES);
});
