/**
 * openapi.yaml is current (the generator agrees with the committed file), describes every route the app
 * serves, documents every error answer a client can get as an RFC 9457 Problem (on the Open Inference Protocol
 * routes, /v2, /v2/models/... and /v2/repository/..., as the protocol's `{"error": ...}`), and is exactly what the
 * running app serves at /openapi.json (with Swagger UI at /docs).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance, InjectOptions } from 'fastify';
import t from 'tap';
import { parse } from 'yaml';
import { build, HELLO } from '../helpers/build.js';
import { ROOT, SPEC_PATH } from './workspace.js';

type Json = Record<string, any>;
const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const PROBLEM_REF = '#/components/schemas/Problem';
const OIP_ERROR_REF = '#/components/schemas/OipError';
/**
 * The Open Inference Protocol routes, whose errors are `{"error": ...}` as the protocol requires (its health probes
 * excepted).
 */
const isOip = (path: string) => path === '/v2' || path.startsWith('/v2/models/') || path.startsWith('/v2/repository/');
/** Routes that serve the document itself rather than the API. */
const isDocumentation = (url: string) => url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/');

const spec: Json = parse(await readFile(SPEC_PATH, 'utf8'));

/** Every route the app serves, read from Fastify's route tree (`printRoutes`), as full URLs with their methods. */
function servedRoutes(app: FastifyInstance): { url: string; methods: string[] }[] {
  const routes: { url: string; methods: string[] }[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!node) continue;
    const depth = node[1].length / 4;
    prefixes.length = depth;
    const url = (depth === 0 ? '' : prefixes[depth - 1]) + node[2];
    prefixes.push(url);
    if (node[3] !== undefined) routes.push({ url, methods: node[3].split(', ') });
  }
  return routes;
}

/** `/models/:name` → `/models/{name}` */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

function resolve(node: Json): Json {
  const ref: unknown = node?.$ref;
  if (typeof ref !== 'string') return node;
  const name = ref.replace(/^#\/components\/schemas\//, '');
  return resolve(spec.components?.schemas?.[name]);
}

function operations(): { path: string; method: string; operation: Json }[] {
  return Object.entries<Json>(spec.paths ?? {}).flatMap(([path, item]) =>
    Object.entries<Json>(item)
      .filter(([method]) => METHODS.includes(method.toUpperCase() as (typeof METHODS)[number]))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

t.test('openapi.yaml is what `npm run openapi` generates now (npm run openapi:check)', async (t) => {
  // scripts/openapi.ts runs its CLI at import, so it is run as `npm run openapi:check` runs it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/openapi.ts', '--check'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  t.equal(code, 0, `openapi:check exits 0 (run \`npm run openapi\` if stale): ${stderr.trim()}`);
  t.equal(stdout, 'openapi.yaml is up to date\n');
});

t.test('OpenAPI 3.1 with the service info', async (t) => {
  t.match(spec.openapi, /^3\.1\.\d+$/);
  t.equal(spec.info?.title, 'rnn-serve');
  t.match(spec.info?.version, /^\d+\.\d+\.\d+/);
});

t.test('every route the app serves is documented, and every documented operation is served', async (t) => {
  const { app } = await build(t);
  const routes = servedRoutes(app);
  // The route-tree parser itself: it found routes we know of, with the methods Fastify has for them.
  t.ok(
    routes.some((r) => r.url === '/openapi.json' && r.methods.includes('GET')),
    'parser finds /openapi.json',
  );
  t.ok(
    routes.some((r) => r.url === '/rnn/forward' && r.methods.includes('POST')),
    'parser finds POST /rnn/forward',
  );
  for (const { url, methods } of routes) {
    if (url.includes('*')) continue;
    for (const method of methods)
      t.ok(app.hasRoute({ url, method: method as 'GET' }), `parsed ${method} ${url} is a route`);
  }

  for (const { url, methods } of routes.filter((r) => !isDocumentation(r.url))) {
    // HEAD comes with every GET (Fastify's exposeHeadRoutes) and is not documented on its own.
    for (const method of methods.filter((m) => m !== 'HEAD')) {
      t.ok(spec.paths?.[openApiPath(url)]?.[method.toLowerCase()], `${method} ${url} is under paths`);
    }
  }
  for (const { path, method } of operations()) {
    const url = path.replace(/\{(\w+)\}/g, ':$1');
    t.ok(
      app.hasRoute({ url, method: method.toUpperCase() as 'GET' }),
      `documented ${method.toUpperCase()} ${path} is served`,
    );
  }
  t.notOk(spec.paths?.['/openapi.json'] ?? spec.paths?.['/docs'], 'the documentation routes are not in the document');
});

t.test('every error an operation can answer is documented as application/problem+json Problem', async (t) => {
  const problem = spec.components?.schemas?.Problem;
  t.equal(problem?.type, 'object');
  t.same([...(problem?.required ?? [])].sort(), ['detail', 'status', 'title', 'type'], 'RFC 9457 members are required');
  t.equal(resolve(problem?.properties?.errors?.items)?.properties?.path?.type, 'string', 'errors[].path is a string');

  // Which statuses apply to an operation is not taken on trust: each is provoked on the running app.
  const { app } = await build(t, { limits: { bodyLimitBytes: 64 } });
  const served = servedRoutes(app);
  const ops = operations();
  t.ok(ops.length > 0, `${ops.length} operations`);
  for (const { path, method, operation } of ops) {
    await t.test(`${method.toUpperCase()} ${path}`, async (t) => {
      const url = path.replace(/\{(\w+)\}/g, 'x');
      const applies = new Set<string>(['500']); // any handler can fail unexpectedly
      const provoke = async (status: string, request: InjectOptions & { method: string; url: string }) => {
        const res = await app.inject(request);
        t.equal(
          res.statusCode,
          Number(status),
          `${request.method} ${url} provokes ${status}: ${res.body.slice(0, 200)}`,
        );
        if (isOip(path)) {
          t.match(res.headers['content-type'], /^application\/json/, `${status} is sent as application/json`);
          t.same(Object.keys(res.json()), ['error'], `${status} is {"error": ...}`);
        } else t.match(res.headers['content-type'], /^application\/problem\+json/, `${status} is sent as problem+json`);
        applies.add(status);
      };
      const allowed = served.find((r) => openApiPath(r.url) === path)?.methods ?? [];
      const other = METHODS.find((m) => !allowed.includes(m));
      if (other !== undefined) await provoke('405', { method: other, url });
      if (operation.requestBody !== undefined) {
        const verb = method.toUpperCase() as 'POST';
        await provoke('400', { method: verb, url, headers: { 'content-type': 'application/json' }, payload: '{' });
        await provoke('413', {
          method: verb,
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ pad: 'x'.repeat(100) }),
        });
        await provoke('415', { method: verb, url, headers: { 'content-type': 'text/plain' }, payload: 'x' });
      }
      if (/\{\w+\}/.test(path)) applies.add('404'); // a path parameter can name something that does not exist
      const documented = Object.keys(operation.responses ?? {});
      for (const status of [...applies].sort())
        t.ok(documented.includes(status), `${status} is documented (documented: ${documented.join(', ')})`);

      for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
        if (Number(status) < 400) continue;
        if (isOip(path)) {
          t.same(Object.keys(response.content ?? {}), ['application/json'], `${status}: only application/json`);
          t.equal(
            response.content?.['application/json']?.schema?.$ref,
            OIP_ERROR_REF,
            `${status}: schema is the OipError`,
          );
        } else {
          t.same(
            Object.keys(response.content ?? {}),
            ['application/problem+json'],
            `${status}: only application/problem+json`,
          );
          t.equal(
            response.content?.['application/problem+json']?.schema?.$ref,
            PROBLEM_REF,
            `${status}: schema is the Problem`,
          );
        }
        t.type(response.description, 'string');
      }
    });
  }
});

