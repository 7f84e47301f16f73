/**
 * Broken TF.js models (the fixture copied and corrupted): every one is a clean model load error, never an
 * uncaught exception. With MODELS_ON_ERROR=fail, buildApp rejects with a ModelLoadError naming the
 * repository-relative model.json in one line; with skip, the app builds without the model and /readyz
 * lists it. And no shard is opened unless the whole model.json checked out and the shard has its size.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, truncateSync } from 'node:fs';
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { ModelLoadError, loadRepository } from '../../src/models/repository.js';
import { build, configWith } from '../helpers/build.js';
import { addTfjsModel, modelsDir } from '../helpers/models.js';

const GOOD = { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 };
const SHARD = 'group1-shard1of1.bin';
const layers = (json: any) => json.modelTopology.config.layers;
const rnn = (json: any, k = 1) => layers(json)[k].config.layer.config;
const weight = (json: any) => json.weightsManifest[0].weights[0];

/** name, the corruption of model.json, what to do to the version directory, the reason. */
type Case = [string, ((json: any) => void) | null, ((version: string) => void) | null, RegExp];

const CASES: Case[] = [
  // The topology.
  ['modelTopology null', (json) => (json.modelTopology = null), null, /^modelTopology: expected an object$/],
  [
    'a layer without config',
    (json) => delete layers(json)[1].config,
    null,
    /^modelTopology\.config\.layers\[1\]: expected \{class_name, config\}$/,
  ],
  [
    'a wrapped layer without config',
    (json) => delete layers(json)[1].config.layer.config,
    null,
    /^modelTopology\.config\.layers\[1\]: its wrapped layer: expected \{class_name, config\}$/,
  ],
  [
    'negative units',
    (json) => (rnn(json).units = -3),
    null,
    /units is -3; expected a whole number from 1 to 1024 \(MAX_HIDDEN_SIZE\)$/,
  ],
  ['fractional units', (json) => (rnn(json).units = 2.5), null, /units is 2\.5; expected a whole number/],
  ['absurd units', (json) => (rnn(json).units = 1e300), null, /units is 1e\+300; expected a whole number/],
  ['units as a string', (json) => (rnn(json).units = '5'), null, /units is "5"; expected a whole number/],
  [
    'Dense units of 0',
    (json) => (layers(json)[4].config.units = 0),
    null,
    /layer 4 \(Dense 'dense_Dense2'\): units is 0; expected a whole number from 1 to 4096 \(MAX_FEATURES\)$/,
  ],
  [
    'a batch_input_shape with a negative dimension',
    (json) => (layers(json)[0].config.batch_input_shape = [null, -1, 4]),
    null,
    /layer 0 \(Masking 'masking_Masking1'\): batch_input_shape is \[null,-1,4\]; expected \[batch, time, features\]/,
  ],
  [
    'a batch_input_shape with negative features',
    (json) => (layers(json)[0].config.batch_input_shape = [null, null, -4]),
    null,
    /batch_input_shape\[2\] \(features\) is -4; expected a whole number from 1 to 4096 \(MAX_FEATURES\)$/,
  ],
  [
    'features over MAX_FEATURES',
    (json) => (layers(json)[0].config.batch_input_shape = [null, null, 1e9]),
    null,
    /batch_input_shape\[2\] \(features\) is 1000000000; expected a whole number from 1 to 4096 \(MAX_FEATURES\)$/,
  ],
  [
    'a mask_value that is not a number',
    (json) => (layers(json)[0].config.mask_value = 'zero'),
    null,
    /mask_value is "zero"; expected a number$/,
  ],
  // The manifest.
  ['no weightsManifest', (json) => delete json.weightsManifest, null, /^weightsManifest: is missing/],
  [
    'a group without paths',
    (json) => delete json.weightsManifest[0].paths,
    null,
    /^weightsManifest\[0\]: expected \{paths: \[file, \.\.\.\], weights/,
  ],
  [
    'a weight without a name',
    (json) => delete weight(json).name,
    null,
    /^weightsManifest\[0\]\.weights\[0\]: expected \{name, shape, dtype\}$/,
  ],
  [
    'a non-integer shape',
    (json) => (weight(json).shape = [4, 5.5]),
    null,
    /^weightsManifest\[0\]\.weights\[0\]: \S+ has shape \[4,5\.5\]; expected a list of whole numbers$/,
  ],
  [
    'a negative shape',
    (json) => (weight(json).shape = [-4, 5]),
    null,
    /has shape \[-4,5\]; expected a list of whole numbers$/,
  ],
  [
    'a shape that is not a list',
    (json) => (weight(json).shape = '4x5'),
    null,
    /has shape "4x5"; expected a list of whole numbers$/,
  ],
  [
    'a shape whose product overflows',
    (json) => (weight(json).shape = [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]),
    null,
    /is \[2147483647, 2147483647, 2147483647\]; layer 1 .* forward kernel needs \[4, 5\]$/,
  ],
  [
    'a dimension beyond any array',
    (json) => (weight(json).shape = [1e20, 5]),
    null,
    /has shape \[100000000000000000000,5\]; expected a list of whole numbers$/,
  ],
  ['a weight of another dtype', (json) => (weight(json).dtype = 'int32'), null, /is int32; only float32 is supported$/],
  [
    'quantized weights',
    (json) => (weight(json).quantization = { dtype: 'uint8', scale: 1, min: 0 }),
    null,
    /is quantized; only float32 weights are supported$/,
  ],
  [
    'a tensor no layer takes',
    (json) => json.weightsManifest[0].weights.push({ name: 'extra', shape: [2], dtype: 'float32' }),
    null,
    /^weightsManifest: extra and 0 more tensors belong to no supported layer$/,
  ],
  // The shards.
  [
    'a shard path leaving the directory',
    (json) => (json.weightsManifest[0].paths = ['../../etc/passwd']),
    null,
    /^weightsManifest\[0\]\.paths: '\.\.\/\.\.\/etc\/passwd' is outside the model's directory$/,
  ],
  [
    'an absolute shard path',
    (json) => (json.weightsManifest[0].paths = ['/etc/passwd']),
    null,
    /^weightsManifest\[0\]\.paths: '\/etc\/passwd' is outside the model's directory$/,
  ],
  [
    'a shard path that is not a string',
    (json) => (json.weightsManifest[0].paths = [7]),
    null,
    /^weightsManifest\[0\]\.paths: 7 is not a file name$/,
  ],
  [
    'a missing shard',
    null,
    (version) => rmSync(join(version, SHARD)),
    /^weightsManifest\[0\]\.paths: cannot read 'group1-shard1of1\.bin' \(tfjs\/1\/group1-shard1of1\.bin\): is missing$/,
  ],
  [
    'a shard of the wrong size',
    null,
    (version) => truncateSync(join(version, SHARD), 100),
    /^weightsManifest\[0\]\.paths: 'group1-shard1of1\.bin' \(tfjs\/1\/group1-shard1of1\.bin\) is 100 bytes; the manifest declares 928 bytes \(16 tensors/,
  ],
  [
    'a shard that is a FIFO',
    null,
    (version) => {
      rmSync(join(version, SHARD));
      execFileSync('mkfifo', [join(version, SHARD)]);
    },
    /cannot read 'group1-shard1of1\.bin' \(tfjs\/1\/group1-shard1of1\.bin\): is not a regular file$/,
  ],
  [
    'a shard listed twice',
    (json) => json.weightsManifest[0].paths.push(SHARD),
    null,
    /^weightsManifest\[0\]\.paths: 'group1-shard1of1\.bin' is listed twice/,
  ],
];

/** A repository with the good `ok/1` and the broken `tfjs/1`. */
function broken(t: { teardown(fn: () => unknown): void }, change: Case[1], damage: Case[2]): string {
  const dir = modelsDir(t, { 'ok/1/model.json': GOOD });
  const version = addTfjsModel(dir, 'tfjs/1', change ?? undefined);
  damage?.(version);
  return dir;
}

const FILE = 'tfjs/1/model.json';

t.test('MODELS_ON_ERROR=fail: each broken model stops start-up with one line naming its model.json', async (t) => {
  for (const [name, change, damage, reason] of CASES) {
    const dir = broken(t, change, damage);
    const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
      (app) => app.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(error instanceof ModelLoadError, `${name}: a ModelLoadError (${(error as Error)?.message})`);
    if (!(error instanceof ModelLoadError)) continue;
    t.equal(error.file, FILE, `${name}: the file, relative to the repository`);
    t.equal(error.message, `${dir}/${FILE}: ${error.problem}`, `${name}: the message names it`);
    t.match(error.problem, reason, `${name}: the reason`);
    t.notMatch(error.message, /\n/, `${name}: one line`);
  }
});

t.test('MODELS_ON_ERROR=skip: each broken model is left out and listed by /readyz', async (t) => {
  for (const [name, change, damage, reason] of CASES) {
    const dir = broken(t, change, damage);
    const { app } = await build(t, { models: { dir, onError: 'skip' } });
    t.same(
      (await app.inject({ method: 'GET', url: '/models' })).json().models.map((m: { name: string }) => m.name),
      ['ok'],
      `${name}: the model is absent`,
    );
    t.equal((await app.inject({ method: 'GET', url: '/models/tfjs' })).statusCode, 404, `${name}: 404`);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200, `${name}: ready`);
    const [skipped, ...more] = ready.json().skippedModels;
    t.same(more, [], `${name}: one model skipped`);
    t.match(skipped, { name: 'tfjs', version: '1', file: FILE }, `${name}: listed`);
    t.ok(skipped.error.startsWith(`${FILE}: `), `${name}: naming the relative file`);
    t.match(skipped.error.slice(FILE.length + 2), reason, `${name}: and the reason`);
    t.notOk(ready.body.includes(dir), `${name}: without the absolute path`);
  }
});

t.test('no shard is opened unless model.json checked out and the shard has its declared size', async (t) => {
  // A spy on open for every importer of node:fs/promises (t.mockImport would mock only the direct
  // imports of repository.ts, not those of repository-files.ts it reads through).
  const opened: string[] = [];
  const realOpen = fs.promises.open;
  fs.promises.open = ((path: string, flags: number) => {
    opened.push(path);
    return realOpen(path, flags);
  }) as typeof realOpen;
  syncBuiltinESMExports();
  t.teardown(() => {
    fs.promises.open = realOpen;
    syncBuiltinESMExports();
  });
  const cache = new SeededWeightsCache(0);
  for (const [name, change, damage] of CASES) {
    opened.length = 0;
    const dir = broken(t, change, damage);
    const repository = await loadRepository({ dir, onError: 'skip' }, defaultConfig.limits, cache);
    t.same(
      repository.skipped.map((s) => s.file),
      [FILE],
      `${name}: skipped`,
    );
    t.ok(
      opened.some((path) => path.endsWith(`${FILE}`)),
      `${name}: model.json was opened (the spy sees the loader's reads)`,
    );
    t.same(
      opened.filter((path) => !path.endsWith('model.json')),
      [],
      `${name}: no shard was opened`,
    );
  }
  opened.length = 0;
  const good = await loadRepository({ dir: broken(t, null, null), onError: 'fail' }, defaultConfig.limits, cache);
  t.same(good.names(), ['ok', 'tfjs']);
  t.equal(opened.filter((path) => path.endsWith(SHARD)).length, 1, 'a good shard is opened once');
});

t.test('a group split over two shards: read in order, their sizes checked together', async (t) => {
  const split = (dir: string, first: number, second: number) => {
    const version = addTfjsModel(dir, 'tfjs/1', (json) => (json.weightsManifest[0].paths = ['a.bin', 'b.bin']));
    const bytes = fs.readFileSync(join(version, SHARD));
    fs.writeFileSync(join(version, 'a.bin'), bytes.subarray(0, first));
    fs.writeFileSync(join(version, 'b.bin'), bytes.subarray(first, first + second));
  };
  const whole = modelsDir(t, {});
  addTfjsModel(whole, 'tfjs/1');
  const dir = modelsDir(t, {});
  split(dir, 500, 428);
  const one = await build(t, { models: { dir: whole } });
  const two = await build(t, { models: { dir } });
  const payload = {
    inputs: [
      [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ],
    ],
  };
  const a = await one.app.inject({ method: 'POST', url: '/models/tfjs/forward', payload });
  const b = await two.app.inject({ method: 'POST', url: '/models/tfjs/forward', payload });
  t.equal(b.statusCode, 200, b.body.slice(0, 200));
  t.same(b.json(), a.json(), 'the same model as from one shard');

  const short = modelsDir(t, {});
  split(short, 500, 400);
  const error = await buildApp(configWith({ pool: { threads: 0 }, models: { dir: short } })).then(
    (app) => app.close().then(() => null),
    (e: unknown) => e,
  );
  t.match(
    (error as ModelLoadError).problem,
    /^weightsManifest\[0\]\.paths: 'a\.bin', 'b\.bin' are together 900 bytes; the manifest declares 928 bytes/,
  );
});
