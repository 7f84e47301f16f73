/**
 * repository-scan.ts lists what the model repository holds without loading anything. Held to a repository built
 * here: model and version directories in order (10 after 9), hidden entries skipped, bad names and versions and a
 * symlink leading out as problems naming the directory, config.pbtxt noticed, fingerprints that change when a file
 * does, and which model file a version serves.
 */
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { CONFIG_FILE, modelFileOf, scanModel, scanRepository } from '../../src/models/repository-scan.js';
import { ModelLoadError } from '../../src/models/model-file.js';
import { modelsDir } from '../helpers/models.js';

const at = async (dir: string) => (await RepositoryFiles.at(dir)) as RepositoryFiles;

t.test('models and versions in order; what is wrong named', async (t) => {
  const dir = modelsDir(t, {
    'a/1/model.json': '{}',
    'a/10/model.json': '{}',
    'a/9/model.json': '{}',
    'a/01/model.json': '{}',
    'a/.tmp/model.json': '{}',
    'a/config.pbtxt': 'max_batch_size: 4',
    'a/notes.txt': 'a file, not a version directory',
    '_bad/1/model.json': '{}',
    '.hidden/1/model.json': '{}',
    'b/2/model.onnx': 'x',
  });
  const outside = modelsDir(t, { 'x/model.json': '{}' });
  symlinkSync(join(outside, 'x'), join(dir, 'b', '3'));
  const files = await at(dir);
  const scans = await scanRepository(files);
  t.same(
    scans.map((s) => s.name),
    ['_bad', 'a', 'b'],
    'hidden entries are skipped',
  );
  const [bad, a, b] = scans;
  t.equal(
    bad.problem?.relativeMessage,
    '_bad: is not a valid model name (letters, digits, _ . -; not starting with _ . -)',
  );
  t.same(bad.versions, []);
  t.equal(a.problem, null);
  t.match(a.config, /^f:17:/, "config.pbtxt's size and time");
  t.same(
    a.versions.map((v) => [v.version, v.problem?.relativeMessage ?? null]),
    [
      ['1', null],
      ['9', null],
      ['10', null],
      ['01', 'a/01: is not a version number (a positive integer without leading zeros)'],
    ],
  );
  t.match(a.versions[0].fingerprint, /^a\/1\/model\.json 2 \d/);
  t.equal(b.config, null, 'no config.pbtxt');
  t.equal(b.versions[1].version, '3');
  t.ok(b.versions[1].problem instanceof ModelLoadError);
  t.match(b.versions[1].problem?.relativeMessage, /^b\/3: /, 'a symlink leading out of the repository');
  t.equal(b.versions[1].fingerprint, '');
  t.equal(await scanModel(files, 'missing'), null);
  t.equal(await scanModel(files, '.hidden'), null);
  t.equal(CONFIG_FILE, 'config.pbtxt');
});

t.test('a fingerprint changes with a file, and only then', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': '{}', 'm/1/extra/shard.bin': 'ab' });
  const files = await at(dir);
  const first = (await scanModel(files, 'm'))?.versions[0].fingerprint;
  t.equal((await scanModel(files, 'm'))?.versions[0].fingerprint, first, 'nothing changed');
  t.match(first, /m\/1\/extra\/ \S+\nm\/1\/extra\/shard\.bin 2 \S+\nm\/1\/model\.json 2 /);
  writeFileSync(join(dir, 'm/1/extra/shard.bin'), 'abc');
  t.not((await scanModel(files, 'm'))?.versions[0].fingerprint, first, 'a file of a sub-directory grew');
  const again = (await scanModel(files, 'm'))?.versions[0].fingerprint;
  utimesSync(join(dir, 'm/1/model.json'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  t.not((await scanModel(files, 'm'))?.versions[0].fingerprint, again, 'a file touched');
});

t.test('the model file of a version', async (t) => {
  const dir = modelsDir(t, { 'g/1/model.onnx': 'x', 'm/1/model.json': '{}', 'both/1/model.json': '{}' });
  writeFileSync(join(dir, 'both/1/model.onnx'), 'x');
  mkdirSync(join(dir, 'empty/1'), { recursive: true });
  const files = await at(dir);
  t.equal(await modelFileOf(files, 'g', '1', null), 'g/1/model.onnx');
  t.equal(await modelFileOf(files, 'm', '1', null), 'm/1/model.json');
  t.equal(await modelFileOf(files, 'empty', '1', null), 'empty/1/model.json', 'missing: reading it will say so');
  t.equal(await modelFileOf(files, 'm', '1', 'weights.onnx'), 'm/1/weights.onnx', "the configuration's file name");
  const both = await modelFileOf(files, 'both', '1', null).catch((error: unknown) => error);
  t.ok(both instanceof ModelLoadError);
  t.equal(
    (both as ModelLoadError).relativeMessage,
    'both/1: holds both model.json and model.onnx; keep one model file per version',
  );
});
