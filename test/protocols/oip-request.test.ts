/**
 * oip-request.ts turns the Open Inference Protocol's request (and the binary data after its JSON) into an inference
 * request. Held to the inputs with their names, datatypes, shapes and places, binary data assigned in input order
 * with every byte accounted for, the outputs asked for with binary_data and classification, the schedule
 * (priority, timeout in µs), a sequence id up to 2^64, and each refusal's path and message.
 */
import t from 'tap';
import { OipInferenceRequest } from '../../schemas/oip.js';
import { flag, oipRequest } from '../../src/protocols/oip-request.js';
import { problemOf } from '../helpers/inference.js';

const body = (value: Record<string, unknown>) => OipInferenceRequest.parse(value);
const input = { name: 'input', shape: [1, 1, 2], datatype: 'FP32', data: [1, 2] };

t.test('JSON inputs, every output, the default schedule', async (t) => {
  const { request, encoding } = oipRequest(body({ id: 'r1', inputs: [input] }), null, 'hello', undefined);
  t.same(request.model, { kind: 'served', name: 'hello' });
  t.same(request.inputs, [
    {
      name: 'input',
      datatype: 'FP32',
      shape: [1, 1, 2],
      values: { kind: 'flat', value: [1, 2] },
      at: {
        tensor: 'inputs[0]',
        shape: 'inputs[0].shape',
        data: 'inputs[0].data',
        size: 'inputs[0].parameters.binary_data_size',
      },
    },
  ]);
  t.equal(request.outputs, 'all');
  t.same(request.options, {});
  t.equal(request.sequence, null);
  t.same(encoding, { kind: 'oip', spec: { id: 'r1', binary: [], allBinary: false } });
  const nested = oipRequest(body({ inputs: [{ ...input, data: [[[1, 2]]] }] }), null, 'hello', '3');
  t.same(nested.request.inputs[0].values, { kind: 'nested', value: [[[1, 2]]] });
  t.same(nested.request.model, { kind: 'served', name: 'hello', version: '3' });
});