t.test('POST /rnn/forward: a strict request schema with the hello example', async (t) => {
  const operation = spec.paths?.['/rnn/forward']?.post;
  t.equal(operation?.requestBody?.required, true);
  t.same(Object.keys(operation?.requestBody?.content ?? {}), ['application/json']);
  const schema = resolve(operation?.requestBody?.content?.['application/json']?.schema);
  t.equal(schema?.type, 'object');
  t.equal(schema?.additionalProperties, false, 'unknown fields are rejected');
  t.ok(schema?.properties?.inputs && schema?.properties?.text, 'inputs, or text instead');
  const examples: unknown[] = [...(schema?.examples ?? []), ...(schema?.example === undefined ? [] : [schema.example])];
  t.ok(
    examples.some((example) => isDeepStrictEqual(example, HELLO)),
    `the hello request is an example: ${JSON.stringify(examples)}`,
  );
  t.same(HELLO, {
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
  });

  const response = resolve(operation?.responses?.['200']?.content?.['application/json']?.schema);
  t.same([...(response?.required ?? [])].sort(), ['model', 'outputs', 'shapes']);
});

t.test('request bodies: every object schema with properties rejects unknown fields', async (t) => {
  const seen = new Set<Json>();
  const loose: string[] = [];
  let objects = 0;
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${at}[${i}]`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const schema = resolve(node as Json);
    if (seen.has(schema)) return;
    seen.add(schema);
    if (schema.properties !== undefined) objects++;
    if (schema.properties !== undefined && schema.additionalProperties !== false) loose.push(at);
    for (const [key, value] of Object.entries(schema))
      if (key !== 'examples' && key !== 'example' && key !== 'default') walk(value, `${at}.${key}`);
  };
  const bodies = operations().filter((o) => o.operation.requestBody !== undefined);
  t.ok(bodies.length > 0);
  for (const { path, method, operation } of bodies)
    walk(operation.requestBody.content, `${method.toUpperCase()} ${path}`);
  t.ok(objects >= 2, `${objects} object schemas checked (ForwardRequest, KerasWeights, …)`);
  t.same(loose, [], 'no object schema in a request body allows additional properties');
});

t.test('the app serves the same document at /openapi.json, and Swagger UI at /docs', async (t) => {
  const { app } = await build(t);
  const json = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(json.statusCode, 200);
  t.match(json.headers['content-type'], /^application\/json/);
  t.same(json.json(), spec, '/openapi.json equals openapi.yaml');
  t.ok(isDeepStrictEqual(json.json(), spec), 'strictly deep-equal too (no loose 1 == "1" matches)');

  const docs = await app.inject({ method: 'GET', url: '/docs' });
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /^text\/html/);
  t.match(docs.body, /<title>Swagger UI<\/title>/);
  t.match(docs.body, /swagger-initializer\.js/);
  const uiSpec = await app.inject({ method: 'GET', url: '/docs/json' });
  t.equal(uiSpec.statusCode, 200);
  t.same(uiSpec.json(), spec, 'the document Swagger UI loads (/docs/json) is the same');
});
