/**
 * The repository at start-up, against mistakes in MODELS_DIR: a model directory, version directory,
 * model.json or weight shard that is a symlink leading out of the repository is refused (fail: buildApp
 * rejects naming the repository-relative file; skip: the model is left out and /readyz lists it), symlinks
 * within it are followed, and a huge model.json or a FIFO is refused without being read.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { defaultConfig } from '../../src/config/config.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { ModelLoadError, loadModelFile } from '../../src/models/repository.js';
import { build, configWith } from '../helpers/build.js';
import { TFJS_FIXTURE, addTfjsModel, modelsDir } from '../helpers/models.js';

const GOOD = { format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 2, seed: 1 };

/** A directory outside the repository, removed when the test ends. */
function outside(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-outside-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** buildApp's rejection (null if it built). */
async function startUpError(dir: string): Promise<unknown> {
  return buildApp(configWith({ pool: { threads: 0 }, models: { dir } })).then(
    (app) => app.close().then(() => null),
    (error: unknown) => error,
  );
}

/**
 * Each case adds one bad thing to a repository that also holds the good `ok/1`: the file (or directory)
 * named, the model and version left out, and the reason.
 */
const CASES: [string, (dir: string, away: string) => void, { file: string; name: string; version: string }, RegExp][] =
  [
    [
      'a model directory linking out',
      (dir, away) => {
        mkdirSync(join(away, '1'));
        writeFileSync(join(away, '1', 'model.json'), JSON.stringify(GOOD));
        symlinkSync(away, join(dir, 'evil'));
      },
      { file: 'evil', name: 'evil', version: '' },
      /^is a symlink resolving outside MODELS_DIR/,
    ],
    [
      'a version directory linking out',
      (dir, away) => {
        writeFileSync(join(away, 'model.json'), JSON.stringify(GOOD));
        mkdirSync(join(dir, 'm'));
        symlinkSync(away, join(dir, 'm', '1'));
      },
      { file: 'm/1', name: 'm', version: '1' },
      /^is a symlink resolving outside MODELS_DIR/,
    ],
    [
      'a model.json linking out',
      (dir, away) => {
        writeFileSync(join(away, 'model.json'), JSON.stringify(GOOD));
        mkdirSync(join(dir, 'm', '1'), { recursive: true });
        symlinkSync(join(away, 'model.json'), join(dir, 'm', '1', 'model.json'));
      },
      { file: 'm/1/model.json', name: 'm', version: '1' },
      /^is a symlink resolving outside MODELS_DIR/,
    ],
    [
      'a weight shard linking out',
      (dir, away) => {
        const version = addTfjsModel(dir, 'tfjs/1');
        cpSync(join(TFJS_FIXTURE, 'group1-shard1of1.bin'), join(away, 'shard.bin'));
        rmSync(join(version, 'group1-shard1of1.bin'));
        symlinkSync(join(away, 'shard.bin'), join(version, 'group1-shard1of1.bin'));
      },
      { file: 'tfjs/1/model.json', name: 'tfjs', version: '1' },
      /^weightsManifest\[0\]\.paths: cannot read 'group1-shard1of1\.bin' \(tfjs\/1\/group1-shard1of1\.bin\): is a symlink resolving outside MODELS_DIR/,
    ],
    [
      'a model.json above MAX_MODEL_FILE_BYTES (64 MiB)',
      (dir) => {
        mkdirSync(join(dir, 'm', '1'), { recursive: true });
        // Sparse: no disk is used; read whole, it would be 65 MiB of NULs (not valid JSON).
        writeFileSync(join(dir, 'm', '1', 'model.json'), '');
        truncateSync(join(dir, 'm', '1', 'model.json'), 65 * 1024 * 1024);
      },
      { file: 'm/1/model.json', name: 'm', version: '1' },
      /^is 68157440 bytes \(65\.0 MiB\); the limit is 67108864 bytes \(64\.0 MiB\) \(MAX_MODEL_FILE_BYTES\)$/,
    ],
    [
      'a model.json that is a FIFO (never opened, so start-up does not block)',
      (dir) => {
        mkdirSync(join(dir, 'm', '1'), { recursive: true });
        execFileSync('mkfifo', [join(dir, 'm', '1', 'model.json')]);
      },
      { file: 'm/1/model.json', name: 'm', version: '1' },
      /^is not a regular file$/,
    ],
    [
      'a model.json that is a directory',
      (dir) => mkdirSync(join(dir, 'm', '1', 'model.json'), { recursive: true }),
      { file: 'm/1/model.json', name: 'm', version: '1' },
      /^is not a regular file$/,
    ],
  ];

t.test('MODELS_ON_ERROR=fail: start-up stops with one line naming the repository-relative file', async (t) => {
  for (const [name, add, at, reason] of CASES) {
    const dir = modelsDir(t, { 'ok/1/model.json': GOOD });
    add(dir, outside(t));
    const error = await startUpError(dir);
    t.ok(error instanceof ModelLoadError, `${name}: a ModelLoadError`);
    const { file, message, problem } = error as ModelLoadError;
    t.equal(file, at.file, `${name}: the file, relative to the repository`);
    t.equal(message, `${dir}/${at.file}: ${problem}`, `${name}: the message names it under MODELS_DIR as configured`);
    t.match(problem, reason, `${name}: the reason`);
    t.notMatch(message, /\n/, `${name}: one line`);
  }
});

t.test('MODELS_ON_ERROR=skip: the model is left out and /readyz lists it, with relative paths', async (t) => {
  for (const [name, add, at, reason] of CASES) {
    const dir = modelsDir(t, { 'ok/1/model.json': GOOD });
    add(dir, outside(t));
    const { app, logs } = await build(t, { models: { dir, onError: 'skip' } });
    const models = (await app.inject({ method: 'GET', url: '/models' })).json().models;
    t.same(
      models.map((m: { name: string }) => m.name),
      ['ok'],
      `${name}: only the good model is served`,
    );
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    const skipped = ready.json().skippedModels;
    t.equal(skipped.length, 1, `${name}: one skipped`);
    t.match(skipped[0], { name: at.name, version: at.version, file: at.file }, `${name}: listed`);
    t.ok(skipped[0].error.startsWith(`${at.file}: `), `${name}: the error names the relative file`);
    t.match(skipped[0].error.slice(at.file.length + 2), reason, `${name}: and the reason`);
    t.notOk(ready.body.includes(dir), `${name}: /readyz holds no absolute path`);
    t.notOk(
      logs.some((line) => JSON.stringify(line).includes(dir)),
      `${name}: no log line at info or above holds the absolute path`,
    );
  }
});

t.test('symlinks that stay inside the repository are followed', async (t) => {
  const dir = modelsDir(t, { 'ok/1/model.json': GOOD, 'shared/ok.json': GOOD });
  symlinkSync('ok', join(dir, 'alias'));
  mkdirSync(join(dir, 'ok', '2'));
  symlinkSync(join(dir, 'shared', 'ok.json'), join(dir, 'ok', '2', 'model.json'));
  symlinkSync('1', join(dir, 'ok', '3'));
  // A TF.js version sharing another's shard through a relative symlink.
  addTfjsModel(dir, 'tfjs/1');
  const second = addTfjsModel(dir, 'tfjs/2');
  rmSync(join(second, 'group1-shard1of1.bin'));
  symlinkSync('../1/group1-shard1of1.bin', join(second, 'group1-shard1of1.bin'));
  const { app } = await build(t, { models: { dir } });
  t.same(
    (await app.inject({ method: 'GET', url: '/models' }))
      .json()
      .models.map((m: { name: string; versions: string[] }) => [m.name, m.versions]),
    [
      ['alias', ['1', '2', '3']],
      ['ok', ['1', '2', '3']],
      ['tfjs', ['1', '2']],
    ],
  );
  t.same(
    (await app.inject({ method: 'GET', url: '/readyz' })).json(),
    { status: 'ready', sequences: { store: 'memory', ready: true } },
    'nothing skipped',
  );
});

t.test('whatever else a loader throws is a ModelLoadError too, without the absolute path', async (t) => {
  const dir = modelsDir(t, {});
  const files = (await RepositoryFiles.at(dir))!;
  const cache = new SeededWeightsCache(0);
  const failing = (error: Error) =>
    Object.assign(Object.create(files), {
      read: async () => {
        throw error;
      },
    }) as RepositoryFiles;
  const io = Object.assign(new Error(`EIO: i/o error, read '${dir}/m/1/model.json'`), { code: 'EIO' });
  for (const [thrown, problem] of [
    [io, 'cannot be loaded (EIO)'],
    [new TypeError('x is not iterable'), 'cannot be loaded (TypeError: x is not iterable)'],
  ] as const) {
    const error = await loadModelFile(failing(thrown), 'm/1/model.json', 'm', '1', defaultConfig.limits, cache).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(error instanceof ModelLoadError, `${thrown.message}: a ModelLoadError`);
    t.equal((error as ModelLoadError).relativeMessage, `m/1/model.json: ${problem}`);
  }
});
