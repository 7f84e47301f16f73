import t from 'tap';
import { build, HELLO, HELLO_BATCH } from '../../../helpers/build.js';

const post = async (app: Awaited<ReturnType<typeof build>>['app'], payload: object) =>
  app.inject({ method: 'POST', url: '/rnn/forward', payload });

t.test('text is one-hot encoded in first-appearance order, as in the lecture', async (t) => {
  const { app } = await build(t);
  const byText = (await post(app, { text: ['hello'], hiddenSize: 2, seed: 42 })).json();
  const byNumbers = (await post(app, HELLO)).json();
  t.same(byText.vocabulary, ['h', 'e', 'l', 'o']);
  t.same(byText.shapes.inputs, [1, 5, 4]);
  t.same(byText.outputs, byNumbers.outputs, 'text "hello" = the lecture one-hot inputs');
  t.same(byText.states, byNumbers.states);

  const batch = (await post(app, { text: ['hello', 'eolll', 'lleel'], hiddenSize: 2, seed: 42 })).json();
  t.same(batch.vocabulary, ['h', 'e', 'l', 'o']);
  t.same(batch.outputs, (await post(app, HELLO_BATCH)).json().outputs, 'the lecture batch of three');

  const cell = (await post(app, { text: ['h'], vocabulary: 'helo', hiddenSize: 2, seed: 42 })).json();
  t.same(cell.shapes, { inputs: [1, 1, 4], outputs: [1, 1, 2], states: [1, 2] });
  t.same(cell.outputs[0][0], byNumbers.outputs[0][0], 'one cell = the first step of hello');
});

t.test('a given vocabulary sets the order; tokens may be arrays; ragged texts are masked', async (t) => {
  const { app } = await build(t);
  const reordered = (await post(app, { text: ['hello'], vocabulary: 'oleh', hiddenSize: 2, seed: 42 })).json();
  t.same(reordered.vocabulary, ['o', 'l', 'e', 'h']);
  const asNumbers = (
    await post(app, {
      inputs: [
        [
          [0, 0, 0, 1],
          [0, 0, 1, 0],
          [0, 1, 0, 0],
          [0, 1, 0, 0],
          [1, 0, 0, 0],
        ],
      ],
      hiddenSize: 2,
      seed: 42,
    })
  ).json();
  t.same(reordered.outputs, asNumbers.outputs);
  const tokens = (
    await post(app, {
      text: [
        ['the', 'cat'],
        ['a', 'cat', 'sat'],
      ],
      hiddenSize: 3,
    })
  ).json();
  t.same(tokens.vocabulary, ['the', 'cat', 'a', 'sat']);
  t.same(tokens.shapes.inputs, [2, 3, 4]);
  t.same(tokens.outputs[0][2], tokens.outputs[0][1], 'the shorter text is masked after its end');
  const unicode = (await post(app, { text: ['héé😀'], hiddenSize: 1 })).json();
  t.same(unicode.vocabulary, ['h', 'é', '😀'], 'one token per code point');
});

t.test('text errors name the text, the position and the character', async (t) => {
  const { app } = await build(t);
  const cases: [object, string, RegExp][] = [
    [
      { text: ['hello', 'help'], vocabulary: 'helo', hiddenSize: 2 },
      'text[1]',
      /has "p" at position 3, which is not in the vocabulary \("helo"\)/,
    ],
    [{ text: ['ab'], vocabulary: 'aba', hiddenSize: 2 }, 'vocabulary', /repeats the token "a"/],
    [{ text: ['ab'], vocabulary: ['a', ''], hiddenSize: 2 }, 'vocabulary[1]', /empty token/],
    [{ text: ['ab', ''], hiddenSize: 2 }, 'text[1]', /has no time steps/],
    [{ text: [], hiddenSize: 2 }, 'text', /is empty/],
    [{ text: ['ab'], inputs: [[[1]]], hiddenSize: 2 }, 'text', /cannot be combined with inputs/],
    [{ inputs: [[[1]]], vocabulary: 'ab', hiddenSize: 2 }, 'vocabulary', /only applies to text/],
    [{ hiddenSize: 2 }, 'inputs', /is required \(or text\)/],
    [{ text: [7], hiddenSize: 2 }, 'text[0]', /Invalid input/],
  ];
  for (const [payload, path, message] of cases) {
    const res = await post(app, payload);
    t.equal(res.statusCode, 400, res.body.slice(0, 200));
    t.equal(res.json().errors[0].path, path);
    t.match(res.json().errors[0].message, message);
  }
  const limited = await build(t, { limits: { maxFeatures: 3, maxTimeSteps: 4 } });
  const tooMany = (await post(limited.app, { text: ['abcd'], hiddenSize: 2 })).json();
  t.match(tooMany.errors[0], {
    path: 'text',
    message: /vocabulary size is at least 4; the limit is 3 \(MAX_FEATURES\)/,
  });
  const tooLong = (await post(limited.app, { text: ['abcab'], hiddenSize: 2 })).json();
  t.match(tooLong.errors[0], { path: 'text[0]', message: /time steps is 5; the limit is 4/ });
});
