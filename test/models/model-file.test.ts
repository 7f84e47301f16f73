/**
 * model-file.ts loads one version's model file. Held to: a model.json of ours resolved (weights, vocabulary,
 * the description kept without its weights), an ONNX graph with its bytes shared, each refusal as one
 * ModelLoadError line naming the file (as configured and relative to the repository), the names and versions
 * allowed, and the resident bytes a model holds worked by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import {
  ModelLoadError,
  NAME,
  VERSION,
  adoptSource,
  loadModelFile,
  residentBytes,
  servedLayers,
} from '../../src/models/model-file.js';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { LIMITS, limits } from '../helpers/inference.js';
import { modelsDir } from '../helpers/models.js';
import { fixtureBytes } from '../helpers/onnx.js';

const cache = new SeededWeightsCache(2);
const HELLO = {
  format: 'rnn-serve/v1',
  inputDim: 2,
  hiddenSize: 2,
  weights: {
    kernel: [
      [1, 0],
      [0, 1],
    ],
    recurrentKernel: [
      [0.5, 0],
      [0, 0.5],
    ],
    bias: [0, 0.25],
  },
  vocabulary: 'ab',
};

async function repository(t: Parameters<typeof modelsDir>[0], files: Record<string, object | string>) {
  const dir = modelsDir(t, files);
  return { dir, files: (await RepositoryFiles.at(dir)) as RepositoryFiles };
}
/** The ModelLoadError loading `file` throws. */
async function refusal(files: RepositoryFiles, file: string, within = LIMITS): Promise<ModelLoadError> {
  try {
    await loadModelFile(files, file, 'm', '1', within, cache);
  } catch (error) {
    if (error instanceof ModelLoadError) return error;
    throw error;
  }
  throw new Error('the model loaded');
}

t.test('names and versions', async (t) => {
  for (const name of ['hello', 'a.b-c_d', '9lives']) t.ok(NAME.test(name), name);
  for (const name of ['_x', '.x', '-x', 'a b', 'a/b', '']) t.notOk(NAME.test(name), JSON.stringify(name));
  for (const version of ['1', '10', '123']) t.ok(VERSION.test(version), version);
  for (const version of ['0', '01', '-1', 'v1', '1.0']) t.notOk(VERSION.test(version), version);
});

t.test('a model.json of ours: resolved, its vocabulary, its description without the weights', async (t) => {
  const { files } = await repository(t, { 'm/1/model.json': HELLO });
  const served = await loadModelFile(files, 'm/1/model.json', 'm', '1', LIMITS, cache);
  if (served.kind !== 'rnn') throw new Error('expected a layer model');
  t.same([served.name, served.version, served.file], ['m', '1', 'm/1/model.json']);
  t.same(served.vocabulary, ['a', 'b']);
  t.same(served.description, { hiddenSize: 2 }, 'the weights are in the model, not the description');
  t.same([...served.model.weights[0][0].recurrentKernel], [0.5, 0, 0, 0.5]);
  t.same(served.config.maxBatchSize, 0, "the default configuration's");
  t.same(servedLayers(served), {
    name: 'm',
    version: '1',
    file: 'm/1/model.json',
    model: served.model,
    vocabulary: ['a', 'b'],
    labels: null,
  });
  // Kernel 4 + recurrent 4 + bias 2 float32 values, held with the float64 panels (3 × the float32 bytes).
  t.equal(residentBytes(served), 3 * 10 * 4);
});

t.test('a seeded model counts the weights its spec implies', async (t) => {
  const { files } = await repository(t, {
    'm/1/model.json': { format: 'rnn-serve/v1', inputDim: 3, hiddenSize: 2, cell: 'lstm', seed: 1 },
  });
  const served = await loadModelFile(files, 'm/1/model.json', 'm', '1', LIMITS, cache);
  // LSTM, 4 gates · h 2 · (3 inputs + 2 recurrent + 2 biases) float32 values, × 3.
  t.equal(residentBytes(served), 3 * 4 * 2 * 7 * 4);
});

