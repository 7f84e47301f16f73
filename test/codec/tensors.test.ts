/**
 * tensors.ts reads nested JSON into float32 tensors and writes them back. Held to: values stored as float32 with
 * those float32 cannot hold named and stored as 0, rows of the wrong width named, the problem list capped at
 * MAX_REPORTED_ERRORS but counting every problem, and nested arrays of shortest decimals.
 */
import t from 'tap';
import { MAX_REPORTED_ERRORS } from '../../src/errors/problem-error.js';
import {
  FLOAT32_MAX,
  ProblemList,
  count,
  nested,
  outOfFloat32,
  readMatrix,
  readRectangular,
  readVector,
  shortestFloat32,
  storeFloat32,
} from '../../src/codec/tensors.js';

t.test('vectors and matrices as float32; what float32 cannot hold named', async (t) => {
  const problems = new ProblemList();
  t.same([...readVector([0.1, -2, 1e39], 'bias', problems)], [Math.fround(0.1), -2, 0]);
  t.same(problems.items, [
    { path: 'bias[2]', message: '1e+39 is outside the float32 range (±3.4028234663852886e+38)' },
  ]);
  t.equal(FLOAT32_MAX, 3.4028234663852886e38);
  t.equal(outOfFloat32(-1e40), '-1e+40 is outside the float32 range (±3.4028234663852886e+38)');
  const clean = new ProblemList();
  t.same(
    [
      ...readMatrix(
        [
          [1, 2],
          [3, 4],
        ],
        2,
        'k',
        'hiddenSize',
        clean,
      ),
    ],
    [1, 2, 3, 4],
  );
  t.ok(clean.empty);
  const ragged = new ProblemList();
  readMatrix([[1, 2], [3], [4, 5, 6]], 2, 'kernel', 'hiddenSize', ragged);
  t.same(ragged.items, [
    { path: 'kernel[1]', message: 'has 1 entry; expected 2 (hiddenSize)' },
    { path: 'kernel[2]', message: 'has 3 entries; expected 2 (hiddenSize)' },
  ]);
  const rect = readRectangular(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    'w',
    new ProblemList(),
  );
  t.same([rect.rows, rect.cols, [...rect.data]], [2, 3, [1, 2, 3, 4, 5, 6]]);
  const empty = readRectangular([], 'w', new ProblemList());
  t.same([empty.rows, empty.cols, empty.data.length], [0, 0, 0]);
  const offset = new Float32Array(4);
  storeFloat32([7, 8], offset, 2, (i) => `x[${i}]`, new ProblemList());
  t.same([...offset], [0, 0, 7, 8]);
});

t.test('the problem list: the first ones listed, every one counted', async (t) => {
  const problems = new ProblemList();
  t.ok(problems.empty);
  const many = Array.from({ length: MAX_REPORTED_ERRORS + 5 }, () => 1e39);
  readVector(many, 'v', problems);
  t.equal(problems.items.length, MAX_REPORTED_ERRORS);
  t.equal(problems.found, MAX_REPORTED_ERRORS + 5);
  t.notOk(problems.listing);
  problems.countUnlisted();
  const error = problems.error();
  t.equal(error.kind, 'invalid-request');
  t.equal(error.errorCount, MAX_REPORTED_ERRORS + 6);
  t.equal(
    error.message,
    `v[0]: 1e+39 is outside the float32 range (±3.4028234663852886e+38) (and ${MAX_REPORTED_ERRORS + 5} more, 6 of them not listed)`,
  );
});

t.test('writing back: nested arrays of shortest decimals', async (t) => {
  const data = Float32Array.of(0.1, 0.2, 1 / 3, -4, 0, 5);
  t.same(nested(data, [2, 3]), [
    [0.1, 0.2, 0.33333334],
    [-4, 0, 5],
  ]);
  t.same(nested(data, [3, 1, 2]), [[[0.1, 0.2]], [[0.33333334, -4]], [[0, 5]]]);
  t.equal(shortestFloat32(Math.fround(0.1)), 0.1);
  t.equal(shortestFloat32(Infinity), Infinity);
  t.same(
    [count(1, 'row'), count(2, 'row'), count(1, 'entry', 'entries'), count(0, 'class', 'classes')],
    ['1 row', '2 rows', '1 entry', '0 classes'],
  );
});
