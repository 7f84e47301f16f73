/**
 * The Open Inference Protocol's bodies as clients send them: without a Content-Type (Triton's own HTTP client),
 * `application/json` with a charset, and the binary tensor data extension (the JSON, then little-endian tensors,
 * its length in Inference-Header-Content-Length), both ways. Requests are built byte for byte as the extension's
 * examples show; binary answers are decoded and held to the JSON answers bit for bit.
 */
import { cpSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SHIPPED_MODELS, build } from '../../../helpers/build.js';
import { modelsDir } from '../../../helpers/models.js';
import { float16ToNumber } from '../../../../src/codec/binary-tensors.js';

type Inject = Awaited<ReturnType<typeof build>>['app']['inject'];
type Reply = Awaited<ReturnType<Inject>>;

const URL_INFER = '/v2/models/hello/infer';

/** Little-endian bytes of numbers as a datatype. */
function bytesOf(values: readonly (number | bigint)[], datatype: string): Buffer {
  const size = { FP32: 4, FP64: 8, FP16: 2, INT32: 4, INT64: 8, UINT8: 1 }[datatype] as number;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (datatype === 'FP32') out.writeFloatLE(Number(v), 4 * i);
    else if (datatype === 'FP64') out.writeDoubleLE(Number(v), 8 * i);
    else if (datatype === 'FP16') out.writeUInt16LE(Number(v), 2 * i);
    else if (datatype === 'INT32') out.writeInt32LE(Number(v), 4 * i);
    else if (datatype === 'INT64') out.writeBigInt64LE(BigInt(v), 8 * i);
    else out.writeUInt8(Number(v), i);
  });
  return out;
}