t.test('an ONNX graph: its program, its bytes shared and identified', async (t) => {
  const bytes = fixtureBytes('rnn-1-tanh-bf');
  const dir = modelsDir(t, {});
  mkdirSync(join(dir, 'g', '1'), { recursive: true });
  writeFileSync(join(dir, 'g', '1', 'model.onnx'), bytes);
  const files = (await RepositoryFiles.at(dir)) as RepositoryFiles;
  const served = await loadModelFile(files, 'g/1/model.onnx', 'g', '1', LIMITS, cache);
  if (served.kind !== 'onnx') throw new Error('expected a graph');
  t.same(
    served.program.inputs.map((i) => i.name),
    ['x'],
  );
  t.ok(served.source.bytes.buffer instanceof SharedArrayBuffer);
  t.same(Buffer.from(served.source.bytes), bytes);
  t.ok(residentBytes(served) > bytes.length, 'the file and its decoded initializers');
  const again = await loadModelFile(files, 'g/1/model.onnx', 'g', '1', LIMITS, cache);
  t.not((again as typeof served).source.id, served.source.id, 'a graph loaded again has a new id');
  const adopted = adoptSource(served.source.bytes);
  t.equal(adopted.bytes, served.source.bytes);
  t.ok(adopted.id > (again as typeof served).source.id);
});

t.test('refusals: one line naming the file and the problem', async (t) => {
  const { dir, files } = await repository(t, {
    'm/1/model.json': '{ not json',
    'm/2/model.json': { ...HELLO, format: 'rnn-serve/v2' },
    'm/3/model.json': { ...HELLO, vocabulary: 'abc' },
    'm/4/model.json': { ...HELLO, vocabulary: 'aa' },
    'm/5/model.json': { ...HELLO, hiddenSize: 3 },
    'm/6/model.onnx': 'not protobuf at all',
  });
  const notJson = await refusal(files, 'm/1/model.json');
  t.match(notJson.relativeMessage, /^m\/1\/model\.json: is not valid JSON: /);
  t.equal(notJson.file, 'm/1/model.json');
  t.equal(notJson.message, `${join(dir, 'm/1/model.json')}: ${notJson.problem}`, 'the path as configured');
  t.equal(
    (await refusal(files, 'm/2/model.json')).relativeMessage,
    'm/2/model.json: format: Invalid input: expected "rnn-serve/v1"',
  );
  t.equal(
    (await refusal(files, 'm/3/model.json')).relativeMessage,
    'm/3/model.json: vocabulary: has 3 tokens; expected 2 (inputDim: one per input feature)',
  );
  t.equal((await refusal(files, 'm/4/model.json')).relativeMessage, 'm/4/model.json: vocabulary: repeats a token');
  t.equal(
    (await refusal(files, 'm/5/model.json')).relativeMessage,
    'm/5/model.json: hiddenSize: is 3 but the weights of layer 0 have 2 units; they must agree',
  );
  t.equal(
    (await refusal(files, 'm/3/model.json', limits({ maxFeatures: 1 }))).relativeMessage,
    'm/3/model.json: inputDim: is 2; the limit is 1 (MAX_FEATURES)',
  );
  t.match((await refusal(files, 'm/6/model.onnx')).relativeMessage, /^m\/6\/model\.onnx: is not an ONNX model/);
  t.equal((await refusal(files, 'm/7/model.json')).relativeMessage, 'm/7/model.json: is missing');
});

t.test('ModelLoadError: one line, with the line of the file when known', async (t) => {
  const error = new ModelLoadError('m/config.pbtxt', 'max_batch_size:\n  is -1', 'models/m/config.pbtxt', 7);
  t.equal(error.message, 'models/m/config.pbtxt:7: max_batch_size: is -1');
  t.equal(error.relativeMessage, 'm/config.pbtxt:7: max_batch_size: is -1');
  t.equal(error.name, 'ModelLoadError');
  t.equal(new ModelLoadError('m/1', 'is empty').message, 'm/1: is empty');
});
