/**
 * encoding.ts writes a result in the form its frontend asked for. Held to each form being its writer's answer:
 * our forward JSON (nested or flat), the inference protocol's answer, and the result itself for gRPC.
 */
import t from 'tap';
import { answerText } from '../../src/codec/json-stream.js';
import { encodeAnswer } from '../../src/protocols/encoding.js';
import { writeForwardAnswer } from '../../src/protocols/forward-answer.js';
import { writeOipAnswer } from '../../src/protocols/oip-answer.js';
import { result, tensor } from '../helpers/results.js';

const answered = result([tensor('output', 'output', [1, 1, 2], [1, 2]), tensor('state', 'state', [1, 2], [1, 2])]);

t.test('each encoding is its writer', async (t) => {
  t.equal(
    answerText(encodeAnswer({ kind: 'forward', format: 'flat' }, answered)),
    answerText(writeForwardAnswer(answered, 'flat')),
  );
  t.same(JSON.parse(answerText(encodeAnswer({ kind: 'forward', format: 'nested' }, answered))).outputs, [[[1, 2]]]);
  const spec = { id: 'x', binary: [], allBinary: false };
  const oip = encodeAnswer({ kind: 'oip', spec }, answered);
  t.same(oip.binary, []);
  t.equal(answerText(oip.json), answerText(writeOipAnswer(answered, spec).json));
  t.equal(encodeAnswer({ kind: 'result' }, answered), answered, 'gRPC writes its own messages from the tensors');
});