/** The JSON, then the tensors: the body and its Inference-Header-Content-Length. */
function binaryBody(header: object, tensors: Buffer[]): { payload: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { payload: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

interface Decoded {
  header: { outputs: { name: string; shape: number[]; datatype: string; data?: number[]; parameters?: object }[] };
  /** The binary outputs' values, by name. */
  tensors: Map<string, Float32Array>;
}

/** A binary answer → its JSON and its tensors (little-endian float32, read with a DataView). */
function decode(res: Reply): Decoded {
  const body = res.rawPayload;
  const length = Number(res.headers['inference-header-content-length']);
  const header = JSON.parse(body.subarray(0, length).toString('utf8'));
  const tensors = new Map<string, Float32Array>();
  let at = length;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    const values = new Float32Array(size / 4);
    for (let i = 0; i < values.length; i++) values[i] = body.readFloatLE(at + 4 * i);
    tensors.set(output.name, values);
    at += size;
  }
  if (at !== body.length) throw new Error(`${body.length - at} bytes after the tensors`);
  return { header, tensors };
}

/** A deterministic batch [batch, time, 4] with values that are not round in binary. */
function batchValues(batch: number, time: number): number[] {
  return Array.from({ length: batch * time * 4 }, (_, i) => Math.fround(Math.sin(i * 0.37) * 1.5));
}

async function setUp(t: { teardown(fn: () => unknown): void }) {
  return build(t, { models: { dir: SHIPPED_MODELS } });
}

async function inferJson(inject: Inject, input: object, extra: object = {}) {
  const res = await inject({ method: 'POST', url: URL_INFER, payload: { inputs: [input], ...extra } });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json() as { outputs: { name: string; shape: number[]; data: number[] }[] };
}

t.test('a body without Content-Type, or JSON with a charset, is the JSON inference request', async (t) => {
  const { app } = await setUp(t);
  const inject = app.inject.bind(app);
  const input = { name: 'input', shape: [1, 2, 4], datatype: 'FP32', data: [1, 0, 0, 0, 0, 1, 0, 0] };
  const expected = await inferJson(inject, input);
  const payload = JSON.stringify({ inputs: [input] });
  for (const type of [undefined, 'application/json; charset=utf-8', 'application/json;charset=UTF-8']) {
    const res = await inject({ method: 'POST', url: URL_INFER, headers: { 'content-type': type }, payload });
    t.equal(res.statusCode, 200, `${type}: ${res.body.slice(0, 200)}`);
    t.same(res.json(), expected, `Content-Type ${type ?? 'none'}`);
  }
  // Over a socket too, as Triton's client sends it: no Content-Type header at all.
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      { port, host: '127.0.0.1', method: 'POST', path: URL_INFER, headers: { 'content-length': payload.length } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  t.equal(answer.status, 200, answer.body.slice(0, 200));
  t.same(JSON.parse(answer.body), expected, 'a real request without Content-Type');

  const plain = await inject({ method: 'POST', url: URL_INFER, headers: { 'content-type': 'text/plain' }, payload });
  t.equal(plain.statusCode, 415, 'another media type is still 415');
  t.match(plain.json(), { error: /Content-Type 'text\/plain' is not supported/ });
  t.same(Object.keys(plain.json()), ['error']);

  // Every other route keeps its strict 415.
  for (const [url, body] of [
    ['/models/hello/forward', { inputs: [[[1, 0, 0, 0]]] }],
    ['/rnn/forward', { inputs: [[[1, 0, 0, 0]]], hiddenSize: 2 }],
  ] as const) {
    for (const type of [undefined, 'application/octet-stream']) {
      const res = await inject({
        method: 'POST',
        url,
        headers: { 'content-type': type },
        payload: JSON.stringify(body),
      });
      t.equal(res.statusCode, 415, `${url} with ${type ?? 'no Content-Type'}: 415`);
      t.match(res.headers['content-type'], /problem\+json/);
    }
  }
});

t.test('binary input and binary outputs, byte for byte as the extension shows, equal the JSON answer', async (t) => {
  const { app } = await setUp(t);
  const inject = app.inject.bind(app);
  const [batch, time] = [3, 7];
  const values = batchValues(batch, time);
  const json = await inferJson(inject, { name: 'input', shape: [batch, time, 4], datatype: 'FP32', data: values });

  const header = {
    inputs: [
      { name: 'input', shape: [batch, time, 4], datatype: 'FP32', parameters: { binary_data_size: values.length * 4 } },
    ],
    outputs: [
      { name: 'output', parameters: { binary_data: true } },
      { name: 'state', parameters: { binary_data: true } },
    ],
  };
  const { payload, headerLength } = binaryBody(header, [bytesOf(values, 'FP32')]);
  for (const type of ['application/octet-stream', undefined, 'application/json']) {
    const res = await inject({
      method: 'POST',
      url: URL_INFER,
      headers: { 'content-type': type, 'inference-header-content-length': String(headerLength) },
      payload,
    });
    t.equal(res.statusCode, 200, `${type}: ${res.body.slice(0, 200)}`);
    t.equal(res.headers['content-type'], 'application/octet-stream', 'a binary answer is application/octet-stream');
    const { header: answer, tensors } = decode(res);
    t.same(
      answer.outputs,
      [
        {
          name: 'output',
          datatype: 'FP32',
          shape: [batch, time, 3],
          parameters: { binary_data_size: batch * time * 12 },
        },
        { name: 'state', datatype: 'FP32', shape: [batch, 3], parameters: { binary_data_size: batch * 12 } },
      ],
      `${type ?? 'no Content-Type'}: binary_data_size on each output, no data`,
    );
    for (const output of json.outputs) {
      const binary = tensors.get(output.name) as Float32Array;
      t.same([...binary], output.data.map(Math.fround), `${output.name}: bit for bit the JSON answer's float32 values`);
      t.ok(
        binary.every((v, i) => Object.is(v, Math.fround(output.data[i]))),
        `${output.name}: every value identical`,
      );
    }
  }

  // binary_data_output: every output binary, unless an output says otherwise.
  const all = binaryBody({ inputs: header.inputs, parameters: { binary_data_output: true }, id: 'x' }, [
    bytesOf(values, 'FP32'),
  ]);
  const res = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(all.headerLength) },
    payload: all.payload,
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 200));
  const decoded = decode(res);
  t.equal((decoded.header as { id?: string }).id, 'x', 'the id is echoed');
  t.same([...decoded.tensors.keys()], ['output', 'state'], 'both outputs binary, in order');
  t.same([...(decoded.tensors.get('state') as Float32Array)], json.outputs[1].data.map(Math.fround));

  const some = binaryBody(
    {
      inputs: header.inputs,
      parameters: { binary_data_output: true },
      outputs: [{ name: 'state', parameters: { binary_data: false } }, { name: 'output' }],
    },
    [bytesOf(values, 'FP32')],
  );
  const mixed = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(some.headerLength),
    },
    payload: some.payload,
  });
  t.equal(mixed.statusCode, 200);
  const m = decode(mixed);
  t.same(m.header.outputs[0], { ...json.outputs[1], datatype: 'FP32' }, 'state as JSON (binary_data false wins)');
  t.same([...(m.tensors.get('output') as Float32Array)], json.outputs[0].data.map(Math.fround), 'output binary');

  // Binary input, JSON answer: plain application/json without the header.
  const jsonOut = binaryBody({ inputs: header.inputs }, [bytesOf(values, 'FP32')]);
  const plain = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(jsonOut.headerLength) },
    payload: jsonOut.payload,
  });
  t.equal(plain.statusCode, 200);
  t.match(plain.headers['content-type'], /^application\/json/);
  t.notOk('inference-header-content-length' in plain.headers);
  t.same(
    plain.json().outputs,
    json.outputs.map((o) => ({ ...o, datatype: 'FP32' })),
    'the JSON answer',
  );
});

