/**
 * ModelInferRequest → the core's inference request (src/grpc/infer-request.ts, through HTTP's translation), on
 * messages as the server receives them: each built as a client would send it, encoded and decoded by the served
 * definition.
 */
import t from 'tap';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { ProblemError } from '../../src/errors/problem-error.js';
import { CONTENTS_FIELD, inGrpcTerms, translateInferRequest } from '../../src/grpc/infer-request.js';
import type { ModelInferRequest } from '../../src/grpc/messages.js';
import { INFERENCE_SERVICE, loadProtocols } from '../../src/grpc/protos.js';

const modelInfer = (loadProtocols().served[INFERENCE_SERVICE] as ServiceDefinition).ModelInfer;

/** The message as the server reads it after a client sent `request`. */
const received = (request: object): ModelInferRequest =>
  modelInfer.requestDeserialize(modelInfer.requestSerialize(request)) as ModelInferRequest;

const translate = (request: object) => translateInferRequest(received(request));

/** The message of the problem `fn` throws. */
function problem(fn: () => unknown): { kind: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return { kind: error.kind, message: error.message };
    throw error;
  }
  throw new Error('no problem thrown');
}

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** A tensor's values as the core gets them: bytes, or JSON numbers. */
const valuesOf = (tensor: { values: { kind: string; value: unknown } }) => tensor.values;

t.test('raw inputs become bytes tensors, each its own entry of raw_input_contents, in input order', async (t) => {
  const a = f32([1, 0, 0, 0, 0, 1, 0, 0]);
  const lengths = Buffer.from(new BigInt64Array([2n]).buffer);
  const out = translate({
    model_name: 'hello',
    model_version: '1',
    id: 'r-1',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 2, 4] },
      { name: 'lengths', datatype: 'INT64', shape: [1] },
    ],
    raw_input_contents: [a, lengths],
  });
  t.same(out.request.model, { kind: 'served', name: 'hello', version: '1' });
  t.same(
    out.request.inputs.map(({ name, datatype, shape, at }) => ({ name, datatype, shape, at: at.size })),
    [
      { name: 'input', datatype: 'FP32', shape: [1, 2, 4], at: 'inputs[0].parameters.binary_data_size' },
      { name: 'lengths', datatype: 'INT64', shape: [1], at: 'inputs[1].parameters.binary_data_size' },
    ],
  );
  t.same(Buffer.from(valuesOf(out.request.inputs[0]).value as Uint8Array), a);
  t.same(Buffer.from(valuesOf(out.request.inputs[1]).value as Uint8Array), lengths);
  t.equal(out.request.outputs, 'all', 'every output, by default');
  t.same(out.encoding, { kind: 'oip-grpc', spec: { id: 'r-1' } }, 'answered as a ModelInferResponse with its id');
  t.same(out.sources, ['raw_input_contents[0]', 'raw_input_contents[1]']);
});

t.test('one raw input is taken as received, without a copy', async (t) => {
  const message = received({
    model_name: 'm',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
    raw_input_contents: [f32([1, 2])],
  });
  const out = translateInferRequest(message);
  const bytes = valuesOf(out.request.inputs[0]).value as Uint8Array;
  t.equal(bytes.buffer, message.raw_input_contents[0].buffer, 'the same memory');
  t.equal(bytes.byteOffset, message.raw_input_contents[0].byteOffset);
  t.same(out.request.model, { kind: 'served', name: 'm' }, 'an empty version is the latest');
  t.same(out.encoding.spec, { id: '' }, 'an empty id is answered empty');
});

