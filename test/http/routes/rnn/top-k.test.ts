/**
 * `topK` on POST /rnn/forward: a bare SimpleRNN has no softmax, so the scores are its raw outputs, ranked per
 * output row (each step, or the last without returnSequences); K is checked against the outputs' features and
 * the answer's classes count against MAX_OUTPUT_VALUES.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';

const BODY = {
  inputs: [
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
    [
      [0.5, -1, 2],
      [1, 1, 1],
      [-2, 0, 0.25],
    ],
  ],
  hiddenSize: 5,
  seed: 7,
};

/** The top K of a row by a stable sort of its indices, largest first. */
function expectedTop(row: number[], k: number): { score: number; index: number }[] {
  return row
    .map((score, index) => ({ score, index }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);
}

t.test('classes: the top K raw outputs of every step, largest first', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({ method: 'POST', url: '/rnn/forward', payload: { ...BODY, topK: 3 } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.same(body.shapes.classes, [2, 3, 3]);
  t.equal(body.classes.length, 2);
  for (let b = 0; b < 2; b++)
    for (let s = 0; s < 3; s++) t.same(body.classes[b][s], expectedTop(body.outputs[b][s], 3), `row [${b}][${s}]`);
  const plain = (await app.inject({ method: 'POST', url: '/rnn/forward', payload: BODY })).json();
  t.same(plain.outputs, body.outputs, 'the outputs are unchanged');
  t.notOk('classes' in plain, 'no classes without topK');
  t.notOk('classes' in plain.shapes);
});

t.test('returnSequences false ranks the last step; flat outputs keep nested classes', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({
    method: 'POST',
    url: '/rnn/forward',
    payload: { ...BODY, topK: 5, returnSequences: false, outputFormat: 'flat' },
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.same(body.shapes.classes, [2, 5]);
  const rows = [body.outputs.data.slice(0, 5), body.outputs.data.slice(5, 10)];
  t.same(
    body.classes,
    rows.map((row: number[]) => expectedTop(row, 5)),
    'K = features: every feature, ranked',
  );
});

t.test('topK errors: above the features, two sequences, not a positive integer, the answer limit', async (t) => {
  const { app } = await build(t);
  const post = (payload: object) => app.inject({ method: 'POST', url: '/rnn/forward', payload });
  const above = await post({ ...BODY, topK: 6 });
  t.equal(above.statusCode, 400);
  t.same(above.json().errors[0], { path: 'topK', message: 'is 6; the outputs have 5 features (classes)' });

  const both = await post({ ...BODY, topK: 1, bidirectional: { mergeMode: null } });
  t.equal(both.statusCode, 400);
  t.equal(both.json().errors[0].path, 'topK');
  t.match(both.json().errors[0].message, /cannot rank two sequences \(bidirectional\.mergeMode is null\)/);

  const concat = await post({ ...BODY, topK: 10, bidirectional: { mergeMode: 'concat' } });
  t.equal(concat.statusCode, 200, 'concat: 10 features to rank');
  t.same(concat.json().shapes.classes, [2, 3, 10]);

  for (const topK of [0, 1.5, '2']) {
    const res = await post({ ...BODY, topK });
    t.equal(res.statusCode, 400, `topK ${JSON.stringify(topK)}`);
    t.equal(res.json().errors[0].path, 'topK');
  }

  const limited = await build(t, { limits: { maxOutputValues: 2 * 3 * 5 + 2 * 5 + 2 * 3 * 4 * 2 - 1 } });
  const over = await limited.app.inject({ method: 'POST', url: '/rnn/forward', payload: { ...BODY, topK: 2 } });
  t.equal(over.statusCode, 400, 'outputs, states and 4 values per class entry, one over the limit');
  t.match(over.json().detail, /4 per class entry of topK/);
  const under = await limited.app.inject({ method: 'POST', url: '/rnn/forward', payload: { ...BODY, topK: 1 } });
  t.equal(under.statusCode, 200, 'K 1 fits');
});