t.test('mixed requests: some inputs JSON, some binary, in input order', async (t) => {
  const { app } = await setUp(t);
  const inject = app.inject.bind(app);
  const values = batchValues(2, 5);
  const lengths = [5, 3];
  const initial = [0.25, -0.5, 0.125, 0.5, 0.75, -1];
  const forward = (
    await inject({
      method: 'POST',
      url: '/models/hello/forward',
      payload: {
        inputs: { shape: [2, 5, 4], data: values },
        lengths,
        initialState: [initial.slice(0, 3), initial.slice(3)],
        outputFormat: 'flat',
      },
    })
  ).json();
  const { payload, headerLength } = binaryBody(
    {
      inputs: [
        { name: 'lengths', shape: [2], datatype: 'INT32', data: lengths },
        { name: 'input', shape: [2, 5, 4], datatype: 'FP32', parameters: { binary_data_size: 160 } },
        { name: 'initial_state', shape: [2, 3], datatype: 'FP64', parameters: { binary_data_size: 48 } },
      ],
      outputs: [{ name: 'output', parameters: { binary_data: true } }, { name: 'state' }],
    },
    [bytesOf(values, 'FP32'), bytesOf(initial, 'FP64')],
  );
  const res = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(headerLength) },
    payload,
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const { header, tensors } = decode(res);
  t.same(
    [...(tensors.get('output') as Float32Array)],
    forward.outputs.data.map(Math.fround),
    'output: /models forward, bit for bit',
  );
  t.same(header.outputs[1].data, forward.states.data, 'state equals /models forward');
});

t.test('lengths and initial_state equal /models/{name}/forward with lengths and initialState', async (t) => {
  const { app } = await setUp(t);
  const inject = app.inject.bind(app);
  const values = batchValues(3, 4);
  const initial = [
    [0.1, 0.2, 0.3],
    [-0.4, 0.5, -0.6],
    [0.7, -0.8, 0.9],
  ];
  for (const [name, options, inputs] of [
    ['lengths (INT64)', { lengths: [4, 2, 1] }, [{ name: 'lengths', shape: [3], datatype: 'INT64', data: [4, 2, 1] }]],
    ['lengths (INT32)', { lengths: [1, 4, 3] }, [{ name: 'lengths', shape: [3], datatype: 'INT32', data: [1, 4, 3] }]],
    [
      'initial_state',
      { initialState: initial },
      [{ name: 'initial_state', shape: [3, 3], datatype: 'FP32', data: initial.flat() }],
    ],
    [
      'both, nested data',
      { initialState: initial, lengths: [2, 2, 4] },
      [
        { name: 'initial_state', shape: [3, 3], datatype: 'FP32', data: initial },
        { name: 'lengths', shape: [3], datatype: 'INT64', data: [2, 2, 4] },
      ],
    ],
  ] as const) {
    const forward = (
      await inject({
        method: 'POST',
        url: '/models/hello/forward',
        payload: { inputs: { shape: [3, 4, 4], data: values }, ...options, outputFormat: 'flat' },
      })
    ).json();
    const res = await inject({
      method: 'POST',
      url: URL_INFER,
      payload: { inputs: [{ name: 'input', shape: [3, 4, 4], datatype: 'FP32', data: values }, ...inputs] },
    });
    t.equal(res.statusCode, 200, `${name}: ${res.body.slice(0, 300)}`);
    const outputs = res.json().outputs;
    t.same(outputs[0].data, forward.outputs.data, `${name}: output`);
    t.same(outputs[1].data, forward.states.data, `${name}: state`);
  }
  const meta = (await inject({ method: 'GET', url: '/v2/models/hello' })).json();
  t.match(meta.parameters.optional_inputs, /lengths INT32\|INT64 \[batch\].*initial_state FP32 \[batch, 3\]/);
});

