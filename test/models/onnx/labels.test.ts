/**
 * labels.txt beside model.onnx: read for a graph with a classifier output (Softmax or LogSoftmax over its last axis,
 * of a fixed size), one label per class; on any other graph, or with a count that does not match, a one-line
 * start-up error naming labels.txt (MODELS_ON_ERROR=fail), or the model left out and listed (skip).
 */
import t from 'tap';
import { buildApp } from '../../../src/http/app.js';
import { ModelLoadError } from '../../../src/models/repository.js';
import { build, configWith } from '../../helpers/build.js';
import { onnxRepository } from '../../helpers/onnx.js';

/** buildApp's rejection (null if it built). */
async function startUpError(dir: string): Promise<unknown> {
  return buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
    (app) => app.close().then(() => null),
    (error: unknown) => error,
  );
}

t.test('labels on a classifier graph load; mistakes stop start-up with one line naming labels.txt', async (t) => {
  t.equal(
    await startUpError(onnxRepository(t, ['embedding-classifier'], { 'embedding-classifier/1/labels.txt': 'a\nb\n' })),
    null,
    'two labels for a two-class Softmax output',
  );
  const cases: [string, string, string, RegExp][] = [
    [
      'labels on a graph without softmax',
      'rnn-1-tanh-bf',
      'a\nb\n',
      /^gives class labels, but no output of the graph is a classifier's \(an output written by Softmax or LogSoftmax over its last axis, of a fixed size\); labels name the classes of one$/,
    ],
    [
      'labels on a graph ending in a linear layer',
      'last-step-linear',
      'a\nb\n',
      /^gives class labels, but no output of the graph is a classifier's/,
    ],
    [
      'too many lines',
      'embedding-classifier',
      'a\nb\nc\n',
      /^has 3 lines; expected 2, one label per class of output 'probs' \(Softmax over its last axis\)$/,
    ],
    [
      'too few lines',
      'embedding-tagger',
      'a\nb\n',
      /^has 2 lines; expected 3, one label per class of output 'log_probs' \(LogSoftmax over its last axis\)$/,
    ],
    ['an empty line', 'embedding-tagger', 'a\n\nc\n', /^line 2 is empty; every class needs a label$/],
  ];
  for (const [name, model, labels, reason] of cases) {
    const dir = onnxRepository(t, [model], { [`${model}/1/labels.txt`]: labels });
    const error = await startUpError(dir);
    t.ok(error instanceof ModelLoadError, `${name}: a ModelLoadError`);
    const { file, message, problem } = error as ModelLoadError;
    t.equal(file, `${model}/1/labels.txt`, `${name}: names labels.txt`);
    t.equal(message, `${dir}/${model}/1/labels.txt: ${problem}`);
    t.match(problem, reason, `${name}: ${problem}`);
    t.notMatch(message, /\n/, `${name}: one line`);
  }
});

t.test('MODELS_ON_ERROR=skip: the graph with wrong labels is left out and listed', async (t) => {
  const dir = onnxRepository(t, ['rnn-1-tanh-bf', 'embedding-classifier'], { 'rnn-1-tanh-bf/1/labels.txt': 'a\n' });
  const { app } = await build(t, { models: { dir, onError: 'skip' } });
  const ready = JSON.stringify((await app.inject({ method: 'GET', url: '/readyz' })).json());
  t.match(ready, /rnn-1-tanh-bf\/1\/labels\.txt: gives class labels, but no output of the graph is a classifier's/);
  t.equal((await app.inject({ method: 'GET', url: '/models/rnn-1-tanh-bf' })).statusCode, 404, 'left out');
  t.equal((await app.inject({ method: 'GET', url: '/models/embedding-classifier' })).statusCode, 200, 'others served');
});