t.test('typed contents become JSON data, each datatype from its own field', async (t) => {
  const cases: [string, object, unknown[]][] = [
    ['FP32', { fp32_contents: [1.5, -2] }, [1.5, -2]],
    ['FP64', { fp64_contents: [0.1, 2] }, [0.1, 2]],
    ['INT32', { int_contents: [-3, 7] }, [-3, 7]],
    ['INT16', { int_contents: [1, 2] }, [1, 2]],
    ['INT8', { int_contents: [1, 2] }, [1, 2]],
    ['UINT8', { uint_contents: [1, 255] }, [1, 255]],
    ['UINT32', { uint_contents: [4294967295, 0] }, [4294967295, 0]],
    ['INT64', { int64_contents: ['-9007199254740991', '9007199254740991'] }, [-9007199254740991, 9007199254740991]],
    ['UINT64', { uint64_contents: ['18446744073709551615', '3'] }, [2 ** 64, 3]],
  ];
  for (const [datatype, contents, data] of cases) {
    const out = translate({ model_name: 'm', inputs: [{ name: 'x', datatype, shape: [2], contents }] });
    const { name, shape } = out.request.inputs[0];
    t.same({ name, shape, datatype: out.request.inputs[0].datatype }, { name: 'x', shape: [2], datatype }, datatype);
    t.same(valuesOf(out.request.inputs[0]), { kind: 'flat', value: data }, `${datatype}: its JSON numbers`);
    t.same(out.sources, [`inputs[0].contents.${CONTENTS_FIELD[datatype]}`]);
  }
  // BOOL and BYTES pass as JSON booleans and strings, which the schema refuses as it does over HTTP.
  const bool = problem(() =>
    translate({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'BOOL', shape: [1], contents: { bool_contents: [true] } }],
    }),
  );
  t.match(bool.message, /^inputs\[0\]\.contents\.bool_contents/);
  const bytes = problem(() =>
    translate({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('hi')] } }],
    }),
  );
  t.match(bytes.message, /^inputs\[0\]\.contents\.bytes_contents/);
});

t.test(
  'int64 values are read exactly: past 2^53 they stay past it, and are refused where ids are checked',
  async (t) => {
    const out = translate({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'INT64', shape: [1], contents: { int64_contents: ['9007199254740993'] } }],
    });
    const [value] = valuesOf(out.request.inputs[0]).value as number[];
    t.notOk(Number.isSafeInteger(value), 'not rounded into the safe range');
  },
);

t.test('raw and typed contents together are refused, as are raw counts that do not match the inputs', async (t) => {
  const mixed = problem(() =>
    translate({
      model_name: 'm',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1] },
        { name: 'b', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } },
      ],
      raw_input_contents: [f32([1]), f32([2])],
    }),
  );
  t.same(mixed, {
    kind: 'invalid-request',
    message:
      'inputs[1].contents: has fp32_contents while the request has raw_input_contents; send every input raw, in input order, or none',
  });
  const count = problem(() =>
    translate({
      model_name: 'm',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1] },
        { name: 'b', datatype: 'FP32', shape: [1] },
      ],
      raw_input_contents: [f32([1])],
    }),
  );
  t.equal(
    count.message,
    "raw_input_contents: has 1 tensors; inputs has 2: send every input's tensor in raw_input_contents, in input order, or none",
  );
});

t.test('typed contents in the wrong field, in two fields, or FP16 typed are refused, naming the field', async (t) => {
  t.equal(
    problem(() =>
      translate({
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { int_contents: [1] } }],
      }),
    ).message,
    'inputs[0].contents: has int_contents; datatype FP32 takes fp32_contents',
  );
  t.equal(
    problem(() =>
      translate({
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1], fp64_contents: [1] } }],
      }),
    ).message,
    "inputs[0].contents: has fp32_contents and fp64_contents; a tensor's elements are in one field, its datatype's",
  );
  t.equal(
    problem(() =>
      translate({
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }],
      }),
    ).message,
    'inputs[0].contents: cannot hold FP16 elements (no field of contents does); send them in raw_input_contents',
  );
});

t.test('an input without contents has no elements: the checks that count them say so', async (t) => {
  const out = translate({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }] });
  t.same(valuesOf(out.request.inputs[0]), { kind: 'flat', value: [] });
});

