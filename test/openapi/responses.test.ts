/**
 * Real answers against the published document: every route's successes and every error that can be provoked
 * (400, 401, 403, 404, 405, 413, 415, 422, 429, 503) are sent through the app, and each answer's status and
 * content type must be documented for that operation in `/openapi.json`, and its body must validate against
 * the documented schema (its $refs resolved) with an independent JSON Schema validator for draft 2020-12
 * (Ajv's 2020 build, not the zod schemas the document came from). Every operation must have been answered
 * with a 2xx at least once. What stays unprovoked (500: nothing here fails) is listed in the output.
 */
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, InjectOptions } from 'fastify';
import t, { type Test } from 'tap';
import { build, HELLO } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { PLAYGROUND_ASSETS } from '../../src/http/routes/playground/playground-route.js';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options'];
const DOC_ID = 'urn:rnn-serve:openapi';
const API_KEY = 'k'.repeat(32);

/**
 * The shipped `hello`, and `overflow`, whose weights and a large input overflow float32 through a linear
 * activation: a result JSON cannot carry (422).
 */
const MODELS = modelsDir(t, {
  'hello/1/model.json': JSON.parse(readFileSync(new URL('../../models/hello/1/model.json', import.meta.url), 'utf8')),
  'overflow/1/model.json': {
    format: 'rnn-serve/v1',
    inputDim: 1,
    activation: 'linear',
    weights: { kernel: [[1e30]], recurrentKernel: [[0]], bias: [0] },
  },
});
// The event-loop guard off: a busy machine (other suites on two cores) would turn these answers into 503s.
const QUIET = { maxEventLoopDelayMs: 0 };
const built = await build(t, { models: { dir: MODELS }, overload: QUIET });
const doc: Json = (await built.app.inject({ method: 'GET', url: '/openapi.json' })).json();
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, DOC_ID);

/** A JSON pointer into the document as a URI fragment. */
const pointer = (segments: string[]) =>
  segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

