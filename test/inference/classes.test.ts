/**
 * The top-K ranking behind `topK` and the classification extension: the insertion ranking equals the naive stable
 * sort (ties keep the lower index first), and the JSON and `score:index:label` forms are exact.
 */
import t from 'tap';
import { classText, topClasses, topClassesReference, writeClasses } from '../../src/inference/classes.js';
import { JsonWriter } from '../../src/codec/json-writer.js';
import { rng } from '../helpers/random.js';

t.test('topClasses equals the stable sort, ties included, for every K', async (t) => {
  const random = rng(20);
  let compared = 0;
  for (let trial = 0; trial < 200; trial++) {
    const rows = 1 + Math.floor(random() * 4);
    const features = 1 + Math.floor(random() * 9);
    // Few distinct values (ties are common) or continuous ones.
    const coarse = trial % 2 === 0;
    const data = Float32Array.from({ length: rows * features }, () =>
      coarse ? Math.floor(random() * 3) - 1 : random() * 4 - 2,
    );
    for (let k = 1; k <= features; k++) {
      const fast = topClasses(data, rows, features, k);
      const naive = topClassesReference(data, rows, features, k);
      if (fast.indices.join() !== naive.indices.join() || fast.scores.join() !== naive.scores.join()) {
        t.fail(`rows ${rows}, features ${features}, k ${k}: ${fast.indices} vs ${naive.indices} for ${data}`);
        return;
      }
      compared++;
    }
  }
  t.ok(compared > 500, `${compared} rankings equal`);
});

t.test('a row by hand: largest first, an equal score after the lower index', async (t) => {
  const top = topClasses(new Float32Array([0.1, 0.4, 0.1, 0.4, 0.0, 0.9]), 2, 3, 2);
  t.same([...top.indices], [1, 0, 2, 0], 'row 0: 0.4 (1), then the tie 0.1 at 0 before 2; row 1: 0.9 (2), 0.4 (0)');
  t.same([...top.scores], [0.4, 0.1, 0.9, 0.4].map(Math.fround));
  t.throws(() => topClasses(new Float32Array(3), 1, 3, 4), RangeError, 'K above the features is a bug');
});

t.test('JSON: [batch, time, K] or [batch, K], labels when there are', async (t) => {
  const data = new Float32Array([0.25, 0.75, 0.5, 0.5, 1, 0, 0.125, 0.875]);
  const top = topClasses(data, 4, 2, 1);
  const perStep = new JsonWriter();
  writeClasses(perStep, top, [2, 2], ['no', 'yes "quoted"']);
  t.same(JSON.parse(perStep.text()), [
    [[{ score: 0.75, index: 1, label: 'yes "quoted"' }], [{ score: 0.5, index: 0, label: 'no' }]],
    [[{ score: 1, index: 0, label: 'no' }], [{ score: 0.875, index: 1, label: 'yes "quoted"' }]],
  ]);
  const last = new JsonWriter();
  writeClasses(last, topClasses(data, 4, 2, 2), [4], null);
  t.same(JSON.parse(last.text()), [
    [
      { score: 0.75, index: 1 },
      { score: 0.25, index: 0 },
    ],
    [
      { score: 0.5, index: 0 },
      { score: 0.5, index: 1 },
    ],
    [
      { score: 1, index: 0 },
      { score: 0, index: 1 },
    ],
    [
      { score: 0.875, index: 1 },
      { score: 0.125, index: 0 },
    ],
  ]);
});

t.test('classification strings: score:index:label, the shortest float32 decimals', async (t) => {
  const top = topClasses(new Float32Array([0.1, 0.7]), 1, 2, 2);
  t.equal(classText(top, 0, ['a', 'b:c']), '0.7:1:b:c', 'a label may hold colons (it is the last part)');
  t.equal(classText(top, 1, null), '0.1:0', 'without labels: score:index');
});
