/**
 * labels.txt beside a served model: read at start-up for a softmax classifier (one label per output feature,
 * shown in its metadata), and every mistake is a one-line start-up error naming labels.txt (MODELS_ON_ERROR=fail),
 * or the model left out and listed (skip).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { ModelLoadError } from '../../src/models/repository.js';
import { MAX_LABELS_FILE_BYTES, parseLabels } from '../../src/models/labels.js';
import { build, configWith } from '../helpers/build.js';
import { addTfjsModel, modelsDir } from '../helpers/models.js';

/** The TF.js fixture's softmax layer has 4 units. */
const LABELS = ['alpha', 'beta: β', 'gamma', 'delta'];

/** A repository with the TF.js classifier as `cls/1`, its labels.txt written by `labels` (a string, or a change). */
function repository(t: { teardown(fn: () => unknown): void }, labels: string | ((dir: string) => void)): string {
  const dir = modelsDir(t, {});
  const version = addTfjsModel(join(dir, 'cls'), '1');
  if (typeof labels === 'string') writeFileSync(join(version, 'labels.txt'), labels);
  else labels(version);
  return dir;
}

/** buildApp's rejection (null if it built). */
async function startUpError(dir: string): Promise<unknown> {
  return buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
    (app) => app.close().then(() => null),
    (error: unknown) => error,
  );
}

t.test('parseLabels: one per line, \\r\\n or \\n, the last newline and a BOM optional', async (t) => {
  t.same(parseLabels('a\nb\n'), ['a', 'b']);
  t.same(parseLabels('a\r\nb'), ['a', 'b']);
  t.same(parseLabels('\uFEFFa\nb\n\n'), ['a', 'b', ''], 'only one final newline is dropped: an empty last label stays');
  t.same(parseLabels(''), []);
});

t.test('a classifier with labels.txt: its metadata lists them', async (t) => {
  const dir = repository(t, `${LABELS.join('\r\n')}\r\n`);
  const { app } = await build(t, { models: { dir } });
  const meta = (await app.inject({ method: 'GET', url: '/models/cls' })).json();
  t.same(meta.labels, LABELS);
  const noLabels = modelsDir(t, { 'm/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 } });
  const other = await build(t, { models: { dir: noLabels } });
  t.notOk('labels' in (await other.app.inject({ method: 'GET', url: '/models/m' })).json(), 'absent without labels');
});

t.test('mistakes in labels.txt stop start-up with one line naming it', async (t) => {
  const cases: [string, string | ((dir: string) => void), RegExp][] = [
    ['too few lines', 'a\nb\nc\n', /^has 3 lines; expected 4, one label per output feature/],
    ['too many lines', 'a\nb\nc\nd\ne', /^has 5 lines; expected 4/],
    ['an empty line', 'a\n\nc\nd\n', /^line 2 is empty; every class needs a label$/],
    [
      'not UTF-8',
      (dir) => writeFileSync(join(dir, 'labels.txt'), Buffer.from([0x61, 0x0a, 0xff, 0x0a])),
      /^is not UTF-8 text$/,
    ],
    [
      'too large',
      (dir) => writeFileSync(join(dir, 'labels.txt'), 'x'.repeat(MAX_LABELS_FILE_BYTES + 1)),
      /^is 1048577 bytes \(1\.0 MiB\); the limit is 1048576 bytes \(1\.0 MiB\) \(MAX_LABELS_FILE_BYTES\)$/,
    ],
    ['a dangling symlink', (dir) => symlinkSync('/nonexistent/labels', join(dir, 'labels.txt')), /^is missing$/],
  ];
  for (const [name, labels, reason] of cases) {
    const dir = repository(t, labels);
    const error = await startUpError(dir);
    t.ok(error instanceof ModelLoadError, `${name}: a ModelLoadError`);
    const { file, message, problem } = error as ModelLoadError;
    t.equal(file, 'cls/1/labels.txt', `${name}: names labels.txt`);
    t.equal(message, `${dir}/cls/1/labels.txt: ${problem}`);
    t.match(problem, reason, `${name}: ${problem}`);
    t.notMatch(message, /\n/, `${name}: one line`);
  }
});

t.test('labels on a model whose last layer is not softmax are refused', async (t) => {
  const dir = modelsDir(t, {
    'm/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 },
    'm/1/labels.txt': 'a\nb\n',
  });
  const error = (await startUpError(dir)) as ModelLoadError;
  t.ok(error instanceof ModelLoadError);
  t.equal(error.file, 'm/1/labels.txt');
  t.match(error.problem, /the model's last layer is not softmax/);

  const { app } = await build(t, { models: { dir, onError: 'skip' } });
  const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
  t.match(JSON.stringify(ready), /m\/1\/labels\.txt: gives class labels, but the model's last layer is not softmax/);
  t.equal((await app.inject({ method: 'GET', url: '/models/m' })).statusCode, 404, 'skip: left out');
});