t.test('FP64 and FP16 inputs give the float32-rounded answer, in JSON and binary', async (t) => {
  const { app } = await setUp(t);
  const inject = app.inject.bind(app);
  // FP64 values that float32 cannot hold exactly: the answer is that of their float32 roundings.
  const doubles = Array.from({ length: 2 * 3 * 4 }, (_, i) => 0.1 * (i - 11) + 1e-12);
  const rounded = await inferJson(inject, {
    name: 'input',
    shape: [2, 3, 4],
    datatype: 'FP32',
    data: doubles.map(Math.fround),
  });
  const asJson = await inferJson(inject, { name: 'input', shape: [2, 3, 4], datatype: 'FP64', data: doubles });
  t.same(asJson.outputs, rounded.outputs, 'FP64 as JSON');
  const binary = binaryBody(
    { inputs: [{ name: 'input', shape: [2, 3, 4], datatype: 'FP64', parameters: { binary_data_size: 192 } }] },
    [bytesOf(doubles, 'FP64')],
  );
  const res = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(binary.headerLength) },
    payload: binary.payload,
  });
  t.same(res.json().outputs, rounded.outputs, 'FP64 as binary');

  // FP16: half bits, decoded exactly (1, -2, 65504, the smallest subnormal, 1/3 in half precision, -0).
  const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000, 0x0400, 0x03ff];
  const exact = [1, -2, 65504, 2 ** -24, 0.333251953125, -0, 2 ** -14, 1023 * 2 ** -24];
  t.same(halves.map(float16ToNumber), exact, 'float16ToNumber on known values');
  const half = binaryBody(
    { inputs: [{ name: 'input', shape: [1, 2, 4], datatype: 'FP16', parameters: { binary_data_size: 16 } }] },
    [bytesOf(halves, 'FP16')],
  );
  const fp16 = await inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(half.headerLength) },
    payload: half.payload,
  });
  t.equal(fp16.statusCode, 200, fp16.body.slice(0, 300));
  const fp32 = await inferJson(inject, { name: 'input', shape: [1, 2, 4], datatype: 'FP32', data: exact });
  t.same(fp16.json().outputs, fp32.outputs, 'FP16 as binary: the answer of its exact values');
  const fp16Json = await inferJson(inject, { name: 'input', shape: [1, 2, 4], datatype: 'FP16', data: exact });
  t.same(fp16Json.outputs, fp32.outputs, 'FP16 as JSON numbers');
});

t.test('float16ToNumber equals the float32 built from the same bits, for every half', async (t) => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let wrong = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const sign = (bits & 0x8000) << 16;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    let expected: number;
    if (exponent === 0x1f) expected = fraction === 0 ? (sign ? -Infinity : Infinity) : Number.NaN;
    else if (exponent === 0) expected = (sign ? -1 : 1) * fraction * 2 ** -24;
    else {
      u32[0] = (sign | ((exponent - 15 + 127) << 23) | (fraction << 13)) >>> 0;
      expected = f32[0];
    }
    if (!Object.is(float16ToNumber(bits), expected)) wrong++;
  }
  t.equal(wrong, 0, 'all 65,536 halves');
});

