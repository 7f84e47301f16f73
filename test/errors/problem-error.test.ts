/**
 * The error list's bound and the echo cut: at most 20 errors in a problem, with the true count in `errorCount`
 * and the detail; a value the client sent cut to 64 characters wherever a message or a path quotes it.
 */
import t from 'tap';
import {
  MAX_ECHO_CHARS,
  MAX_REPORTED_ERRORS,
  ProblemError,
  jsonPath,
  problemBody,
  quoted,
  truncated,
} from '../../src/errors/problem-error.js';

const errors = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `x[${i}]`, message: 'is wrong' }));

t.test('truncated cuts at 64 characters with an ellipsis, never inside a surrogate pair', async (t) => {
  t.equal(MAX_ECHO_CHARS, 64);
  t.equal(truncated('hidden_size'), 'hidden_size');
  t.equal(truncated('a'.repeat(64)), 'a'.repeat(64), 'exactly 64: as it is');
  t.equal(truncated('a'.repeat(10_000)), `${'a'.repeat(64)}…`);
  const emoji = '😀'.repeat(100);
  t.equal(truncated(emoji), `${'😀'.repeat(64)}…`, '64 code points, each whole');
  t.equal(truncated('😀'.repeat(40)), '😀'.repeat(40), '40 code points (80 UTF-16 units): not cut');
  t.equal(quoted('b'.repeat(100)), `"${'b'.repeat(64)}…"`);
});

t.test('jsonPath quotes and cuts a long key', async (t) => {
  t.equal(jsonPath(['inputs', 2, 7]), 'inputs[2][7]');
  t.equal(jsonPath(['a b']), '["a b"]');
  t.equal(jsonPath(['k'.repeat(10_000)]), `["${'k'.repeat(64)}…"]`);
  t.equal(jsonPath(['pytorchWeights', 'k'.repeat(65)]), `pytorchWeights["${'k'.repeat(64)}…"]`);
});

t.test('a problem lists at most 20 errors and counts the rest', async (t) => {
  t.equal(MAX_REPORTED_ERRORS, 20);
  const few = ProblemError.at('invalid-request', errors(3));
  t.equal(few.message, 'x[0]: is wrong (and 2 more)', 'every error listed: the detail as before');
  t.equal(few.errorCount, 3);
  t.notOk('errorCount' in problemBody(few, '/x', 'id'), 'no errorCount when the list is whole');
  t.equal(ProblemError.at('invalid-request', errors(1)).message, 'x[0]: is wrong');

  const cut = ProblemError.at('invalid-request', errors(25));
  t.equal(cut.errors.length, 20, 'a longer list is cut to 20');
  t.equal(cut.errorCount, 25);
  t.equal(cut.message, 'x[0]: is wrong (and 24 more, 5 of them not listed)');

  const counted = ProblemError.at('invalid-request', errors(20), 200_000);
  t.equal(counted.message, 'x[0]: is wrong (and 199999 more, 199980 of them not listed)');
  const body = problemBody(counted, '/rnn/forward', 'id');
  t.equal(body.errors?.length, 20);
  t.equal(body.errorCount, 200_000);
  t.equal(new ProblemError('invalid-request', 'no list').errorCount, 0);
});
