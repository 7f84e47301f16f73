/**
 * The gRPC answer (src/protocols/oip-grpc-answer.ts) from a result: every output raw in raw_output_contents,
 * little-endian row-major, a classification as BYTES strings with 4-byte length prefixes; each output's bytes equal
 * to the binary output HTTP's answer (oip-answer.ts) writes for the same result, and a non-finite value refused with
 * HTTP's words.
 */
import t from 'tap';
import { ProblemError } from '../../src/errors/problem-error.js';
import type { InferenceResult } from '../../src/inference/request.js';
import { writeOipAnswer } from '../../src/protocols/oip-answer.js';
import { writeOipGrpcAnswer } from '../../src/protocols/oip-grpc-answer.js';

const output = new Float32Array([0.1, -2.5, 3e-8, 1e30, 0.25, 7]);
const facts = {
  model: { name: 'm', version: '2' },
  inputShape: [1, 2, 4],
  vocabulary: null,
  labels: ['a', 'bé', 'c'],
  summary: null,
  graph: null,
};
const result: InferenceResult = {
  tensors: [
    { name: 'output', role: 'output', shape: [1, 2, 3], data: output, classes: null },
    { name: 'state', role: 'state', shape: [1, 3], data: output.subarray(3), classes: null },
    { name: 'output', role: 'output', shape: [1, 2, 3], data: output, classes: 2 },
  ],
  facts,
};

/** BYTES elements: each a 4-byte little-endian length, then its UTF-8. */
function strings(bytes: Uint8Array): string[] {
  const buffer = Buffer.from(bytes);
  const out: string[] = [];
  for (let at = 0; at < buffer.length; ) {
    const length = buffer.readUInt32LE(at);
    out.push(buffer.subarray(at + 4, at + 4 + length).toString('utf8'));
    at += 4 + length;
  }
  return out;
}

t.test('every output raw, in order, with its name, datatype and shape', async (t) => {
  const answer = writeOipGrpcAnswer(result, { id: 'x' });
  t.equal(answer.model_name, 'm');
  t.equal(answer.model_version, '2');
  t.equal(answer.id, 'x');
  t.same(answer.outputs, [
    { name: 'output', datatype: 'FP32', shape: [1, 2, 3] },
    { name: 'state', datatype: 'FP32', shape: [1, 3] },
    { name: 'output', datatype: 'BYTES', shape: [1, 2, 2] },
  ]);
  const raw = Buffer.from(answer.raw_output_contents[0]);
  t.same(
    Array.from({ length: 6 }, (_, i) => raw.readFloatLE(4 * i)),
    Array.from(output),
    'float32, little-endian, row-major',
  );
  t.same(
    strings(answer.raw_output_contents[2]),
    ['0.1:0:a', '3e-8:2:c', '1e+30:0:a', '7:2:c'],
    'the top 2 of each row, score:index:label',
  );
  t.equal(Buffer.from(answer.raw_output_contents[2]).readUInt32LE(0), 7, 'a 4-byte little-endian length');
});

t.test("each output's bytes are the binary output HTTP writes for the same result", async (t) => {
  const grpc = writeOipGrpcAnswer(result, { id: 'x' });
  const http = writeOipAnswer(result, { id: 'x', binary: [], allBinary: true });
  t.same(
    grpc.raw_output_contents.map((b) => Buffer.from(b)),
    http.binary.map((b) => Buffer.from(b)),
  );
  const json = JSON.parse(Buffer.from(http.json as Uint8Array).toString('utf8'));
  t.same(
    grpc.outputs,
    json.outputs.map(({ name, datatype, shape }: { name: string; datatype: string; shape: number[] }) => ({
      name,
      datatype,
      shape,
    })),
    'the same names, datatypes and shapes',
  );
});

t.test('a classification of a model without labels is score:index', async (t) => {
  const answer = writeOipGrpcAnswer({ tensors: [result.tensors[2]], facts: { ...facts, labels: null } }, { id: '' });
  t.same(strings(answer.raw_output_contents[0]), ['0.1:0', '3e-8:2', '1e+30:0', '7:2']);
});

t.test('a result that is not finite is refused as over HTTP', async (t) => {
  const overflow: InferenceResult = {
    tensors: [{ name: 'output', role: 'output', shape: [2], data: new Float32Array([1, Infinity]), classes: null }],
    facts,
  };
  const refusal = (write: () => unknown) => {
    try {
      write();
    } catch (error) {
      return error instanceof ProblemError ? [error.kind, error.message] : error;
    }
    return null;
  };
  t.same(
    refusal(() => writeOipGrpcAnswer(overflow, { id: '' })),
    ['non-finite-result', "outputs: output 'output' has Infinity at element 1; JSON cannot carry it"],
  );
  t.same(
    refusal(() => writeOipGrpcAnswer(overflow, { id: '' })),
    refusal(() => writeOipAnswer(overflow, { id: undefined, binary: [], allBinary: true })),
  );
});