t.test('INT32/INT64 token ids for an Embedding model, in JSON and binary', async (t) => {
  const fixture = fileURLToPath(new URL('../../../fixtures/tfjs-embedding/', import.meta.url));
  const dir = modelsDir(t, {});
  cpSync(fixture, join(dir, 'words', '1'), { recursive: true });
  const { app } = await build(t, { models: { dir } });
  const ids = [1, 2, 3, 3, 4, 5, 1, 0, 0, 0];
  const url = '/v2/models/words/infer';
  const reference = await app.inject({
    method: 'POST',
    url,
    payload: { inputs: [{ name: 'input', shape: [2, 5, 1], datatype: 'FP32', data: ids }] },
  });
  t.equal(reference.statusCode, 200);
  const expected = reference.json().outputs;
  for (const datatype of ['INT32', 'INT64']) {
    const json = await app.inject({
      method: 'POST',
      url,
      payload: { inputs: [{ name: 'input', shape: [2, 5, 1], datatype, data: ids }] },
    });
    t.same(json.json().outputs, expected, `${datatype} as JSON`);
    const body = binaryBody(
      {
        inputs: [
          {
            name: 'input',
            shape: [2, 5, 1],
            datatype,
            parameters: { binary_data_size: ids.length * (datatype === 'INT32' ? 4 : 8) },
          },
        ],
      },
      [bytesOf(ids, datatype)],
    );
    const binary = await app.inject({
      method: 'POST',
      url,
      headers: { 'inference-header-content-length': String(body.headerLength) },
      payload: body.payload,
    });
    t.same(binary.json().outputs, expected, `${datatype} as binary`);
  }
  const refused = async (datatype: string, values: (number | bigint)[], message: RegExp, asJson = false) => {
    const size = datatype === 'INT32' ? 4 : 8;
    const input = { name: 'input', shape: [1, values.length, 1], datatype };
    const body = asJson
      ? { payload: Buffer.from(JSON.stringify({ inputs: [{ ...input, data: values.map(Number) }] })), headerLength: 0 }
      : binaryBody({ inputs: [{ ...input, parameters: { binary_data_size: values.length * size } }] }, [
          bytesOf(values, datatype),
        ]);
    const res = await app.inject({
      method: 'POST',
      url,
      headers: asJson ? {} : { 'inference-header-content-length': String(body.headerLength) },
      payload: body.payload,
    });
    t.equal(res.statusCode, 400, `${datatype} ${values.join(',')}: ${res.body}`);
    t.match(res.json().error, message);
  };
  await refused('INT64', [1, 2n ** 53n + 2n], /inputs\[0\]\[1\]: is 9007199254740994; beyond ±2\^53/);
  await refused('INT64', [-1], /inputs\[0\]\[0\]: is -1; expected a token id, an integer in \[0, 6\)/);
  await refused('INT32', [6], /inputs\[0\]\[0\]: is 6; expected a token id, an integer in \[0, 6\)/);
  await refused('INT64', [3, 7], /inputs\[0\]\.data\[1\]: is 7; expected a token id/, true);
  await refused('INT64', [2 ** 60], /inputs\[0\]\.data\[0\]: is 1152921504606847000; beyond 2\^53/, true);
  await refused('INT32', [1.5], /inputs\[0\]\.data\[0\]: is 1\.5; expected an integer/, true);

  const hello = await build(t, { models: { dir: SHIPPED_MODELS } });
  const notIds = await hello.app.inject({
    method: 'POST',
    url: URL_INFER,
    payload: { inputs: [{ name: 'input', shape: [1, 1, 4], datatype: 'INT64', data: [1, 0, 0, 0] }] },
  });
  t.equal(notIds.statusCode, 400, 'a model without an Embedding takes no integers');
  t.same(notIds.json(), {
    error: "inputs[0].datatype: is 'INT64'; input 'input' is FP32 (also accepted: FP64, FP16)",
  });
});

