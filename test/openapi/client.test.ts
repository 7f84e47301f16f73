/**
 * The committed openapi.yaml is good enough to generate a working, precisely typed client: openapi-typescript
 * generates the types into a temporary client project, the TypeScript compiler checks a client program
 * (fixtures/typed-client.ts.txt) against them with no diagnostics and a program of wrong usages
 * (fixtures/wrong-usage.ts.txt) with exactly the marked ones, and the compiled client then talks to the
 * real server on a loopback port through openapi-fetch.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { build, HELLO } from '../helpers/build.js';
import { expectedDiagnostics, workspace } from './workspace.js';

/** The run-time shape of the compiled fixtures/typed-client.ts.txt (its types live in the temporary project). */
interface ProblemAnswer {
  status: number;
  contentType: string | null;
  problem: Record<string, unknown>;
  type: string;
  title: string;
  detail: string;
  firstPath: string | undefined;
  firstMessage: string | undefined;
}
interface TypedClient {
  HELLO: unknown;
  hello(baseUrl: string): Promise<Record<string, unknown>>;
  ragged(baseUrl: string): Promise<ProblemAnswer>;
  wrongContentType(baseUrl: string): Promise<ProblemAnswer>;
  unknownField(baseUrl: string): Promise<ProblemAnswer>;
  problemWithJsonOnlyMedia(baseUrl: string): Promise<{ typedLookup: unknown; actual: Record<string, unknown> }>;
}

const ws = await workspace(t);
// The client's types: openapi-typescript's defaults except defaultNonNullable (see fixtures/default-options.ts.txt).
const generated = await ws.generateTypes('api.ts', { defaultNonNullable: false });
// The same spec through openapi-typescript's default options, for the one fixture that shows what they do.
await ws.generateTypes('api-default-options.ts');
const clientSource = await ws.addFixture('typed-client.ts.txt', 'client.ts');
const wrongSource = await ws.addFixture('wrong-usage.ts.txt', 'wrong.ts');
const defaultsSource = await ws.addFixture('default-options.ts.txt', 'default-options.ts');
// One program for the three fixtures (they are modules, so they do not see each other); it also compiles
// the client fixture to JavaScript for the run against the server. Each test below reads its file's diagnostics.
const diagnostics = ws.typeCheck(['client.ts', 'wrong.ts', 'default-options.ts'], { emit: true });
const diagnosticsOf = (file: string) => diagnostics.filter((d) => d.file === file);

