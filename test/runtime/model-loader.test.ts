/**
 * Loading off the event loop: a version loaded on the loader's worker thread arrives as the same model the event
 * loop would have loaded (ours with explicit or seeded weights, TF.js, ONNX with labels), its configuration
 * attached, its ONNX bytes with an id of this process; a refusal arrives as the same ModelLoadError, line included.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { parseModelConfig } from '../../src/models/model-config/model-config.js';
import { ModelLoadError, type ServedModel } from '../../src/models/model-file.js';
import { inThreadLoader } from '../../src/models/repository.js';
import { workerModelLoader } from '../../src/runtime/model-loader.js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';

const limits = defaultConfig.limits;

t.test('the worker loads what the event loop loads', async (t) => {
  const dir = modelsDir(t, {
    'seeded/1/model.json': {
      format: 'rnn-serve/v1',
      inputDim: 3,
      hiddenSize: 4,
      seed: 9,
      cell: 'lstm',
      vocabulary: 'abc',
    },
  });
  for (const name of ['hello', 'next-char', 'sentiment-onnx'])
    cpSync(join(SHIPPED_MODELS, name), join(dir, name), { recursive: true });
  const cache = new SeededWeightsCache(4);
  const here = inThreadLoader(cache);
  const there = workerModelLoader(cache, 0);
  t.teardown(() => there.close());
  const config = parseModelConfig('parameters { key: "k" value { string_value: "v" } }', 'x/config.pbtxt', {
    name: 'x',
  });
  for (const file of [
    'hello/1/model.json',
    'next-char/1/model.json',
    'sentiment-onnx/1/model.onnx',
    'seeded/1/model.json',
  ]) {
    const [name, version] = file.split('/');
    const request = { dir, file, name, version, limits, config };
    const [a, b]: ServedModel[] = [await here.load(request), await there.load(request)];
    t.equal(b.config, config, `${file}: the configuration is attached on this side`);
    t.same(
      [b.kind, b.name, b.version, b.file, b.labels],
      [a.kind, a.name, a.version, a.file, a.labels],
      `${file}: the same model`,
    );
    if (a.kind === 'onnx' && b.kind === 'onnx') {
      t.same(b.program.inputs, a.program.inputs);
      t.same(b.program.outputs, a.program.outputs);
      t.same(b.program.graph.initializers, a.program.graph.initializers, `${file}: the same initializers`);
      t.same(Buffer.from(b.source.bytes), Buffer.from(a.source.bytes));
      t.ok(b.source.bytes.buffer instanceof SharedArrayBuffer, 'the bytes stay shared with the compute workers');
      t.not(b.source.id, a.source.id, 'an id of this process, not the worker’s');
    } else if (a.kind === 'rnn' && b.kind === 'rnn') {
      t.same(b.description, a.description);
      t.same(b.vocabulary, a.vocabulary);
      t.same(
        [b.model.inputDim, b.model.seed, b.model.spec, b.model.head, b.model.embedding, b.model.lastStep],
        [a.model.inputDim, a.model.seed, a.model.spec, a.model.head, a.model.embedding, a.model.lastStep],
      );
      t.same(b.model.weights, a.model.weights, `${file}: the same weights (seeded: built on first use here)`);
    } else t.fail(`${file}: kinds differ`);
  }
});

t.test('a refusal on the worker is the same ModelLoadError', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 0, seed: 1 } });
  const cache = new SeededWeightsCache(0);
  const there = workerModelLoader(cache, 0);
  t.teardown(() => there.close());
  const request = {
    dir,
    file: 'm/1/model.json',
    name: 'm',
    version: '1',
    limits,
    config: parseModelConfig('', 'm/config.pbtxt', { name: 'm' }),
  };
  const [a, b] = await Promise.all(
    [inThreadLoader(cache), there].map((loader) =>
      loader.load(request).then(
        () => null,
        (e: unknown) => e,
      ),
    ),
  );
  t.ok(b instanceof ModelLoadError);
  t.same(
    [(b as ModelLoadError).file, (b as ModelLoadError).message, (b as ModelLoadError).relativeMessage],
    [(a as ModelLoadError).file, (a as ModelLoadError).message, (a as ModelLoadError).relativeMessage],
  );
  t.match((b as Error).message, new RegExp(`^${dir}/m/1/model\\.json: hiddenSize`));
});
