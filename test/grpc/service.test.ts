/**
 * inference.GRPCInferenceService over a real socket with a @grpc/grpc-js client: every RPC answers what the /v2
 * HTTP routes answer, errors carry the status code gRPC clients expect and HTTP's words.
 */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, clients, float32Bytes, float32Values, kservePackage, metadataOf, unary } from '../helpers/grpc.js';
import { credentials } from '@grpc/grpc-js';

const HELLO_INPUT = { name: 'input', datatype: 'FP32', shape: [1, 2, 4] };
const HELLO_VALUES = [1, 0, 0, 0, 0, 1, 0, 0];

async function setUp(t: Parameters<typeof buildGrpc>[0], overrides: Parameters<typeof buildGrpc>[1] = {}) {
  return buildGrpc(t, { models: { dir: SHIPPED_MODELS }, ...overrides });
}

/** The `{"error": ...}` HTTP answers for the same request. */
async function httpError(
  app: Awaited<ReturnType<typeof setUp>>['app'],
  method: 'GET' | 'POST',
  url: string,
  payload?: object,
) {
  const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
  return { statusCode: res.statusCode, error: res.json().error as string };
}

t.test('ServerLive, ServerReady and ModelReady follow the readiness HTTP probes follow', async (t) => {
  const g = await setUp(t);
  t.same(await g.unary(g.inference, 'ServerLive', {}), { live: true });
  t.same(await g.unary(g.inference, 'ServerReady', {}), { ready: true });
  t.same(await g.unary(g.inference, 'ModelReady', { name: 'hello' }), { ready: true });
  t.same(await g.unary(g.inference, 'ModelReady', { name: 'hello', version: '1' }), { ready: true });
  g.app.readiness.drain();
  t.same(await g.unary(g.inference, 'ServerLive', {}), { live: true }, 'alive while draining');
  t.same(await g.unary(g.inference, 'ServerReady', {}), { ready: false });
  t.same(await g.unary(g.inference, 'ModelReady', { name: 'hello' }), { ready: false });
  t.equal((await g.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 503, 'as HTTP says');
});

t.test('an unknown model or version is NOT_FOUND with the message HTTP gives', async (t) => {
  const g = await setUp(t);
  for (const [request, url] of [
    [{ name: 'nope' }, '/v2/models/nope'],
    [{ name: 'hello', version: '9' }, '/v2/models/hello/versions/9'],
  ] as const) {
    const http = await httpError(g.app, 'GET', url);
    t.equal(http.statusCode, 404);
    for (const method of ['ModelReady', 'ModelMetadata'])
      await t.rejects(
        g.unary(g.inference, method, request),
        { code: status.NOT_FOUND, details: http.error },
        `${method} ${url}`,
      );
    await t.rejects(
      g.unary(g.inference, 'ModelInfer', {
        model_name: request.name,
        model_version: 'version' in request ? request.version : '',
        inputs: [{ ...HELLO_INPUT, contents: { fp32_contents: HELLO_VALUES } }],
      }),
      { code: status.NOT_FOUND, details: http.error },
      `ModelInfer ${url}`,
    );
  }
  t.match(
    (await httpError(g.app, 'GET', '/v2/models/nope')).error,
    "there is no model 'nope' (models: hello, next-char, sentiment-onnx)",
  );
});

t.test('ServerMetadata is GET /v2', async (t) => {
  const g = await setUp(t);
  const http = (await g.app.inject({ method: 'GET', url: '/v2' })).json();
  t.same(await g.unary(g.inference, 'ServerMetadata', {}), http);
  t.same(http.extensions, [
    'binary_tensor_data',
    'classification',
    'model_repository',
    'model_repository(unload_dependents)',
  ]);
});

t.test(
  "ModelMetadata is GET /v2/models/{name}: Triton's fields, and the parameters as KServe's properties",
  async (t) => {
    const g = await setUp(t);
    const kserve = new (kservePackage().inference.GRPCInferenceService)(g.target, credentials.createInsecure());
    t.teardown(() => kserve.close());
    for (const [request, url] of [
      [{ name: 'hello' }, '/v2/models/hello'],
      [{ name: 'next-char', version: '1' }, '/v2/models/next-char/versions/1'],
      [{ name: 'sentiment-onnx' }, '/v2/models/sentiment-onnx'],
    ] as const) {
      const http = (await g.app.inject({ method: 'GET', url })).json();
      const shapes = (tensors: { name: string; datatype: string; shape: (string | number)[] }[]) =>
        tensors.map((tensor) => ({ ...tensor, shape: tensor.shape.map(Number) }));
      const triton = await g.unary(g.inference, 'ModelMetadata', request);
      t.same(
        { ...triton, inputs: shapes(triton.inputs), outputs: shapes(triton.outputs) },
        {
          name: http.name,
          versions: http.versions,
          platform: http.platform,
          inputs: http.inputs,
          outputs: http.outputs,
        },
        `${url} (Triton's message)`,
      );
      const viaKserve = await unary(kserve, 'ModelMetadata', request);
      t.same(viaKserve.properties, http.parameters, `${url} (KServe's message: properties)`);
      t.same(shapes(viaKserve.inputs), http.inputs);
    }
  },
);

t.test('ModelInfer with raw tensors answers raw_output_contents, as Triton does', async (t) => {
  const g = await setUp(t);
  const response = await g.unary(g.inference, 'ModelInfer', {
    model_name: 'hello',
    id: 'req-7',
    inputs: [HELLO_INPUT],
    raw_input_contents: [float32Bytes(HELLO_VALUES)],
  });
  t.equal(response.model_name, 'hello');
  t.equal(response.model_version, '1');
  t.equal(response.id, 'req-7');
  t.same(
    response.outputs.map((o: { name: string; datatype: string; shape: string[] }) => [
      o.name,
      o.datatype,
      o.shape.map(Number),
    ]),
    [
      ['output', 'FP32', [1, 2, 3]],
      ['state', 'FP32', [1, 3]],
    ],
  );
  const http = (
    await g.app.inject({
      method: 'POST',
      url: '/v2/models/hello/infer',
      payload: { inputs: [{ ...HELLO_INPUT, data: HELLO_VALUES }] },
    })
  ).json();
  // JSON carries each float32 as its shortest decimal, which reads back to the same float32.
  t.same(float32Values(response.raw_output_contents[0]), http.outputs[0].data.map(Math.fround));
  t.same(float32Values(response.raw_output_contents[1]), http.outputs[1].data.map(Math.fround));
  t.same(response.raw_output_contents.length, 2);
});

t.test('ModelInfer with typed contents, requested outputs and the classification extension', async (t) => {
  const g = await setUp(t);
  const typed = await g.unary(g.inference, 'ModelInfer', {
    model_name: 'hello',
    inputs: [{ ...HELLO_INPUT, contents: { fp32_contents: HELLO_VALUES } }],
    outputs: [{ name: 'state' }],
  });
  t.same(
    typed.outputs.map((o: { name: string }) => o.name),
    ['state'],
  );
  t.same(float32Values(typed.raw_output_contents[0]), [-0.04734589532017708, 0.5262801647186279, 0.22420813143253326]);

  // next-char: token ids (INT64) → the top 2 next characters with their labels.
  const classes = await g.unary(g.inference, 'ModelInfer', {
    model_name: 'next-char',
    inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 2, 1], contents: { int64_contents: [1, 2] } }],
    outputs: [{ name: 'output', parameters: { classification: { int64_param: 2 } } }],
  });
  const http = await g.app.inject({
    method: 'POST',
    url: '/v2/models/next-char/infer',
    payload: {
      inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 2, 1], data: [1, 2] }],
      outputs: [{ name: 'output', parameters: { classification: 2 } }],
    },
  });
  t.equal(http.statusCode, 200);
  const strings: string[] = [];
  const bytes = Buffer.from(classes.raw_output_contents[0]);
  for (let at = 0; at < bytes.length; at += 4 + bytes.readUInt32LE(at))
    strings.push(bytes.subarray(at + 4, at + 4 + bytes.readUInt32LE(at)).toString('utf8'));
  t.same(
    classes.outputs.map((o: { datatype: string; shape: string[] }) => [o.datatype, o.shape.map(Number)]),
    [['BYTES', [1, 2]]],
  );
  t.same(strings, http.json().outputs[0].data, 'BYTES elements with 4-byte length prefixes');
});

