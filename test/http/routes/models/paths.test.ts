/**
 * No answer names the absolute path of MODELS_DIR: with the repository in an absolute temporary directory,
 * every route that returns model information (metadata, forward passes and their errors, the Open
 * Inference Protocol's metadata, readiness and inference, /readyz with skipped models, /metrics) is
 * searched for that path, and for its real path. Files are named relative to the repository instead.
 */
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { addTfjsModel, modelsDir } from '../../../helpers/models.js';

const NUMERIC = { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 };
const TEXT = { ...NUMERIC, inputDim: 4, vocabulary: 'helo' };

t.test('no answer holds the absolute path of MODELS_DIR', async (t) => {
  const dir = modelsDir(t, {
    'num/1/model.json': NUMERIC,
    'text/1/model.json': TEXT,
    'bad/1/model.json': { ...NUMERIC, vocabulary: 'abc' },
  });
  addTfjsModel(dir, 'tfjs/1');
  addTfjsModel(dir, 'tfjs/2', (json) => (json.modelTopology.config.layers[1].config.layer.config.units = -1));
  const away = mkdtempSync(join(tmpdir(), 'rnn-serve-outside-'));
  t.teardown(() => rmSync(away, { recursive: true, force: true }));
  symlinkSync(away, join(dir, 'away'));
  const { app, logs } = await build(t, { models: { dir, onError: 'skip' } });
  const paths = [dir, realpathSync(dir)];

  const infer = (datatype = 'FP32') => ({
    inputs: [{ name: 'input', shape: [1, 1, 2], datatype, data: [1, 0] }],
  });
  const requests: [string, string, object?][] = [
    ['GET', '/models'],
    ['GET', '/models/num'],
    ['GET', '/models/num/versions/1'],
    ['GET', '/models/text'],
    ['GET', '/models/tfjs'],
    ['GET', '/models/tfjs/versions/1'],
    ['GET', '/models/nope'],
    ['GET', '/models/num/versions/9'],
    ['GET', '/models/bad/versions/1'],
    ['POST', '/models/num/forward', { inputs: [[[1, 0]]] }],
    ['POST', '/models/num/forward', { text: ['he'] }],
    ['POST', '/models/num/versions/1/forward', { text: ['he'] }],
    ['POST', '/models/text/forward', { text: ['hello'] }],
    ['POST', '/models/num/forward', { inputs: [[[1, 0, 0]]] }],
    ['POST', '/models/nope/forward', { inputs: [[[1, 0]]] }],
    ['GET', '/v2/models/num'],
    ['GET', '/v2/models/num/versions/1'],
    ['GET', '/v2/models/tfjs'],
    ['GET', '/v2/models/num/ready'],
    ['GET', '/v2/models/nope'],
    ['GET', '/v2/models/tfjs/versions/2'],
    ['POST', '/v2/models/num/infer', infer()],
    ['POST', '/v2/models/num/infer', infer('UINT32')],
    ['POST', '/v2/models/nope/infer', infer()],
    ['GET', '/readyz'],
    ['GET', '/v2/health/ready'],
    ['GET', '/metrics'],
  ];
  const bodies: Record<string, string> = {};
  const statuses: number[] = [];
  for (const [method, url, payload] of requests) {
    const res = await app.inject({ method: method as 'GET' | 'POST', url, ...(payload ? { payload } : {}) });
    const seen = `${JSON.stringify(res.headers)}\n${res.body}`;
    bodies[`${method} ${url}`] = res.body;
    statuses.push(res.statusCode);
    for (const path of paths)
      t.notOk(seen.includes(path), `${method} ${url} (${res.statusCode}): no absolute path in the answer`);
  }

  // The answers that name files name them relative to the repository.
  t.same(
    statuses,
    [200, 200, 200, 200, 200, 200, 404, 404, 404, 200, 400, 400, 200, 400, 404]
      .concat([200, 200, 200, 200, 404, 404, 200, 400, 404])
      .concat([200, 200, 200]),
    'each request got the answer it was meant to (successes and errors alike)',
  );
  const noVocabulary = JSON.parse(bodies['POST /models/num/versions/1/forward']);
  t.match(noVocabulary.errors[0], { path: 'text', message: /has no vocabulary \(num\/1\/model\.json\); send inputs/ });
  const ready = JSON.parse(bodies['GET /readyz']);
  t.same(
    ready.skippedModels.map((s: { file: string }) => s.file),
    ['away', 'bad/1/model.json', 'tfjs/2/model.json'],
    '/readyz names the skipped files relative to the repository',
  );
  t.match(ready.skippedModels[0].error, /^away: is a symlink resolving outside MODELS_DIR/);
  t.match(ready.skippedModels[2].error, /^tfjs\/2\/model\.json: layer 1 .*: units is -1; expected a whole number/);
  for (const path of paths)
    t.notOk(
      logs.some((line) => JSON.stringify(line).includes(path)),
      'no log line at info or above holds the absolute path',
    );
});
