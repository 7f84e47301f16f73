/**
 * `topK` on a served model: only a softmax classifier ranks (its outputs are class probabilities), and its
 * labels.txt names the classes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { addTfjsModel, modelsDir } from '../../../helpers/models.js';

const LABELS = ['alpha', 'beta: β', 'gamma', 'delta'];
const INPUTS = [
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ],
  [
    [0.5, -1, 0.25, 2],
    [1, 1, 0, -0.5],
    [0, 0, 0, 0],
  ],
];

/** `cls`: the TF.js softmax classifier (4 classes) with labels; `plain`: the same without; `rnn`: no softmax. */
function repository(t: { teardown(fn: () => unknown): void }): string {
  const dir = modelsDir(t, { 'rnn/1/model.json': { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 3, seed: 1 } });
  writeFileSync(join(addTfjsModel(join(dir, 'cls'), '1'), 'labels.txt'), `${LABELS.join('\n')}\n`);
  addTfjsModel(join(dir, 'plain'), '1');
  return dir;
}

const ranked = (row: number[], k: number, labels: string[] | null) =>
  row
    .map((score, index) => ({ score, index, ...(labels ? { label: labels[index] } : {}) }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);

t.test('a labelled classifier: the top K probabilities of each step, with their labels', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const res = await app.inject({ method: 'POST', url: '/models/cls/forward', payload: { inputs: INPUTS, topK: 2 } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const body = res.json();
  t.same(body.shapes.classes, [2, 3, 2]);
  for (let b = 0; b < 2; b++)
    for (let s = 0; s < 3; s++) t.same(body.classes[b][s], ranked(body.outputs[b][s], 2, LABELS), `[${b}][${s}]`);
  t.ok(
    body.classes.flat().every((row: { score: number }[]) => row[0].score >= 0.25),
    'the top of 4 probabilities is at least 1/4',
  );

  const last = await app.inject({
    method: 'POST',
    url: '/models/cls/versions/1/forward',
    payload: { inputs: INPUTS, topK: 4, returnSequences: false },
  });
  const lastBody = last.json();
  t.same(
    lastBody.classes,
    lastBody.outputs.map((row: number[]) => ranked(row, 4, LABELS)),
    '[batch, K]',
  );

  const plain = (
    await app.inject({ method: 'POST', url: '/models/plain/forward', payload: { inputs: INPUTS, topK: 1 } })
  ).json();
  t.same(plain.classes[0][0], ranked(plain.outputs[0][0], 1, null), 'no labels: score and index');
});

t.test('topK on a served model that is not a softmax classifier, or above its classes: 400', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const rnn = await app.inject({
    method: 'POST',
    url: '/models/rnn/forward',
    payload: { inputs: INPUTS, topK: 1 },
  });
  t.equal(rnn.statusCode, 400);
  t.same(rnn.json().errors[0], {
    path: 'topK',
    message: "applies to classifiers: the model's last layer is not softmax (its outputs are not class probabilities)",
  });
  const above = await app.inject({ method: 'POST', url: '/models/cls/forward', payload: { inputs: INPUTS, topK: 5 } });
  t.equal(above.statusCode, 400);
  t.same(above.json().errors[0], { path: 'topK', message: 'is 5; the outputs have 4 features (classes)' });
});

t.test(
  'on a worker (plan, or a body parsed there) the answer is the inline one, labels and h_n included',
  async (t) => {
    const dir = repository(t);
    const inline = await build(t, { models: { dir } });
    const pooled = await build(t, { models: { dir }, pool: { threads: 1, minCompute: 0, minBodyBytes: 1 } });
    // The classifier's layers have 5 and 3 units (no one h_n tensor); the seeded stack has the PyTorch layout.
    const served = { inputs: INPUTS, topK: 3 };
    const direct = { ...served, layers: [{ hiddenSize: 3 }, { hiddenSize: 3 }], seed: 2, stateLayout: 'pytorch' };
    for (const [url, payload] of [
      ['/models/cls/forward', served],
      ['/rnn/forward', direct],
    ] as const) {
      const expected = await inline.app.inject({ method: 'POST', url, payload });
      t.equal(expected.statusCode, 200, expected.body.slice(0, 200));
      const res = await pooled.app.inject({ method: 'POST', url, payload });
      t.equal(res.body, expected.body, `${url}: byte for byte`);
    }
    t.match(
      (await pooled.app.inject({ method: 'POST', url: '/models/cls/forward', payload: served })).json()
        .classes[0][0][0],
      { label: String },
    );
  },
);