t.test(
  'invalid requests are INVALID_ARGUMENT with the message HTTP gives, naming the tensor and the limit',
  async (t) => {
    const g = await setUp(t, { limits: { maxTimeSteps: 5 } });
    const cases: { grpc: object; http: object; rename?: [string, string] }[] = [
      {
        grpc: { inputs: [{ ...HELLO_INPUT, datatype: 'UINT32', contents: { uint_contents: HELLO_VALUES } }] },
        http: { inputs: [{ ...HELLO_INPUT, datatype: 'UINT32', data: HELLO_VALUES }] },
      },
      {
        grpc: { inputs: [{ ...HELLO_INPUT, shape: [1, 2] }], raw_input_contents: [float32Bytes(HELLO_VALUES)] },
        http: { inputs: [{ ...HELLO_INPUT, shape: [1, 2], data: HELLO_VALUES }] },
      },
      {
        grpc: {
          inputs: [{ ...HELLO_INPUT, shape: [1, 6, 4] }],
          raw_input_contents: [float32Bytes(new Array(24).fill(0))],
        },
        http: { inputs: [{ ...HELLO_INPUT, shape: [1, 6, 4], data: new Array(24).fill(0) }] },
      },
      {
        grpc: { inputs: [{ ...HELLO_INPUT, name: 'inptu', contents: { fp32_contents: HELLO_VALUES } }] },
        http: { inputs: [{ ...HELLO_INPUT, name: 'inptu', data: HELLO_VALUES }] },
      },
      {
        grpc: { inputs: [{ ...HELLO_INPUT, contents: { fp32_contents: [1, 2, 3] } }] },
        http: { inputs: [{ ...HELLO_INPUT, data: [1, 2, 3] }] },
        rename: ['inputs[0].data', 'inputs[0].contents.fp32_contents'],
      },
      {
        grpc: { inputs: [HELLO_INPUT], raw_input_contents: [float32Bytes([1, 2, 3])] },
        http: { inputs: [{ ...HELLO_INPUT, data: HELLO_VALUES }] },
      },
      {
        grpc: {
          inputs: [{ ...HELLO_INPUT, contents: { fp32_contents: HELLO_VALUES } }],
          outputs: [{ name: 'states' }],
        },
        http: { inputs: [{ ...HELLO_INPUT, data: HELLO_VALUES }], outputs: [{ name: 'states' }] },
      },
    ];
    for (const [i, { grpc, http, rename }] of cases.entries()) {
      const error = await g.unary(g.inference, 'ModelInfer', { model_name: 'hello', ...grpc }).then(
        () => t.fail(`case ${i} answered`),
        (e) => e,
      );
      t.equal(error.code, status.INVALID_ARGUMENT, `case ${i}`);
      if (i === 5) {
        t.equal(
          error.details,
          'raw_input_contents[0]: is 12; shape [1, 2, 4] of FP32 takes 32 bytes (8 elements of 4 bytes)',
        );
        continue;
      }
      const answer = await httpError(g.app, 'POST', '/v2/models/hello/infer', http);
      t.equal(answer.statusCode, 400);
      t.equal(
        error.details,
        rename ? answer.error.replace(rename[0], rename[1]) : answer.error,
        `case ${i}: ${error.details}`,
      );
    }
    const limit = await g.unary(g.inference, 'ModelInfer', { model_name: 'hello', ...cases[2].grpc }).catch((e) => e);
    t.match(limit.details, /MAX_TIME_STEPS/, 'the limit is named');
  },
);

