/**
 * text.ts turns texts into one-hot sequences: `readTexts` measures them and finds the vocabulary (given, or by
 * first appearance), `oneHot` writes the floats. Held to: code points as tokens (a surrogate pair is one), the
 * vocabulary order, the zero padding, and each refusal and limit with its path and message.
 */
import t from 'tap';
import { oneHot, readTexts } from '../../src/inference/text.js';
import { LIMITS, limits, problemOf } from '../helpers/inference.js';

t.test('the vocabulary by first appearance; one token per code point', async (t) => {
  const batch = readTexts(['hello', 'olé😀'], undefined, LIMITS);
  t.same(batch.vocabulary, ['h', 'e', 'l', 'o', 'é', '😀']);
  t.same(batch.lengths, [5, 4], 'the emoji is one token, not two UTF-16 units');
  t.equal(batch.index.get('😀'), 5);
  const tokens = readTexts([['the', 'cat'], ['cat']], undefined, LIMITS);
  t.same(tokens.vocabulary, ['the', 'cat']);
  t.same(tokens.lengths, [2, 1]);
});

t.test('oneHot: [batch, time, vocabulary], zero after each text ends', async (t) => {
  const batch = readTexts(['ab', 'b'], 'abc', LIMITS);
  t.same(batch.vocabulary, ['a', 'b', 'c'], 'the given order');
  const out = oneHot(batch, 2, new Float32Array(2 * 2 * 3));
  t.same([...out], [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
  const given = readTexts([['y', 'x']], ['x', 'y'], LIMITS);
  t.same([...oneHot(given, 3, new Float32Array(2 * 3))], [0, 1, 1, 0, 0, 0], 'a longer time pads with zeros');
});

t.test('refusals: empty texts, tokens outside the vocabulary, a bad vocabulary', async (t) => {
  const errors = (texts: Parameters<typeof readTexts>[0], vocabulary?: Parameters<typeof readTexts>[1]) =>
    problemOf(() => readTexts(texts, vocabulary, LIMITS)).errors;
  t.same(errors([]), [{ path: 'text', message: 'is empty; expected at least 1 sequence' }]);
  t.same(errors(['a', '']), [{ path: 'text[1]', message: 'has no time steps; expected at least 1' }]);
  t.same(errors([[]]), [{ path: 'text[0]', message: 'has no time steps; expected at least 1' }]);
  t.same(errors(['ab', 'ax'], 'ab'), [
    { path: 'text[1]', message: 'has "x" at position 1, which is not in the vocabulary ("ab")' },
  ]);
  t.same(errors([['a', 'zz']], ['a', 'b']), [
    { path: 'text[0]', message: 'has "zz" at position 1, which is not in the vocabulary ("a b")' },
  ]);
  t.same(errors(['a'], ''), [{ path: 'vocabulary', message: 'is empty; expected at least 1 token' }]);
  t.same(errors(['a'], ['a', '']), [{ path: 'vocabulary[1]', message: 'is an empty token' }]);
  t.same(errors(['a'], 'aba'), [{ path: 'vocabulary', message: 'repeats the token "a" (also at position 0)' }]);
  t.same(errors(['a'], ['a', 'b', 'b']), [
    { path: 'vocabulary[2]', message: 'repeats the token "b" (also at position 1)' },
  ]);
});

t.test('limits: batch, then time steps, then vocabulary size', async (t) => {
  const small = limits({ maxBatch: 2, maxTimeSteps: 3, maxFeatures: 2 });
  const refused = (texts: Parameters<typeof readTexts>[0], vocabulary?: Parameters<typeof readTexts>[1]) =>
    problemOf(() => readTexts(texts, vocabulary, small));
  const batch = refused(['a', 'a', 'a']);
  t.equal(batch.kind, 'limit-exceeded');
  t.same(batch.errors, [{ path: 'text', message: 'the batch size is 3; the limit is 2 (MAX_BATCH)' }]);
  t.same(refused(['a', 'abcde']).errors, [
    { path: 'text[1]', message: 'the number of time steps is 5; the limit is 3 (MAX_TIME_STEPS)' },
  ]);
  t.same(refused(['abc']).errors, [
    { path: 'text', message: 'the vocabulary size is at least 3; the limit is 2 (MAX_FEATURES)' },
  ]);
  t.same(refused(['a'], 'abcd').errors, [
    { path: 'vocabulary', message: 'the vocabulary size is at least 3; the limit is 2 (MAX_FEATURES)' },
  ]);
  t.same(refused(['a'], ['a', 'b', 'c', 'd']).errors, [
    { path: 'vocabulary', message: 'the vocabulary size is 4; the limit is 2 (MAX_FEATURES)' },
  ]);
  t.same(readTexts(['ab', 'ba'], undefined, small).vocabulary, ['a', 'b'], 'the limit itself is allowed');
});
