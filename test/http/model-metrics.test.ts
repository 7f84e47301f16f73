/**
 * model-metrics.ts: the model lifecycle as Prometheus reads it at scrape time. Held to the exposition text for a
 * repository serving two versions: each version's state 1 for READY, unload counts from 0, and the help lines.
 */
import { Registry } from 'prom-client';
import t from 'tap';
import { modelLifecycleMetrics } from '../../src/http/model-metrics.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { loadModelFile } from '../../src/models/model-file.js';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { ModelRepository } from '../../src/models/repository.js';
import { LIMITS } from '../helpers/inference.js';
import { modelsDir } from '../helpers/models.js';

t.test('states and unloads per version, read when scraped', async (t) => {
  const model = { format: 'rnn-serve/v1', inputDim: 1, hiddenSize: 1, seed: 1 };
  const dir = modelsDir(t, { 'm/1/model.json': model, 'm/2/model.json': model });
  const files = (await RepositoryFiles.at(dir)) as RepositoryFiles;
  const cache = new SeededWeightsCache(2);
  const served = await Promise.all(
    ['1', '2'].map((v) => loadModelFile(files, `m/${v}/model.json`, 'm', v, LIMITS, cache)),
  );
  const registry = new Registry();
  modelLifecycleMetrics(registry, ModelRepository.serving(served));
  const text = await registry.metrics();
  t.match(text, /^# HELP rnn_model_state The state of each model version/m);
  t.match(text, /^# TYPE rnn_model_state gauge$/m);
  t.match(text, /^rnn_model_state\{model="m",version="1",state="READY"\} 1$/m);
  t.match(text, /^rnn_model_state\{model="m",version="2",state="READY"\} 1$/m);
  t.match(text, /^rnn_model_unloads_total\{model="m",version="1"\} 0$/m, 'a series from the start');
  t.match(text, /^# TYPE rnn_model_loads_total counter$/m);
  t.notMatch(text, /state="UNAVAILABLE"/);
});