t.test('binary data: assigned in input order, every byte accounted for', async (t) => {
  const bytes = Uint8Array.from({ length: 12 }, (_, i) => i);
  const twoInputs = body({
    inputs: [
      { name: 'input', shape: [1, 1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
      { name: 'lengths', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
    ],
  });
  const { request } = oipRequest(twoInputs, bytes, 'hello', undefined);
  t.same(
    request.inputs.map((tensor) => [tensor.name, tensor.values.kind, [...(tensor.values.value as Uint8Array)]]),
    [
      ['input', 'bytes', [0, 1, 2, 3, 4, 5, 6, 7]],
      ['lengths', 'bytes', [8, 9, 10, 11]],
    ],
  );
  const refused = (value: Record<string, unknown>, binary: Uint8Array | null) =>
    problemOf(() => oipRequest(body(value), binary, 'hello', undefined)).errors;
  t.same(refused(twoInputs, bytes.subarray(0, 10)), [
    {
      path: 'inputs[1].parameters.binary_data_size',
      message: 'is 4, but only 2 bytes of binary data are left after the JSON and the inputs before it',
    },
  ]);
  t.same(refused(twoInputs, Uint8Array.of(...bytes, 12)), [
    {
      path: '$',
      message:
        "has 13 bytes after the JSON (Inference-Header-Content-Length), but the inputs' binary_data_size add up to 12",
    },
  ]);
  t.match(refused(twoInputs, null), [
    { path: 'inputs[0].parameters.binary_data_size', message: /^is given, but the request has no binary data/ },
  ]);
  t.same(refused({ inputs: [{ ...input, parameters: { binary_data_size: 8 } }] }, bytes.subarray(0, 8)), [
    {
      path: 'inputs[0].data',
      message: 'is given with parameters.binary_data_size; send the tensor one way or the other',
    },
  ]);
  t.same(refused({ inputs: [{ name: 'input', shape: [1], datatype: 'FP32' }] }, null), [
    { path: 'inputs[0]', message: 'has neither data nor parameters.binary_data_size' },
  ]);
  t.same(
    refused({ inputs: [{ name: 'input', shape: [1], datatype: 'FP32', parameters: { binary_data_size: -1 } }] }, bytes),
    [{ path: 'inputs[0].parameters.binary_data_size', message: 'is -1; expected a number of bytes' }],
  );
});

t.test('outputs: binary_data and classification per output, binary_data_output for the rest', async (t) => {
  const { request, encoding } = oipRequest(
    body({
      inputs: [input],
      outputs: [
        { name: 'state', parameters: { binary_data: true } },
        { name: 'output', parameters: { classification: 2 } },
      ],
      parameters: { binary_data_output: true },
    }),
    null,
    'hello',
    undefined,
  );
  t.same(request.outputs, [
    { name: 'state', classes: null, at: 'outputs[0]' },
    { name: 'output', classes: { value: 2, at: 'outputs[1].parameters.classification' }, at: 'outputs[1]' },
  ]);
  t.same(encoding, { kind: 'oip', spec: { id: undefined, binary: [true, undefined], allBinary: true } });
  t.same(
    problemOf(() =>
      oipRequest(
        body({ inputs: [input], outputs: [{ name: 'o', parameters: { classification: 0 } }] }),
        null,
        'h',
        undefined,
      ),
    ).errors,
    [
      {
        path: 'outputs[0].parameters.classification',
        message: 'is 0; expected a count of classes, an integer of at least 1',
      },
    ],
  );
  t.same(
    problemOf(() =>
      oipRequest(
        body({ inputs: [input], outputs: [{ name: 'o', parameters: { binary_data: 1 } }] }),
        null,
        'h',
        undefined,
      ),
    ).errors,
    [{ path: 'outputs[0].parameters.binary_data', message: 'is 1; expected true or false' }],
  );
  t.equal(flag(undefined, 'binary_data', '$'), undefined);
  t.equal(flag({ binary_data: false }, 'binary_data', '$'), false);
});

t.test('the schedule: priority, and timeout in µs rounded up to ms (0: none)', async (t) => {
  const options = (parameters: Record<string, unknown>) =>
    oipRequest(body({ inputs: [input], parameters }), null, 'h', undefined).request.options;
  t.same(options({ priority: 2, timeout: 1500 }), { priority: 2, timeoutMs: 2 });
  t.same(options({ timeout: 1 }), { timeoutMs: 1 });
  t.same(options({ timeout: 0, priority: 0 }), { priority: 0 });
  t.same(problemOf(() => options({ priority: -1 })).errors, [
    { path: 'parameters.priority', message: 'is -1; expected a priority level, an integer of at least 0' },
  ]);
  t.same(problemOf(() => options({ timeout: 'soon' })).errors, [
    { path: 'parameters.timeout', message: 'is "soon"; expected a timeout in microseconds, an integer' },
  ]);
});

t.test('a sequence: an id up to 2^64 or a string; 0 and "" are none', async (t) => {
  const sequence = (parameters: Record<string, unknown>, exact: string | null = null) =>
    oipRequest(body({ inputs: [input], parameters }), null, 'h', undefined, exact).request.sequence;
  t.same(sequence({ sequence_id: 7, sequence_start: true }), {
    id: 7n,
    start: true,
    end: false,
    at: 'parameters.sequence_id',
    startAt: 'parameters.sequence_start',
  });
  t.same(sequence({ sequence_id: 2 ** 64 - 1 }, '18446744073709551615')?.id, 2n ** 64n - 1n, 'the digits as sent');
  t.same(sequence({ sequence_id: 'abc', sequence_end: true })?.id, 'abc');
  t.equal(sequence({ sequence_id: 0 }), null);
  t.equal(sequence({ sequence_id: '' }), null);
  t.same(problemOf(() => sequence({ sequence_id: 0, sequence_start: true })).errors, [
    {
      path: '$.parameters.sequence_start',
      message:
        'is true, but the request names no sequence (parameters.sequence_id is absent, 0 or ""): send sequence_id with it',
    },
  ]);
  t.same(problemOf(() => sequence({ sequence_id: -3 })).errors, [
    {
      path: 'parameters.sequence_id',
      message: 'is -3; expected a sequence id, an unsigned 64-bit integer or a string',
    },
  ]);
  t.same(problemOf(() => sequence({ sequence_id: true })).errors, [
    {
      path: 'parameters.sequence_id',
      message: 'is true; expected a sequence id, an unsigned 64-bit integer or a string',
    },
  ]);
});
