/**
 * ModelInferResponse from computed tensors (`inferResponse`) and from the HTTP route's answer (`answerResponse`):
 * raw_output_contents little-endian row-major, BYTES with 4-byte length prefixes, and the two equal byte for byte
 * for the same tensors, binary or JSON.
 */
import t from 'tap';
import { answerResponse, inferResponse } from '../../src/grpc/infer-response.js';
import { writeOipAnswer } from '../../src/models/inference-protocol.js';

const output = new Float32Array([0.1, -2.5, 3e-8, 1e30, 0.25, 7]);
const tensors = new Map([
  ['output', { shape: [1, 2, 3], data: output }],
  ['state', { shape: [1, 3], data: output.subarray(3) }],
]);
const model = { name: 'm', version: '2', labels: ['a', 'bé', 'c'] };

t.test('inferResponse writes each tensor raw, in order, with name, datatype and shape', async (t) => {
  const response = inferResponse('m', '2', 'x', [
    { name: 'output', datatype: 'FP32', shape: [1, 2, 3], data: output },
    { name: 'classes', datatype: 'BYTES', shape: [1, 2], data: ['0.5:1:bé', ''] },
  ]);
  t.same(response.outputs, [
    { name: 'output', datatype: 'FP32', shape: [1, 2, 3] },
    { name: 'classes', datatype: 'BYTES', shape: [1, 2] },
  ]);
  const raw = Buffer.from(response.raw_output_contents[0]);
  t.same(
    Array.from({ length: 6 }, (_, i) => raw.readFloatLE(4 * i)),
    Array.from(output),
  );
  const bytes = Buffer.from(response.raw_output_contents[1]);
  t.equal(bytes.readUInt32LE(0), 9, 'a 4-byte little-endian length, in UTF-8 bytes');
  t.equal(bytes.subarray(4, 13).toString('utf8'), '0.5:1:bé');
  t.equal(bytes.readUInt32LE(13), 0);
  t.equal(bytes.length, 17);
});

t.test("the route's answer gives the same response, binary or JSON, classification included", async (t) => {
  const outputs = (binary: boolean) => [
    { name: 'output', binary, classification: null },
    { name: 'state', binary, classification: null },
    { name: 'output', binary, classification: 2 },
  ];
  const request = { id: 'x', inputs: [] };
  const binary = answerResponse(writeOipAnswer(model, request, outputs(true), tensors));
  const json = answerResponse(writeOipAnswer(model, request, outputs(false), tensors));
  t.same(binary, json);
  t.equal(binary.model_name, 'm');
  t.equal(binary.model_version, '2');
  t.equal(binary.id, 'x');
  const classes = binary.outputs[2];
  t.same(classes, { name: 'output', datatype: 'BYTES', shape: [1, 2, 2] });
  const strings: string[] = [];
  const bytes = Buffer.from(binary.raw_output_contents[2]);
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    strings.push(bytes.subarray(at + 4, at + 4 + length).toString('utf8'));
    at += 4 + length;
  }
  const fromTensors = inferResponse('m', '2', 'x', [
    { name: 'output', datatype: 'FP32', shape: [1, 2, 3], data: output },
    { name: 'state', datatype: 'FP32', shape: [1, 3], data: output.subarray(3) },
    { name: 'output', datatype: 'BYTES', shape: [1, 2, 2], data: strings },
  ]);
  t.same(
    fromTensors.raw_output_contents.map((b) => Buffer.from(b)),
    binary.raw_output_contents.map((b) => Buffer.from(b)),
  );
  t.same(fromTensors.outputs, binary.outputs);
  t.same(strings, ['0.1:0:a', '3e-8:2:c', '1e+30:0:a', '7:2:c'], 'the top 2 of each row, score:index:label');
});

t.test('an answer without id answers the empty id', async (t) => {
  const response = answerResponse(
    writeOipAnswer(model, { inputs: [] }, [{ name: 'state', binary: true, classification: null }], tensors),
  );
  t.equal(response.id, '');
  t.equal(response.outputs.length, 1);
});