t.test('openapi-typescript turns openapi.yaml into typed paths and components', async (t) => {
  t.match(generated, /export interface paths \{\n\s+"\/rnn\/forward": \{/);
  // Operations with an operationId are typed once, under `operations`, and referred to from `paths`.
  t.match(generated, /post: operations\["postRnnForward"\];/);
  t.match(generated, /export interface operations \{\n\s+postRnnForward: \{/);
  t.match(generated, /"application\/json": components\["schemas"\]\["ForwardRequest"\];/);
  t.match(
    generated,
    /200: \{[^}]*\};\s*content: \{\s*"application\/json": components\["schemas"\]\["ForwardResponse"\];/,
  );
  for (const status of [400, 404, 405, 413, 415, 422, 500]) {
    const block = new RegExp(
      `${status}: \\{[^}]*\\};\\s*content: \\{\\s*"application/problem\\+json": components\\["schemas"\\]\\["Problem"\\];`,
    );
    t.match(generated, block, `${status} is typed as a Problem`);
  }
  t.match(generated, /inputs\?: number\[\]\[\]\[\] \| components\["schemas"\]\["FlatTensor(Input)?"\];/);
  t.match(generated, /hiddenSize\?: number;/);
  t.match(generated, /returnSequences\?: boolean;/, 'optional with defaultNonNullable: false');
  t.match(generated, /seed: number \| null;/, 'the response model seed is nullable');
  t.match(generated, /errors\?: components\["schemas"\]\["ProblemDetail"\]\[\];/);
  t.notMatch(generated, /^\s*[\w"]+\??: (any|unknown);$/m, 'no field degrades to any or unknown');
});

t.test('the typed client program compiles under strict options with zero diagnostics', async (t) => {
  // The program must use the precise fields, or zero diagnostics would prove little.
  for (const use of [
    'data.shapes.outputs',
    'data.model.hiddenSize',
    'data.model.seed',
    'error.errors?.[0]?.path',
    'createClient<paths>',
  ]) {
    t.ok(clientSource.includes(use), `the client program uses ${use}`);
  }
  const others = diagnostics.filter((d) => d.file !== 'wrong.ts' && d.file !== 'default-options.ts');
  t.same(others, [], 'no diagnostics in client.ts, the generated types or the libraries');
  t.ok(existsSync(path.join(ws.dir, 'client.js')), 'compiled to client.js');
});

t.test('wrong usages of the generated types are compile errors, exactly on the marked lines', async (t) => {
  const expected = expectedDiagnostics(wrongSource);
  t.ok(expected.length >= 10, `${expected.length} marked mistakes`);
  const diagnostics = diagnosticsOf('wrong.ts');
  const actual = [...new Set(diagnostics.map((d) => `${d.line}:${d.code}`))].sort();
  if (!t.same(actual, expected, 'exactly the marked diagnostics')) {
    t.comment(diagnostics.map((d) => `${d.line} ${d.code} ${d.message.split('\n')[0]}`).join('\n'));
  }
  const messageAt = (needle: string) => {
    const line = wrongSource.split('\n').findIndex((text) => text.includes(needle)) + 1;
    return diagnostics
      .filter((d) => d.line === line)
      .map((d) => d.message)
      .join('\n');
  };
  t.match(messageAt("hiddenSize: '2'"), /Type 'string' is not assignable to type 'number'/);
  t.equal(messageAt('hidden_size: 2'), '', 'an unknown field in a literal body compiles (no excess-property check)');
  t.match(messageAt("outputFormat: 'csv'"), /Type '"csv"' is not assignable/);
  t.match(messageAt("'/rnn/forwards'"), /"\/rnn\/forwards"/);
  t.match(messageAt('?.pointer'), /Property 'pointer' does not exist on type '\{ path: string; message: string; \}'/);
  t.match(messageAt('data.shapes.output;'), /Did you mean 'outputs'\?/);
  t.match(messageAt('seed.toFixed'), /'data\.model\.seed' is possibly 'null'/);
});

t.test("openapi-typescript's default options make request fields with a default required", async (t) => {
  const diagnostics = diagnosticsOf('default-options.ts');
  t.same(diagnostics.map((d) => `${d.line}:${d.code}`).sort(), expectedDiagnostics(defaultsSource));
  t.match(diagnostics[0]?.message, /is missing|missing the following properties/);
  t.match(diagnostics[0]?.message, /returnSequences|and \d+ more/, 'returnSequences (default true) is required');
});

t.test('the compiled client against the real server on 127.0.0.1', async (t) => {
  const { app } = await build(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`);
  t.equal(address.address, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const client = (await import(pathToFileURL(path.join(ws.dir, 'client.js')).href)) as TypedClient;
  t.same(client.HELLO, HELLO, "the fixture's hello request is the lecture's");

  const inject = (payload: unknown, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: '/rnn/forward',
      headers: { 'content-type': contentType },
      payload: JSON.stringify(payload),
    });
  /** The same request through inject, for the fields a client cannot know in advance (the request id). */
  const sameAsInject = async (
    t: Pick<typeof import('tap').default, 'type' | 'same'>,
    answer: ProblemAnswer,
    payload: unknown,
    contentType?: string,
  ) => {
    const expected = (await inject(payload, contentType)).json();
    t.type(answer.problem.requestId, 'string');
    t.same(
      answer.problem,
      { ...expected, requestId: answer.problem.requestId },
      'the body openapi-fetch returns is the server answer',
    );
  };

  await t.test('hello: 200 with typed shapes and model', async (t) => {
    const answer = await client.hello(baseUrl);
    t.equal(answer.status, 200);
    t.match(answer.contentType, /^application\/json/);
    t.same(answer.outputsShape, [1, 5, 2]);
    t.same(answer.statesShape, [1, 2]);
    t.equal(answer.inputDim, 4);
    t.equal(answer.hiddenSize, 2);
    t.equal(answer.seed, 42);
    const expected = (await inject(HELLO)).json();
    t.same(answer.outputs, expected.outputs, 'outputs as the server computes them');
    t.same(answer.states, expected.states);
    t.equal((answer.outputs as number[][][])[0].length, 5, 'five time steps');
    t.ok(
      (answer.outputs as number[][][]).flat(2).every((v) => Number.isFinite(v) && Math.abs(v) < 1),
      'tanh outputs in (-1, 1)',
    );
  });

  await t.test('ragged inputs: 400 problem, typed errors[0].path', async (t) => {
    const answer = await client.ragged(baseUrl);
    t.equal(answer.status, 400);
    t.match(answer.contentType, /^application\/problem\+json/);
    t.equal(answer.type, 'urn:rnn-serve:problem:invalid-request');
    t.equal(answer.title, 'Invalid request');
    t.match(answer.detail, /inputs\[0\]\[1\]:? has 1 feature; expected 2 \(inputs\[0\]\[0\]\)/);
    t.equal(answer.problem.status, 400);
    t.equal(answer.firstPath, 'inputs[0][1]');
    t.match(answer.firstMessage, /has 1 feature; expected 2/);
    await sameAsInject(t, answer, { inputs: [[[1, 0], [1]]], hiddenSize: 2 });
  });

  await t.test('wrong content type: 415 problem', async (t) => {
    const answer = await client.wrongContentType(baseUrl);
    t.equal(answer.status, 415);
    t.match(answer.contentType, /^application\/problem\+json/);
    t.equal(answer.problem.status, 415);
    t.match(answer.type, /^urn:rnn-serve:problem:/);
    t.type(answer.title, 'string');
    t.match(answer.detail, /Content-Type 'text\/plain' is not supported; send application\/json/);
    t.equal(answer.firstPath, undefined, 'no JSON path for a media-type problem');
    await sameAsInject(t, answer, HELLO, 'text/plain');
  });

  await t.test('unknown field: 400 problem naming it', async (t) => {
    const answer = await client.unknownField(baseUrl);
    t.equal(answer.status, 400);
    t.match(answer.contentType, /^application\/problem\+json/);
    t.equal(answer.type, 'urn:rnn-serve:problem:invalid-request');
    t.equal(answer.firstPath, 'hidden_size');
    t.match(answer.firstMessage, /is not a known field; did you mean hiddenSize\?/);
    await sameAsInject(t, answer, { inputs: [[[1]]], hidden_size: 2 });
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: names the TypeScript template literal type
  await t.test('a `${string}/json` media filter mistypes problem+json errors', async (t) => {
    const { typedLookup, actual } = await client.problemWithJsonOnlyMedia(baseUrl);
    t.equal(typedLookup, undefined, "the typed lookup error['application/problem+json'] is undefined at run time");
    t.equal(actual.status, 400, 'error is the problem body itself');
    t.match(actual.detail, /inputs\[0\]\[1\]:? has 1 feature/);
  });
});