t.test('every malformed binary request is a 400 {"error"} naming the problem', async (t) => {
  const { app } = await setUp(t);
  const values = batchValues(1, 2);
  const input = (over: object = {}, parameters: object = { binary_data_size: 32 }) => ({
    name: 'input',
    shape: [1, 2, 4],
    datatype: 'FP32',
    parameters,
    ...over,
  });
  const cases: [string, object, Buffer[], string | null, RegExp][] = [
    [
      'a header length past the body',
      { inputs: [input()] },
      [bytesOf(values, 'FP32')],
      '100000',
      /^Inference-Header-Content-Length: is 100000, past the end of the body \(\d+ bytes\)/,
    ],
    [
      'a header length that is not a number',
      { inputs: [input()] },
      [bytesOf(values, 'FP32')],
      'ten',
      /^Inference-Header-Content-Length: is 'ten'; expected the length of the JSON in bytes/,
    ],
    ['a header length of 0', { inputs: [input()] }, [bytesOf(values, 'FP32')], '0', /is 0 \(a body of one raw tensor/],
    [
      'a binary_data_size beyond the bytes sent',
      { inputs: [input({}, { binary_data_size: 64 })] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[0\]\.parameters\.binary_data_size: is 64, but only 32 bytes of binary data are left/,
    ],
    [
      'bytes left over',
      { inputs: [input()] },
      [bytesOf(values, 'FP32'), Buffer.alloc(4)],
      null,
      /^body: has 36 bytes after the JSON .* binary_data_size add up to 32/,
    ],
    [
      'bytes that do not match the shape',
      { inputs: [input({ shape: [1, 3, 4] })] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[0\]\.parameters\.binary_data_size: is 32; shape \[1, 3, 4\] of FP32 takes 48 bytes \(12 elements of 4 bytes\)/,
    ],
    [
      'bytes that do not match the datatype',
      { inputs: [input({ datatype: 'FP64' })] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[0\]\.parameters\.binary_data_size: is 32; shape \[1, 2, 4\] of FP64 takes 64 bytes/,
    ],
    [
      'a binary_data_size that is not a size',
      { inputs: [input({}, { binary_data_size: -4 })] },
      [],
      null,
      /^inputs\[0\]\.parameters\.binary_data_size: is -4; expected a number of bytes/,
    ],
    [
      'data and binary data',
      { inputs: [input({ data: values })] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[0\]\.data: is given with parameters\.binary_data_size/,
    ],
    [
      'neither',
      { inputs: [input({}, {})] },
      [],
      null,
      /^inputs\[0\]: has neither data nor parameters\.binary_data_size/,
    ],
    [
      'binary_data that is not a boolean',
      { inputs: [input()], outputs: [{ name: 'output', parameters: { binary_data: 'yes' } }] },
      [bytesOf(values, 'FP32')],
      null,
      /^outputs\[0\]\.parameters\.binary_data: is "yes"; expected true or false/,
    ],
    [
      'a NaN',
      { inputs: [input()] },
      [bytesOf([1, 2, Number.NaN, 4, 5, 6, 7, 8], 'FP32')],
      null,
      /^inputs\[0\]\[2\]: is NaN; expected a finite number/,
    ],
    [
      'an FP64 beyond float32',
      { inputs: [input({ datatype: 'FP64' }, { binary_data_size: 64 })] },
      [bytesOf([1, 1e300, 0, 0, 0, 0, 0, 0], 'FP64')],
      null,
      /^inputs\[0\]\[1\]: is 1e\+300; expected a finite number within float32 range/,
    ],
    [
      'UINT8',
      { inputs: [input({ datatype: 'UINT8' }, { binary_data_size: 8 })] },
      [Buffer.alloc(8)],
      null,
      /^inputs\[0\]\.datatype: is 'UINT8'; input 'input' is FP32 \(also accepted: FP64, FP16\)/,
    ],
    [
      'BYTES',
      { inputs: [input({ datatype: 'BYTES' }, { binary_data_size: 8 })] },
      [Buffer.alloc(8)],
      null,
      /^inputs\[0\]\.datatype: is 'BYTES'; input 'input' is FP32/,
    ],
    [
      'a BOOL lengths',
      { inputs: [input(), { name: 'lengths', shape: [1], datatype: 'BOOL', data: [1] }] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[1\]\.datatype: is 'BOOL'; input 'lengths' is INT64 \(also accepted: INT32\)/,
    ],
    [
      'an unknown input',
      { inputs: [input(), { name: 'mask', shape: [1], datatype: 'INT32', data: [1] }] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[1\]\.name: is 'mask'; the model's input is 'input' \(optional: 'lengths', 'initial_state'\)/,
    ],
    [
      'lengths longer than the sequence',
      { inputs: [input(), { name: 'lengths', shape: [1], datatype: 'INT32', data: [3] }] },
      [bytesOf(values, 'FP32')],
      null,
      // Named where the request has it: the `lengths` tensor is inputs[1], its value 0 inputs[1].data[0].
      /^inputs\[1\]\.data\[0\]: is 3, longer than the sequence \(sequence 0 of inputs\[0\] has 2 time steps\)$/,
    ],
    [
      'an initial state of another size',
      { inputs: [input(), { name: 'initial_state', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] },
      [bytesOf(values, 'FP32')],
      null,
      /^inputs\[1\]\.shape: is \[1, 2\]; input 'initial_state' is \[batch, hiddenSize\] = \[1, 3\]/,
    ],
  ];
  for (const [name, header, tensors, length, message] of cases) {
    const body = binaryBody(header, tensors);
    const res = await app.inject({
      method: 'POST',
      url: URL_INFER,
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': length ?? String(body.headerLength),
      },
      payload: body.payload,
    });
    t.equal(res.statusCode, 400, `${name}: ${res.body.slice(0, 300)}`);
    t.match(res.headers['content-type'], /^application\/json/, `${name}: application/json`);
    t.same(Object.keys(res.json()), ['error'], `${name}: only "error"`);
    t.match(res.json().error, message, name);
  }
  const without = await app.inject({
    method: 'POST',
    url: URL_INFER,
    payload: { inputs: [input()] },
  });
  t.equal(without.statusCode, 400);
  t.match(without.json().error, /binary_data_size: is given, but the request has no binary data/);
});

t.test('limits are checked from the binary shape before the bytes are read', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS }, limits: { maxInputValues: 16 } });
  const values = batchValues(1, 5);
  const body = binaryBody(
    { inputs: [{ name: 'input', shape: [1, 5, 4], datatype: 'FP32', parameters: { binary_data_size: 80 } }] },
    [bytesOf([Number.NaN, ...values.slice(1)], 'FP32')],
  );
  const res = await app.inject({
    method: 'POST',
    url: URL_INFER,
    headers: { 'inference-header-content-length': String(body.headerLength) },
    payload: body.payload,
  });
  t.equal(res.statusCode, 400);
  t.match(res.json().error, /MAX_INPUT_VALUES/, 'the limit, not the NaN in the data: the data was not read');
});

t.test('on the worker pool: binary in and out, the answer of the event loop, bit for bit', async (t) => {
  const inline = await setUp(t);
  const pooled = await build(t, { models: { dir: SHIPPED_MODELS }, pool: { threads: 1, minCompute: 0 } });
  const values = batchValues(4, 9);
  // Headers of 151 and 152 bytes: the tensor starts off and on 4-byte alignment in the body (read by one copy, or
  // as a view), and either way the plan crosses to the worker.
  for (const id of ['a', 'ab']) {
    const body = binaryBody(
      {
        id,
        inputs: [{ name: 'input', shape: [4, 9, 4], datatype: 'FP32', parameters: { binary_data_size: 576 } }],
        parameters: { binary_data_output: true },
      },
      [bytesOf(values, 'FP32')],
    );
    const send = (app: typeof inline.app) =>
      app.inject({
        method: 'POST',
        url: URL_INFER,
        headers: { 'inference-header-content-length': String(body.headerLength) },
        payload: body.payload,
      });
    const [a, b] = [await send(inline.app), await send(pooled.app)];
    t.equal(b.statusCode, 200, b.body.slice(0, 200));
    t.ok(a.rawPayload.equals(b.rawPayload), `header of ${body.headerLength} bytes: the same bytes from a worker`);
  }
});