t.test(
  'the request id: the client’s x-request-id is honoured and echoed, else one is made; calls are logged',
  async (t) => {
    const g = await setUp(t);
    const echoed = await new Promise<string[]>((resolve, reject) => {
      const call = (g.inference as any).ServerMetadata(
        {},
        metadataOf({
          'x-request-id': 'client-id-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        }),
        (error: Error | null) => error && reject(error),
      );
      call.on('metadata', (metadata: any) => resolve(metadata.get('x-request-id')));
    });
    t.same(echoed, ['client-id-1']);
    const line = g.logs.find((l) => l.reqId === 'client-id-1');
    t.match(line, {
      msg: 'call completed',
      rpc: '/inference.GRPCInferenceService/ServerMetadata',
      code: 'OK',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      remoteAddress: '127.0.0.1',
    });
    t.type(line?.responseTimeMs, 'number');
    const error = await g
      .unary(g.inference, 'ModelMetadata', { name: 'nope' }, metadataOf({ 'x-request-id': 'bad id!' }))
      .catch((e) => e);
    const made = error.metadata.get('x-request-id')[0];
    t.match(
      made,
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'an insane id is replaced by a UUIDv8, in the trailers of an error',
    );
    t.match(
      g.logs.find((l) => l.reqId === made),
      { code: 'NOT_FOUND', detail: /there is no model 'nope'/ },
    );
  },
);

t.test(
  'API keys: UNAUTHENTICATED without a key, PERMISSION_DENIED with a wrong one, with HTTP’s words; probes stay open',
  async (t) => {
    const KEY = 'grpc-test-key-0123456789';
    const g = await setUp(t, { access: { apiKeys: [KEY] } });
    const infer = { model_name: 'hello', inputs: [{ ...HELLO_INPUT, contents: { fp32_contents: HELLO_VALUES } }] };
    const httpMissing = await httpError(g.app, 'POST', '/v2/models/hello/infer', {
      inputs: [{ ...HELLO_INPUT, data: HELLO_VALUES }],
    });
    t.equal(httpMissing.statusCode, 401);
    await t.rejects(g.unary(g.inference, 'ModelInfer', infer), {
      code: status.UNAUTHENTICATED,
      details: httpMissing.error,
    });
    await t.rejects(g.unary(g.inference, 'ModelInfer', infer, metadataOf({ authorization: KEY })), {
      code: status.UNAUTHENTICATED,
      details: 'the Authorization header is not of the form Bearer <key>',
    });
    await t.rejects(
      g.unary(g.inference, 'ModelInfer', infer, metadataOf({ authorization: 'Bearer wrong-key-0123456789' })),
      {
        code: status.PERMISSION_DENIED,
        details: 'the API key is not valid for this server',
      },
    );
    const answered = await g.unary(g.inference, 'ModelInfer', infer, metadataOf({ authorization: `Bearer ${KEY}` }));
    t.equal(answered.outputs.length, 2, 'the right key passes');
    for (const method of ['ServerMetadata', 'ModelMetadata', 'ModelReady'])
      await t.rejects(
        g.unary(g.inference, method, { name: 'hello' }),
        { code: status.UNAUTHENTICATED },
        `${method} needs a key`,
      );
    t.same(await g.unary(g.inference, 'ServerLive', {}), { live: true }, 'liveness is open');
    t.same(await g.unary(g.inference, 'ServerReady', {}), { ready: true }, 'readiness is open');
    t.same(await g.unary(g.health, 'Check', { service: '' }), { status: 'SERVING' }, 'the health service is open');
    t.match(
      g.logs.find((l) => l.code === 'UNAUTHENTICATED'),
      { rpc: '/inference.GRPCInferenceService/ModelInfer', detail: httpMissing.error },
    );
  },
);

t.test(
  'a message over GRPC_MAX_MESSAGE_BYTES is RESOURCE_EXHAUSTED, naming the limit; counted and logged',
  async (t) => {
    const g = await setUp(t, { grpc: { maxMessageBytes: 1000 } });
    const error = await g
      .unary(g.inference, 'ModelInfer', {
        model_name: 'hello',
        inputs: [{ ...HELLO_INPUT, shape: [1, 100, 4] }],
        raw_input_contents: [float32Bytes(new Array(400).fill(0.5))],
      })
      .catch((e) => e);
    t.equal(error.code, status.RESOURCE_EXHAUSTED);
    t.match(
      error.details,
      /^the request message is 16\d\d bytes, larger than the limit of 1000 bytes \(GRPC_MAX_MESSAGE_BYTES\)$/,
    );
    t.match(
      g.logs.find((l) => l.code === 'RESOURCE_EXHAUSTED'),
      { rpc: '/inference.GRPCInferenceService/ModelInfer', detail: error.details },
    );
    const metrics = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
    t.match(
      metrics,
      /grpc_server_handled_total\{grpc_type="unary",grpc_service="inference.GRPCInferenceService",grpc_method="ModelInfer",grpc_code="RESOURCE_EXHAUSTED"\} 1/,
    );
    t.same(await g.unary(g.inference, 'ServerLive', {}), { live: true }, 'the connection still serves');
  },
);

t.test("Triton's other RPCs are UNIMPLEMENTED", async (t) => {
  const g = await setUp(t);
  await t.rejects(g.unary(g.inference, 'ModelConfig', { name: 'hello' }), { code: status.UNIMPLEMENTED });
});

t.test('a client made for another target fails to connect with UNAVAILABLE, not a hang', async (t) => {
  const { inference } = clients(t, '127.0.0.1:1');
  const deadline = new Date(Date.now() + 5000);
  const error = await new Promise<any>((resolve) => (inference as any).ServerLive({}, { deadline }, resolve));
  t.equal(error.code, status.UNAVAILABLE);
});
