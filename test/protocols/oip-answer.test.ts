/**
 * oip-answer.ts writes the Open Inference Protocol's response from a result. Held to the exact JSON (model name and
 * version, id, outputs in order, shortest float32 decimals), binary outputs (binary_data_size, then the bytes
 * little-endian after the JSON), ranked outputs as BYTES strings `score:index:label` in JSON or as length-prefixed
 * bytes, and the 422 naming an output with a value JSON cannot carry.
 */
import t from 'tap';
import { answerText } from '../../src/codec/json-stream.js';
import {
  OIP_BYTES,
  OIP_FP32,
  bytesElements,
  classificationTensor,
  writeOipAnswer,
} from '../../src/protocols/oip-answer.js';
import { problemOf } from '../helpers/inference.js';
import { result, tensor } from '../helpers/results.js';

const spec = (binary: (boolean | undefined)[] = [], allBinary = false, id: string | undefined = undefined) => ({
  id,
  binary,
  allBinary,
});
const y = tensor('y', 'other', [1, 2], [0.1, -2]);
const hN = tensor('h_n', 'other', [1, 1, 1], [0.5]);

t.test('JSON outputs in order, with the id', async (t) => {
  const answer = writeOipAnswer(result([y, hN]), spec([], false, 'req-7'));
  t.same(answer.binary, []);
  t.equal(
    answerText(answer.json),
    '{"model_name":"m","model_version":"1","id":"req-7","outputs":[' +
      '{"name":"y","datatype":"FP32","shape":[1,2],"data":[0.1,-2]},' +
      '{"name":"h_n","datatype":"FP32","shape":[1,1,1],"data":[0.5]}]}',
  );
  t.same([OIP_FP32, OIP_BYTES], ['FP32', 'BYTES']);
});

t.test('binary outputs: their size in the JSON, their bytes after it', async (t) => {
  const answer = writeOipAnswer(result([y, hN]), spec([undefined, false], true));
  const json = JSON.parse(answerText(answer.json));
  t.same(json.outputs[0], { name: 'y', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } });
  t.same(json.outputs[1].data, [0.5], "an output's own binary_data: false wins over binary_data_output");
  t.equal(answer.binary.length, 1);
  t.same([...new Float32Array(answer.binary[0].slice().buffer)], [Math.fround(0.1), -2]);
  t.ok(answer.json instanceof Uint8Array, 'the JSON header as bytes, to send before the binary data');
});

t.test('ranked outputs: BYTES strings score:index:label', async (t) => {
  const scores = tensor('probs', 'other', [2, 3], [0.1, 0.7, 0.2, 0.6, 0.3, 0.1], 2);
  t.same(classificationTensor(scores, 2, null), { shape: [2, 2], strings: ['0.7:1', '0.2:2', '0.6:0', '0.3:1'] });
  const json = JSON.parse(answerText(writeOipAnswer(result([scores], { labels: ['a', 'b', 'c'] }), spec()).json));
  t.same(json.outputs, [
    { name: 'probs', datatype: 'BYTES', shape: [2, 2], data: ['0.7:1:b', '0.2:2:c', '0.6:0:a', '0.3:1:b'] },
  ]);
  const binary = writeOipAnswer(result([scores]), spec([true]));
  t.same(Buffer.from(binary.binary[0]), Buffer.from(bytesElements(['0.7:1', '0.2:2', '0.6:0', '0.3:1'])));
  t.same(JSON.parse(answerText(binary.json)).outputs[0].parameters, { binary_data_size: 4 * 4 + 20 });
});

t.test('bytesElements: a 4-byte little-endian length, then the UTF-8', async (t) => {
  t.same([...bytesElements(['ab', '', 'é'])], [2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]);
  t.same([...bytesElements([])], []);
});

t.test('refusals', async (t) => {
  const nan = problemOf(() => writeOipAnswer(result([y, tensor('z', 'other', [2], [1, Number.NaN])]), spec()));
  t.equal(nan.kind, 'non-finite-result');
  t.same(nan.errors, [{ path: 'outputs', message: "output 'z' has NaN at element 1; JSON cannot carry it" }]);
  t.throws(() => writeOipAnswer(result([y], { model: null }), spec()), /a model without a name/);
});
