/**
 * parseJsonBody: what secure-json-parse (protoAction and constructorAction 'error') returns or refuses, for
 * bodies that take the plain JSON.parse path (no backslash, no `__proto__`, no `constructor` in the text)
 * and bodies that do not, escaped keys among them.
 */
import secureJson from 'secure-json-parse';
import t from 'tap';
import { parseJsonBody } from '../../src/codec/json-parse.js';
import { ProblemError } from '../../src/errors/problem-error.js';

function outcome(parse: () => unknown): { value: unknown } | { refused: true } {
  try {
    return { value: parse() };
  } catch {
    return { refused: true };
  }
}

const BODIES = [
  '{"inputs":[[[1,0,0,0],[0,1,0,0]]],"hiddenSize":2,"seed":42}',
  '{"text":["a \\"quoted\\" word"],"hiddenSize":1}',
  '{"text":["constructor","__proto__"],"hiddenSize":1}',
  '{"constructor":1}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"\\u0063onstructor":{"prototype":{"polluted":true}}}',
  '{"__proto__":{"polluted":true}}',
  '{"\\u005f_proto__":{"polluted":true}}',
  '{"_\\u005fproto__":{"polluted":true}}',
  '{"a":{"b":[{"__proto__":1}]}}',
  '[1,2,3]',
  '"just a string"',
  '{"unterminated":',
];

t.test('the same value, or the same refusal, as secure-json-parse', async (t) => {
  for (const text of BODIES) {
    const expected = outcome(() =>
      secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
    );
    const actual = outcome(() => parseJsonBody(Buffer.from(text)));
    t.same(actual, expected, text);
  }
});

t.test('refusals are invalid-json problems at $, with the reason', async (t) => {
  for (const [text, reason] of [
    ['{"\\u005f_proto__":{}}', /__proto__|prototype|forbidden/i],
    ['{"constructor":{"prototype":{}}}', /constructor|prototype|forbidden/i],
    ['{"a":', /is not valid JSON/],
  ] as const) {
    try {
      parseJsonBody(Buffer.from(text));
      t.fail(`${text} was accepted`);
    } catch (error) {
      t.ok(error instanceof ProblemError && error.kind === 'invalid-json', text);
      t.equal((error as ProblemError).errors[0].path, '$');
      t.match((error as ProblemError).errors[0].message, reason, text);
    }
  }
});
