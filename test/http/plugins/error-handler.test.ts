/**
 * Values a client sent, echoed in a problem (and its log line), are cut to 64 characters: an unknown key, a token
 * and the vocabulary it is not in, a Content-Type, a path, an Open Inference Protocol name. A 10,000-character
 * key made a 10 kB path; a vocabulary of 2,000 tokens was quoted whole.
 */
import t from 'tap';
import { build, SHIPPED_MODELS } from '../../helpers/build.js';

const QUIET = { models: { dir: SHIPPED_MODELS } };

async function post(app: Awaited<ReturnType<typeof build>>['app'], url: string, body: unknown) {
  const res = await app.inject({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.statusCode, bytes: Buffer.byteLength(res.body), body: JSON.parse(res.body) };
}

t.test('values the client sent are echoed cut to 64 characters', async (t) => {
  const { app, logs } = await build(t, QUIET);
  const long = 'k'.repeat(10_000);
  const key = await post(app, '/rnn/forward', { inputs: [[[1]]], hiddenSize: 2, [long]: 1 });
  t.equal(key.status, 400);
  const keyPath = `${'k'.repeat(64)}…`;
  t.same(key.body.errors, [{ path: `[${JSON.stringify(keyPath)}]`, message: 'is not a known field' }], 'the key, cut');
  t.ok(key.bytes < 1024, `a ${key.bytes}-byte answer`);

  const token = 't'.repeat(10_000);
  const text = await post(app, '/rnn/forward', { text: [['a', token]], vocabulary: ['a', 'b'], hiddenSize: 2 });
  t.equal(text.status, 400);
  t.equal(
    text.body.detail,
    `text[0]: has ${JSON.stringify(`${'t'.repeat(64)}…`)} at position 1, which is not in the vocabulary ("a b")`,
    'the token, cut',
  );
  const vocabulary = Array.from({ length: 2000 }, (_, i) => `token${i}`);
  const unknown = await post(app, '/rnn/forward', { text: [['nope']], vocabulary, hiddenSize: 2 });
  t.equal(unknown.status, 400);
  t.match(unknown.body.detail, /which is not in the vocabulary \("token0 token1 [^"]*…"\)$/, 'the vocabulary, cut');
  t.ok(unknown.bytes < 1024, `a ${unknown.bytes}-byte answer`);

  const type = `application/${'x'.repeat(10_000)}`;
  const media = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: '{}',
    headers: { 'content-type': type },
  });
  t.equal(media.statusCode, 415);
  t.equal(
    media.json().detail,
    `Content-Type '${type.slice(0, 64)}…' is not supported; send application/json`,
    'the Content-Type, cut',
  );
  const path = `/${'p'.repeat(5000)}`;
  const missing = await app.inject({ method: 'GET', url: path });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().detail, `there is no route GET ${path.slice(0, 64)}…`, 'the path, cut');
  const logged = logs.filter((line) => typeof line.detail === 'string').map((line) => line.detail as string);
  t.ok(logged.length >= 4, 'the problems are logged');
  t.ok(
    logged.every((detail) => detail.length < 300),
    'with their cut details',
  );
});

t.test('an Open Inference Protocol name the model does not have is echoed cut', async (t) => {
  const { app } = await build(t, QUIET);
  const name = 'n'.repeat(10_000);
  const answer = await post(app, '/v2/models/hello/infer', {
    inputs: [{ name, shape: [1, 1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }],
  });
  t.equal(answer.status, 400);
  // The model's optional inputs (lengths, initial states) follow in parentheses.
  t.ok(answer.body.error.startsWith(`inputs[0].name: is '${'n'.repeat(64)}…'; the model's input is 'input' (`));
});