/** The documented path template a concrete path falls under (`/models/hello` → `/models/{name}`). */
function templateOf(path: string): string | undefined {
  return Object.keys(doc.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

/** Operations answered, and with which statuses, for the coverage checks at the end. */
const answered = new Map<string, Set<string>>();
for (const [template, item] of Object.entries<Json>(doc.paths))
  for (const method of Object.keys(item))
    if (METHODS.includes(method)) answered.set(`${method} ${template}`, new Set());

/**
 * Sends `request`, expects `status`, and checks the answer against the document: the operation (or for a 405,
 * the path's operations) documents the status and the content type, and the body validates.
 */
async function check(
  t: Test,
  app: FastifyInstance,
  request: InjectOptions & { method: string; url: string },
  status: number,
): Promise<void> {
  const res = await app.inject(request);
  const name = `${request.method} ${request.url}`;
  t.equal(res.statusCode, status, `${name} answers ${status}: ${res.body.slice(0, 160)}`);
  const path = request.url.split('?')[0];
  const template = templateOf(path);
  if (template === undefined) {
    t.fail(`${name}: no documented path`);
    return;
  }
  const item = doc.paths[template];
  const method = request.method.toLowerCase();
  // A 405 is the answer of a path to a method it does not have: documented on the path's operations.
  const candidates = res.statusCode === 405 ? Object.keys(item).filter((m) => METHODS.includes(m)) : [method];
  const operation = candidates.find((m) => item[m]?.responses?.[String(res.statusCode)] !== undefined);
  if (operation === undefined) {
    t.fail(`${name}: status ${res.statusCode} is not documented for ${method.toUpperCase()} ${template}`);
    return;
  }
  answered.get(`${operation} ${template}`)?.add(String(res.statusCode));
  const content = item[operation].responses[String(res.statusCode)].content ?? {};
  const type = String(res.headers['content-type'] ?? '')
    .split(';')[0]
    .trim();
  if (!(type in content)) {
    t.fail(`${name}: ${res.statusCode} as ${type} is not documented (documented: ${Object.keys(content).join(', ')})`);
    return;
  }
  if (!/json$/.test(type)) {
    t.pass(`${name}: ${res.statusCode} ${type} is documented`);
    return;
  }
  const at = pointer(['paths', template, operation, 'responses', String(res.statusCode), 'content', type, 'schema']);
  const validate = ajv.getSchema(`${DOC_ID}#/${at}`);
  if (validate === undefined) {
    t.fail(`${name}: no schema at ${at}`);
    return;
  }
  const valid = validate(res.json());
  t.ok(valid, `${name}: ${res.statusCode} ${type} validates`, { errors: validate.errors ?? [] });
}

const json = (url: string, payload: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
});
const INFER = { inputs: [{ name: 'input', shape: [1, 2, 4], datatype: 'FP32', data: [1, 0, 0, 0, 0, 1, 0, 0] }] };
/** Weights and inputs whose product overflows float32 through a linear activation: a non-finite result. */
const OVERFLOW = {
  inputs: [[[1e30]]],
  activation: 'linear',
  weights: { kernel: [[1e30]], recurrentKernel: [[0]], bias: [0] },
};

/** One request to each route of the API (the models' and the inference protocol's, on the model hello). */
function apiRequests(): (InjectOptions & { method: string; url: string })[] {
  return [
    json('/rnn/forward', HELLO),
    json('/rnn/weights', { inputDim: 3, hiddenSize: 2, seed: 1 }),
    { method: 'GET', url: '/models' },
    { method: 'GET', url: '/models/hello' },
    { method: 'GET', url: '/models/hello/versions/1' },
    json('/models/hello/forward', { text: ['hello'] }),
    json('/models/hello/versions/1/forward', { text: ['hello'] }),
    { method: 'GET', url: '/v2' },
    { method: 'GET', url: '/v2/models/hello' },
    { method: 'GET', url: '/v2/models/hello/versions/1' },
    { method: 'GET', url: '/v2/models/hello/ready' },
    { method: 'GET', url: '/v2/models/hello/versions/1/ready' },
    json('/v2/models/hello/infer', INFER),
    json('/v2/models/hello/versions/1/infer', INFER),
  ];
}

t.test('successes and request errors on every route', async (t) => {
  const { app } = built;
  const get = (url: string) => ({ method: 'GET', url });
  for (const url of ['/', ...PLAYGROUND_ASSETS.map((name) => `/playground/${name}`)])
    await check(t, app, get(url), 200);
  for (const url of ['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready', '/metrics'])
    await check(t, app, get(url), 200);

  await check(t, app, json('/rnn/forward', HELLO), 200);
  await check(t, app, json('/rnn/forward', HELLO, { 'accept-encoding': 'identity' }), 200);
  // LSTM and GRU answers: cellStates (nested, flat, c_n) and the cells' fields in the model summary.
  const mixed = {
    layers: [
      { hiddenSize: 2, cell: 'lstm' },
      { hiddenSize: 2, cell: 'gru', resetAfter: false },
    ],
  };
  await check(t, app, json('/rnn/forward', { ...HELLO, hiddenSize: undefined, ...mixed }), 200);
  await check(t, app, json('/rnn/forward', { ...HELLO, cell: 'lstm', bidirectional: {}, outputFormat: 'flat' }), 200);
  await check(t, app, json('/rnn/forward', { ...HELLO, cell: 'lstm', stateLayout: 'pytorch' }), 200);
  await check(t, app, json('/rnn/weights', { inputDim: 3, hiddenSize: 2, seed: 1, cell: 'gru' }), 200);
  await check(t, app, json('/rnn/weights', { inputDim: 3, hiddenSize: 2, cell: 'gru', resetAfter: false }), 200);
  await check(t, app, json('/rnn/forward', { ...HELLO, cell: 'gru', unitForgetBias: true }), 400);
  await check(t, app, json('/rnn/forward', { ...HELLO, hidden_size: 2 }), 400);
  await check(t, app, json('/rnn/forward', '{"inputs": ['), 400);
  await check(t, app, json('/rnn/forward', OVERFLOW), 422);
  await check(t, app, { ...json('/rnn/forward', HELLO), headers: { 'content-type': 'text/plain' } }, 415);
  await check(t, app, json('/rnn/forward', HELLO, { 'content-encoding': 'compress' }), 415);
  await check(t, app, json('/rnn/forward', Buffer.from('not gzip'), { 'content-encoding': 'gzip' }), 400);
  await check(t, app, get('/rnn/forward'), 405);

  await check(t, app, json('/rnn/weights', { inputDim: 3, hiddenSize: 2, seed: 1 }), 200);
  await check(t, app, json('/rnn/weights', { inputDim: 3 }), 400);
  await check(t, app, get('/rnn/weights'), 405);

  await check(t, app, get('/models'), 200);
  await check(t, app, { method: 'DELETE', url: '/models' }, 405);
  await check(t, app, get('/models/hello'), 200);
  await check(t, app, get('/models/nobody'), 404);
  await check(t, app, get('/models/hello/versions/1'), 200);
  await check(t, app, get('/models/hello/versions/9'), 404);
  await check(t, app, json('/models/hello/forward', { text: ['hello'] }), 200);
  await check(t, app, json('/models/hello/forward', { text: ['hello'], seed: 3 }), 400);
  await check(t, app, json('/models/nobody/forward', { text: ['hello'] }), 404);
  await check(t, app, json('/models/hello/versions/1/forward', { text: ['hello'] }), 200);
  await check(t, app, json('/models/hello/versions/9/forward', { text: ['hello'] }), 404);
  await check(t, app, json('/models/hello/versions/1/forward', { text: ['hello'], seed: 3 }), 400);
  await check(t, app, json('/models/overflow/forward', { inputs: [[[1e30]]] }), 422);
  await check(t, app, json('/models/overflow/versions/1/forward', { inputs: [[[1e30]]] }), 422);
  await check(t, app, { ...json('/models/hello/forward', {}), headers: { 'content-type': 'text/plain' } }, 415);
  await check(t, app, { ...json('/rnn/weights', {}), headers: { 'content-type': 'text/plain' } }, 415);
  await check(t, app, get('/models/hello/forward'), 405);

  await check(t, app, get('/v2'), 200);
  await check(t, app, { method: 'POST', url: '/v2' }, 405);
  await check(t, app, get('/v2/models/hello'), 200);
  await check(t, app, get('/v2/models/nobody'), 404);
  await check(t, app, get('/v2/models/hello/versions/1'), 200);
  await check(t, app, get('/v2/models/hello/versions/9'), 404);
  await check(t, app, get('/v2/models/hello/ready'), 200);
  await check(t, app, get('/v2/models/hello/versions/1/ready'), 200);
  await check(t, app, get('/v2/models/nobody/ready'), 404);
  await check(t, app, json('/v2/models/hello/infer', INFER), 200);
  await check(
    t,
    app,
    json('/v2/models/hello/infer', zlib.gzipSync(JSON.stringify(INFER)), { 'content-encoding': 'gzip' }),
    200,
  );
  const uint = { inputs: [{ ...INFER.inputs[0], datatype: 'UINT32' }] };
  await check(t, app, json('/v2/models/hello/infer', uint), 400);
  await check(t, app, json('/v2/models/nobody/infer', INFER), 404);
  await check(t, app, { ...json('/v2/models/hello/infer', INFER), headers: { 'content-type': 'text/plain' } }, 415);
  await check(t, app, json('/v2/models/hello/infer', INFER, { 'content-encoding': 'compress' }), 415);
  await check(t, app, get('/v2/models/hello/infer'), 405);
  await check(t, app, json('/v2/models/hello/versions/1/infer', INFER), 200);
  await check(t, app, json('/v2/models/hello/versions/9/infer', INFER), 404);
  await check(t, app, json('/v2/models/hello/versions/1/infer', uint), 400);
  await check(t, app, get('/v2/models/hello/versions/9/ready'), 404);
  const overflow = { inputs: [{ name: 'input', shape: [1, 1, 1], datatype: 'FP32', data: [1e30] }] };
  await check(t, app, json('/v2/models/overflow/infer', overflow), 422);
  await check(t, app, json('/v2/models/overflow/versions/1/infer', overflow), 422);
  await check(t, app, { method: 'DELETE', url: '/healthz' }, 405);
  await check(t, app, { method: 'POST', url: '/metrics' }, 405);
});

t.test('the repository extension: the index in every mode, load and unload in explicit mode', async (t) => {
  const { app } = built;
  const get = (url: string) => ({ method: 'GET', url });
  await check(t, app, { method: 'POST', url: '/v2/repository/index' }, 200);
  await check(t, app, json('/v2/repository/index', { ready: true }), 200);
  await check(t, app, json('/v2/repository/index', { ready: 1 }), 400);
  await check(t, app, { ...json('/v2/repository/index', {}), headers: { 'content-type': 'text/plain' } }, 415);
  await check(t, app, get('/v2/repository/index'), 405);
  await check(t, app, json('/v2/repository/models/hello/load', {}), 503);
  await check(t, app, json('/v2/repository/models/hello/unload', {}), 503);
  const explicit = await build(t, { models: { dir: MODELS, control: 'explicit' }, overload: QUIET });
  await check(t, explicit.app, json('/v2/repository/models/hello/load', {}), 200);
  await check(
    t,
    explicit.app,
    json('/v2/repository/models/hello/load', { parameters: { 'file:1/model.json': 'e30=' } }),
    400,
  );
  await check(t, explicit.app, json('/v2/repository/models/nobody/load', {}), 404);
  await check(t, explicit.app, get('/v2/repository/models/hello/load'), 405);
  await check(
    t,
    explicit.app,
    json('/v2/repository/models/hello/unload', { parameters: { unload_dependents: true } }),
    200,
  );
  await check(
    t,
    explicit.app,
    json('/v2/repository/models/hello/unload', { parameters: { unload_dependents: 1 } }),
    400,
  );
  await check(t, explicit.app, json('/v2/repository/models/nobody/unload', {}), 404);
  await check(t, explicit.app, get('/v2/repository/models/hello/unload'), 405);
});

t.test('413: bodies over BODY_LIMIT_BYTES, compressed or not', async (t) => {
  const { app } = await build(t, { models: { dir: MODELS }, overload: QUIET, limits: { bodyLimitBytes: 256 } });
  const big = { ...HELLO, inputs: Array.from({ length: 20 }, () => HELLO.inputs[0]) };
  await check(t, app, json('/rnn/forward', big), 413);
  await check(t, app, json('/rnn/forward', zlib.gzipSync(JSON.stringify(big)), { 'content-encoding': 'gzip' }), 413);
  await check(t, app, json('/rnn/weights', { inputDim: 3, hiddenSize: 2, seed: 1, pad: 'x'.repeat(300) }), 413);
  await check(t, app, json('/models/hello/forward', { text: ['hello'.repeat(100)] }), 413);
  await check(t, app, json('/models/hello/versions/1/forward', { text: ['hello'.repeat(100)] }), 413);
  const infer = { inputs: [{ ...INFER.inputs[0], data: Array(100).fill(0.5) }] };
  await check(t, app, json('/v2/models/hello/infer', infer), 413);
  await check(t, app, json('/v2/models/hello/versions/1/infer', infer), 413);
});

t.test('401 and 403 with API keys configured', async (t) => {
  const { app } = await build(t, {
    models: { dir: MODELS },
    overload: QUIET,
    access: { apiKeys: [API_KEY], metricsAuth: true },
  });
  const wrong = { authorization: `Bearer ${'w'.repeat(32)}` };
  const requests: (InjectOptions & { method: string; url: string })[] = [
    ...apiRequests(),
    { method: 'GET', url: '/metrics' },
  ];
  for (const request of requests) {
    await check(t, app, request, 401);
    await check(t, app, { ...request, headers: { ...request.headers, ...wrong } }, 403);
  }
  await check(
    t,
    app,
    {
      ...json('/rnn/forward', HELLO),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    },
    200,
  );
  await check(t, app, { method: 'GET', url: '/readyz' }, 200);
});

t.test('429 beyond RATE_LIMIT_MAX', async (t) => {
  const { app } = await build(t, { models: { dir: MODELS }, overload: QUIET, access: { rateLimitMax: 1 } });
  const requests: (InjectOptions & { method: string; url: string })[] = [...apiRequests(), { method: 'GET', url: '/' }];
  await check(t, app, requests[0], 200);
  for (const request of requests) await check(t, app, request, 429);
});

t.test('503: overloaded, and not ready while draining', async (t) => {
  const { app } = await build(t, {
    models: { dir: MODELS },
    overload: { maxHeapUsedBytes: 1, maxEventLoopDelayMs: 0, sampleIntervalMs: 20 },
  });
  for (let i = 0; i < 200 && !app.isUnderPressure(); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(app.isUnderPressure(), 'under pressure');
  const shed: (InjectOptions & { method: string; url: string })[] = [
    json('/rnn/forward', HELLO),
    json('/rnn/weights', { inputDim: 3, hiddenSize: 2, seed: 1 }),
    { method: 'GET', url: '/models' },
    { method: 'GET', url: '/models/hello' },
    { method: 'GET', url: '/models/hello/versions/1' },
    json('/models/hello/forward', { text: ['hello'] }),
    json('/models/hello/versions/1/forward', { text: ['hello'] }),
    { method: 'GET', url: '/v2' },
    { method: 'GET', url: '/v2/models/hello' },
    { method: 'GET', url: '/v2/models/hello/versions/1' },
    { method: 'GET', url: '/v2/models/hello/ready' },
    json('/v2/models/hello/infer', INFER),
    json('/v2/models/hello/versions/1/infer', INFER),
    { method: 'GET', url: '/' },
  ];
  for (const request of shed) await check(t, app, request, 503);
  await check(t, app, { method: 'GET', url: '/healthz' }, 200);
  await check(t, app, { method: 'GET', url: '/metrics' }, 200);

  const draining = built.app;
  draining.readiness.drain();
  await check(t, draining, { method: 'GET', url: '/readyz' }, 503);
  await check(t, draining, { method: 'GET', url: '/v2/health/ready' }, 503);
  await check(t, draining, { method: 'GET', url: '/v2/models/hello/versions/1/ready' }, 503);
  await check(t, draining, { method: 'GET', url: '/v2/health/live' }, 200);
});

t.test('every operation was answered with a success; what was provoked', async (t) => {
  for (const [operation, statuses] of answered) {
    t.ok(
      [...statuses].some((s) => s.startsWith('2')),
      `${operation}: a 2xx was validated`,
    );
    const [method, template] = operation.split(' ');
    const documented = Object.keys(doc.paths[template][method].responses);
    const unprovoked = documented.filter((s) => !statuses.has(s));
    t.comment(
      `${operation}: validated ${[...statuses].sort().join(' ')}; not provoked: ${unprovoked.join(' ') || '-'}`,
    );
  }
});
