/**
 * forward-answer.ts writes our forward routes' answer from a result. Held to the exact JSON of small results
 * (outputs, one state bare or several in a list, cell states, classes with and without labels, vocabulary,
 * shapes, the model summary or an ONNX graph's), flat tensors, the 422 naming the first non-finite value in the
 * answer's own terms, and a streamed answer equal to the whole one.
 */
import t from 'tap';
import { answerText, isStreamed } from '../../src/codec/json-stream.js';
import { writeForwardAnswer } from '../../src/protocols/forward-answer.js';
import { problemOf } from '../helpers/inference.js';
import { result, tensor } from '../helpers/results.js';

const text = (answer: ReturnType<typeof writeForwardAnswer>) => answerText(answer);
const output = tensor('output', 'output', [1, 2, 2], [0.5, -1, 0.25, 2]);

t.test('one state, nested: the exact JSON', async (t) => {
  const answer = writeForwardAnswer(result([output, tensor('state', 'state', [1, 2], [0.25, 2])]), 'nested');
  t.equal(
    text(answer),
    '{"outputs":[[[0.5,-1],[0.25,2]]],"states":[[0.25,2]],' +
      '"shapes":{"inputs":[1,2,3],"outputs":[1,2,2],"states":[1,2]},"model":{"hiddenSize":2}}',
  );
  t.notOk(isStreamed(answer));
});

t.test('several states, cell states and the flat format', async (t) => {
  const answer = writeForwardAnswer(
    result([
      output,
      tensor('state_0', 'state', [1, 1], [1]),
      tensor('state_1', 'state', [1, 2], [2, 3]),
      tensor('cell_state_0', 'cell-state', [1, 1], [4]),
    ]),
    'flat',
  );
  t.same(JSON.parse(text(answer)), {
    outputs: { shape: [1, 2, 2], data: [0.5, -1, 0.25, 2] },
    states: [
      { shape: [1, 1], data: [1] },
      { shape: [1, 2], data: [2, 3] },
    ],
    cellStates: { shape: [1, 1], data: [4] },
    shapes: {
      inputs: [1, 2, 3],
      outputs: [1, 2, 2],
      states: [
        [1, 1],
        [1, 2],
      ],
      cellStates: [1, 1],
    },
    model: { hiddenSize: 2 },
  });
});

t.test(
  'classes (topK; scores as float32 shortest decimals), labels, vocabulary; an ONNX graph answers model null and its graph',
  async (t) => {
    const scores = tensor('output', 'output', [2, 3], [0.1, 0.7, 0.2, 0.6, 0.3, 0.1], 2);
    const answer = JSON.parse(
      text(writeForwardAnswer(result([scores], { labels: ['a', 'b', 'c'], vocabulary: ['x', 'y'] }), 'nested')),
    );
    t.same(answer.classes, [
      [
        { score: 0.7, index: 1, label: 'b' },
        { score: 0.2, index: 2, label: 'c' },
      ],
      [
        { score: 0.6, index: 0, label: 'a' },
        { score: 0.3, index: 1, label: 'b' },
      ],
    ]);
    t.same(answer.vocabulary, ['x', 'y']);
    t.same(answer.shapes, { inputs: [1, 2, 3], outputs: [2, 3], classes: [2, 2] });
    const graph = JSON.parse(
      text(writeForwardAnswer(result([output], { summary: null, graph: '{"opset":14}' }), 'nested')),
    );
    t.equal(graph.model, null);
    t.same(graph.graph, { opset: 14 });
    const unlabelled = JSON.parse(text(writeForwardAnswer(result([scores]), 'nested')));
    t.same(unlabelled.classes[0][0], { score: 0.7, index: 1 }, 'no label without labels');
  },
);

t.test('non-finite values: 422 at the first one, in the answer’s terms', async (t) => {
  const overflow = problemOf(() =>
    writeForwardAnswer(result([tensor('output', 'output', [1, 2, 2], [0, 1, Infinity, 2])]), 'nested'),
  );
  t.equal(overflow.kind, 'non-finite-result');
  t.same(overflow.errors, [
    {
      path: 'outputs[0][1][0]',
      message:
        'is Infinity: the result overflows float32 (an unbounded activation with large weights or inputs), which JSON cannot carry',
    },
  ]);
  t.equal(
    problemOf(() =>
      writeForwardAnswer(
        result([output, tensor('state_0', 'state', [1, 1], [1]), tensor('state_1', 'state', [1, 2], [2, NaN])]),
        'nested',
      ),
    ).errors[0].path,
    'states[1][0][1]',
  );
  t.equal(
    problemOf(() => writeForwardAnswer(result([output, tensor('c', 'cell-state', [1, 1], [-Infinity])]), 'flat'))
      .errors[0].path,
    'cellStates[0][0]',
  );
});

t.test('an answer past the threshold streams, equal to the whole one', async (t) => {
  const big = result(
    [
      tensor('output', 'output', [2, 2, 3], [0.1, 0.7, 0.2, 0.6, 0.3, 0.1, 1, 2, 3, 4, 5, 6], 2),
      tensor('state_0', 'state', [2, 1], [7, 8]),
      tensor('state_1', 'state', [2, 1], [9, 10]),
    ],
    { labels: ['a', 'b', 'c'] },
  );
  for (const format of ['nested', 'flat'] as const) {
    const whole = writeForwardAnswer(big, format);
    const streamed = writeForwardAnswer(big, format, 1);
    t.notOk(isStreamed(whole));
    t.ok(isStreamed(streamed), `${format}: streamed from 1 byte`);
    t.equal(answerText(streamed), answerText(whole), `${format}: byte for byte`);
  }
});
