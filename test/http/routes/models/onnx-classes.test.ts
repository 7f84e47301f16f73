/**
 * `topK` on POST /models/{name}/forward for an ONNX graph: `classes` ranks the rows of the graph's first output when
 * it is a classifier output (Softmax or LogSoftmax over its last axis), labelled by labels.txt, as the layer models'
 * route does; the scores are the answer's own `outputs`. Otherwise a 400 at `topK`.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { fixtureCases, graphModel, onnxRepository } from '../../../helpers/onnx.js';

const TAGS = ['noun', 'verb', 'other'];
const CLASSES = ['left', 'middle', 'right'];

function repository(t: { teardown(fn: () => unknown): void }): string {
  return onnxRepository(t, ['embedding-tagger', 'embedding-classifier', 'last-step-softmax-bi', 'rnn-1-tanh-bf'], {
    'embedding-tagger/1/labels.txt': `${TAGS.join('\n')}\n`,
    'last-step-softmax-bi/1/labels.txt': `${CLASSES.join('\n')}\n`,
  });
}

const ranked = (row: number[], k: number, labels: string[] | null) =>
  row
    .map((score, index) => ({ score, index, ...(labels ? { label: labels[index] } : {}) }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);

const flat = (name: string) => {
  const [input] = Object.values(fixtureCases(name)[0].inputs);
  return { shape: input.shape, data: input.data };
};

t.test('classes: the top K of each row of the first output, with labels', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const forward = (name: string, body: object) =>
    app.inject({ method: 'POST', url: `/models/${name}/forward`, payload: { inputs: flat(name), ...body } });

  // [batch, classes]: a Softmax classifier with labels.
  const res = await forward('last-step-softmax-bi', { topK: 2 });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.same(body.shapes, { inputs: [2, 6, 3], outputs: [2, 3], classes: [2, 2] });
  t.same(
    body.classes,
    body.outputs.map((row: number[]) => ranked(row, 2, CLASSES)),
  );
  t.same(body.outputs, (await forward('last-step-softmax-bi', {})).json().outputs, 'outputs as without topK');
  t.notOk('classes' in (await forward('last-step-softmax-bi', {})).json(), 'no classes without topK');

  // [batch, time, classes]: the LogSoftmax tagger, each step ranked.
  const tagged = (await forward('embedding-tagger', { topK: 3 })).json();
  t.same(tagged.shapes.classes, [2, 6, 3]);
  for (let b = 0; b < 2; b++)
    for (let s = 0; s < 6; s++)
      t.same(tagged.classes[b][s], ranked(tagged.outputs[b][s], 3, TAGS), `tagger [${b}][${s}]`);
  t.ok(
    tagged.classes.flat(2).every((c: { score: number }) => c.score <= 0),
    'scores are log-probabilities',
  );

  // No labels: score and index; flat outputs rank the same values.
  const plain = (await forward('embedding-classifier', { topK: 1, outputFormat: 'flat' })).json();
  t.same(plain.outputs.shape, [2, 2]);
  const rows = [plain.outputs.data.slice(0, 2), plain.outputs.data.slice(2, 4)];
  t.same(
    plain.classes,
    rows.map((row: number[]) => ranked(row, 1, null)),
  );
  t.same(plain.shapes.classes, [2, 1]);
});

t.test('topK refused at topK: not a classifier, or above its classes', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const refused = async (name: string, topK: number) => {
    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: flat(name), topK },
    });
    t.equal(res.statusCode, 400, res.body.slice(0, 200));
    t.match(res.headers['content-type'], /problem\+json/);
    return res.json().errors[0];
  };
  t.same(await refused('rnn-1-tanh-bf', 1), {
    path: 'topK',
    message:
      "applies to classifier outputs (an output written by Softmax or LogSoftmax over its last axis, of a fixed size); 'y' is not one (its values are not class scores)",
  });
  t.same(await refused('embedding-tagger', 4), { path: 'topK', message: "is 4; 'log_probs' has 3 classes" });
  // A rank-4 output: classes are [batch, K] or [batch, time, K] here; the protocol route ranks any rank.
  const dir = onnxRepository(t, [], {
    'rank4/1/model.onnx': graphModel({
      inputs: [{ name: 'x', shape: ['a', 'b', 'c', 3] }],
      outputs: [['p', 4]],
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['p'] }],
    }),
  });
  const rank4 = await build(t, { models: { dir } });
  const res = await rank4.app.inject({
    method: 'POST',
    url: '/models/rank4/forward',
    payload: { inputs: { shape: [1, 1, 1, 3], data: [1, 2, 3] }, topK: 1 },
  });
  t.equal(res.statusCode, 400, res.body.slice(0, 200));
  t.same(res.json().errors[0], {
    path: 'topK',
    message:
      "ranks rows of [batch, classes] or [batch, time, classes]; output 'p' is [-1, -1, -1, -1]: ask POST /v2/models/rank4/infer for it with parameters.classification",
  });
  const zero = await app.inject({
    method: 'POST',
    url: '/models/embedding-tagger/forward',
    payload: { inputs: flat('embedding-tagger'), topK: 0 },
  });
  t.equal(zero.statusCode, 400, 'the schema refuses 0');
  t.equal(zero.json().errors[0].path, 'topK');
});

t.test('with a worker pool (the body parsed there) the answer is the inline one, classes included', async (t) => {
  const dir = repository(t);
  const inline = await build(t, { models: { dir } });
  const pooled = await build(t, { models: { dir }, pool: { threads: 1, minCompute: 0, minBodyBytes: 1 } });
  const payload = { inputs: flat('embedding-tagger'), topK: 2 };
  const expected = await inline.app.inject({ method: 'POST', url: '/models/embedding-tagger/forward', payload });
  t.equal(expected.statusCode, 200, expected.body.slice(0, 200));
  const res = await pooled.app.inject({ method: 'POST', url: '/models/embedding-tagger/forward', payload });
  t.equal(res.body, expected.body, 'byte for byte');
  t.match(res.json().classes[0][0][0], { label: String });
});
