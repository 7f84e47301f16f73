/**
 * json-body.ts: the JSON body parser, and the two other ways a context may read bodies. Held, on bare apps, to:
 * JSON parsed and its refusals (invalid JSON, invalid UTF-8, an empty body, `__proto__`) as problems at `$`, other
 * media types 415; large bodies left as bytes (`DeferredJson`) and let through validation; the inference protocol's
 * bodies with binary data after their JSON (Inference-Header-Content-Length), without a Content-Type, and a
 * sequence id past 2^53 kept as its digits.
 */
import Fastify from 'fastify';
import t from 'tap';
import jsonBody, {
  DeferredJson,
  deferLargeJson,
  inferenceProtocolBodies,
  passDeferred,
} from '../../../src/http/plugins/json-body.js';
import problems from '../../../src/http/plugins/error-handler.js';

async function app(t: { teardown(fn: () => unknown): void }) {
  const server = Fastify();
  t.teardown(() => server.close());
  await server.register(problems, { bodyLimit: 1 << 20 });
  await server.register(jsonBody);
  server.post('/echo', async (request) => ({ body: request.body }));
  await server.register(async (deferred) => {
    deferLargeJson(deferred, 16);
    deferred.post('/deferred', async (request) =>
      request.body instanceof DeferredJson
        ? { deferred: Buffer.from(request.body.bytes).toString() }
        : { parsed: request.body },
    );
  });
  await server.register(async (oip) => {
    inferenceProtocolBodies(oip);
    oip.post('/infer', async (request) => ({
      body: request.body,
      binary: request.binaryData === null ? null : [...request.binaryData],
      exact: request.exactSequenceId,
    }));
  });
  await server.ready();
  return server;
}

t.test('JSON, and why a body is refused', async (t) => {
  const server = await app(t);
  const post = (payload: string | Buffer, type = 'application/json', url = '/echo') =>
    server.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });
  t.same((await post('{"a":[1,2]}')).json(), { body: { a: [1, 2] } });
  const bad = await post('{"a":');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().type, 'urn:rnn-serve:problem:invalid-json');
  t.match(bad.json().errors, [{ path: '$', message: /^is not valid JSON: / }]);
  t.same((await post(Buffer.from([0x7b, 0xff, 0x7d]))).json().errors, [{ path: '$', message: 'is not valid UTF-8' }]);
  t.match((await post('{"__proto__": {"x": 1}}')).json().errors, [
    { path: '$', message: /^is not valid JSON: .*prototype/ },
  ]);
  const text = await post('hello', 'text/plain');
  t.equal(text.statusCode, 415);
});

t.test('large bodies left as bytes; small ones parsed', async (t) => {
  const server = await app(t);
  const post = (payload: string) =>
    server.inject({ method: 'POST', url: '/deferred', payload, headers: { 'content-type': 'application/json' } });
  t.same((await post('{"a":1}')).json(), { parsed: { a: 1 } });
  t.same((await post('{"a":1234567890123}')).json(), { deferred: '{"a":1234567890123}' }, '16 bytes and more');
  const validate = passDeferred(() => (data: unknown) => ({ error: new Error(`refused ${JSON.stringify(data)}`) }));
  const check = validate({ schema: {}, method: 'POST', url: '/', httpPart: 'body' });
  const deferred = new DeferredJson(new Uint8Array(1));
  t.same(check(deferred), { value: deferred }, 'a deferred body passes: its worker validates it');
  t.match(check({ a: 1 }), { error: { message: 'refused {"a":1}' } });
});

t.test("the inference protocol's bodies", async (t) => {
  const server = await app(t);
  const json = '{"inputs":[]}';
  const infer = (payload: Buffer | string, headers: Record<string, string>) =>
    server.inject({ method: 'POST', url: '/infer', payload, headers });
  const binary = await infer(Buffer.concat([Buffer.from(json), Buffer.from([1, 2, 3])]), {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(json.length),
  });
  t.same(binary.json(), { body: { inputs: [] }, binary: [1, 2, 3], exact: null });
  const untyped = await server.inject({ method: 'POST', url: '/infer', payload: json });
  t.same(untyped.json().body, { inputs: [] }, 'no Content-Type: read as JSON (Triton sends none)');
  const big = await infer('{"parameters":{"sequence_id":18446744073709551615},"inputs":[]}', {
    'content-type': 'application/json; charset=utf-8',
  });
  t.equal(big.json().exact, '18446744073709551615', 'the digits, which a number cannot hold');
  const past = await infer(json, { 'content-type': 'application/json', 'inference-header-content-length': '99' });
  t.same(past.json().errors, [
    { path: 'Inference-Header-Content-Length', message: 'is 99, past the end of the body (13 bytes)' },
  ]);
  const zero = await infer(json, { 'content-type': 'application/json', 'inference-header-content-length': '0' });
  t.match(zero.json().errors, [
    { path: 'Inference-Header-Content-Length', message: /^is 0 \(a body of one raw tensor/ },
  ]);
  const other = await infer(json, { 'content-type': 'text/csv' });
  t.equal(other.statusCode, 415);
  t.match(
    other.json().detail,
    /^Content-Type 'text\/csv' is not supported; send application\/json, application\/octet-stream/,
  );
});