t.test('parameters as Triton clients send them mean what the JSON parameters mean over HTTP', async (t) => {
  const out = translate({
    model_name: 'm',
    parameters: {
      sequence_id: { int64_param: 42 },
      sequence_start: { bool_param: true },
      sequence_end: { bool_param: false },
      priority: { uint64_param: 2 },
      timeout: { int64_param: 5000 },
      tag: { string_param: 'a' },
      scale: { double_param: 0.5 },
      binary_data_output: { bool_param: false },
      nothing: {},
    },
    inputs: [
      {
        name: 'x',
        datatype: 'FP32',
        shape: [1],
        parameters: { binary_data_size: { int64_param: 99 } },
        contents: { fp32_contents: [1] },
      },
    ],
    outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 }, binary_data: { bool_param: false } } }],
  });
  t.same(out.request.sequence, {
    id: 42n,
    start: true,
    end: false,
    at: 'parameters.sequence_id',
    startAt: 'parameters.sequence_start',
  });
  t.same(out.request.options, { priority: 2, timeoutMs: 5 }, 'priority; timeout in µs, to whole ms up');
  t.same(valuesOf(out.request.inputs[0]), { kind: 'flat', value: [1] }, "the binary extension's size is dropped");
  t.same(out.request.outputs, [
    { name: 'y', classes: { value: 3, at: 'outputs[0].parameters.classification' }, at: 'outputs[0]' },
  ]);
  const sequenceOf = (parameter: object) =>
    translate({ model_name: 'm', parameters: { sequence_id: parameter }, inputs: [] }).request.sequence?.id;
  t.equal(sequenceOf({ string_param: 'abc' }), 'abc', 'a string id');
  t.equal(sequenceOf({ uint64_param: '18446744073709551615' }), 18446744073709551615n, '2^64 - 1, exact');
  t.equal(sequenceOf({ int64_param: '9223372036854775807' }), 9223372036854775807n, '2^63 - 1, exact');
  t.equal(sequenceOf({ int64_param: '9007199254740993' }), 9007199254740993n, '2^53 + 1, not rounded');
  t.equal(sequenceOf({ int64_param: 0 }), undefined, '0 names no sequence');
  t.equal(
    problem(() => sequenceOf({ int64_param: -5 })).message,
    'parameters.sequence_id: is -5; expected a sequence id, an unsigned 64-bit integer or a string',
  );
  t.equal(
    problem(() =>
      translate({ model_name: 'm', parameters: { priority: { uint64_param: '18446744073709551615' } }, inputs: [] }),
    ).message,
    'parameters.priority: is 18446744073709551615; beyond 2^53, which this server does not read',
  );
});

t.test('the schema validates the translation as it validates HTTP bodies', async (t) => {
  const negative = problem(() =>
    translate({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], contents: { fp32_contents: [] } }],
    }),
  );
  t.equal(negative.kind, 'invalid-request');
  t.match(negative.message, /^inputs\[0\]\.shape\[0\]: /);
  const nan = problem(() =>
    translate({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [Number.NaN] } }],
    }),
  );
  t.match(nan.message, /^inputs\[0\]\.contents\.fp32_contents\[0\]: /);
});

t.test("inGrpcTerms names gRPC's fields where HTTP's paths name fields gRPC has not", async (t) => {
  const sources = ['raw_input_contents[0]', 'inputs[1].contents.int64_contents'];
  const renamed = inGrpcTerms(
    ProblemError.at('invalid-request', [
      { path: 'inputs[0].parameters.binary_data_size', message: 'is 28; shape [1, 2, 4] of FP32 takes 32 bytes' },
    ]),
    sources,
  ) as ProblemError;
  t.equal(renamed.message, 'raw_input_contents[0]: is 28; shape [1, 2, 4] of FP32 takes 32 bytes');
  t.equal(
    (
      inGrpcTerms(
        ProblemError.at('invalid-request', [{ path: 'inputs[1].data[3]', message: 'is -1' }]),
        sources,
      ) as ProblemError
    ).message,
    'inputs[1].contents.int64_contents[3]: is -1',
  );
  const other = ProblemError.at('invalid-request', [{ path: 'inputs[0].shape', message: 'has 2 dimensions' }]);
  t.equal(inGrpcTerms(other, sources), other, 'other paths are left as they are');
  const overloaded = new ProblemError('overloaded', 'busy');
  t.equal(inGrpcTerms(overloaded, sources), overloaded);
});
