/**
 * RepositoryFiles: what start-up reads of MODELS_DIR stays inside it (symlinks within are followed, those
 * leading out refused), and a file is measured before it is opened: too large, of another size than
 * declared, or not a regular file (a FIFO would block a reader) is refused without being opened.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { RepositoryFileError, RepositoryFiles } from '../../src/models/repository-files.js';
import { modelsDir } from '../helpers/models.js';

/** A directory outside every repository, removed when the test ends. */
function outside(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-outside-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

t.test('paths resolve inside the repository; symlinks leading out are refused', async (t) => {
  const dir = modelsDir(t, { 'a/1/model.json': '{}', 'b/1/model.json': '{"b": 1}' });
  const away = outside(t);
  writeFileSync(join(away, 'secret.json'), '{"secret": true}');
  symlinkSync('../../b/1/model.json', join(dir, 'a', '1', 'inside.json'));
  symlinkSync(join(away, 'secret.json'), join(dir, 'a', '1', 'out.json'));
  symlinkSync(away, join(dir, 'c'));
  symlinkSync(join(dir, 'nowhere.json'), join(dir, 'a', '1', 'dangling.json'));
  const files = (await RepositoryFiles.at(dir))!;

  t.equal(
    (await files.read('a/1/inside.json', { max: 100, limit: 'X' })).toString(),
    '{"b": 1}',
    'a symlink within the repository is followed',
  );
  for (const [rel, message] of [
    ['a/1/out.json', /^is a symlink resolving outside MODELS_DIR/],
    ['c', /^is a symlink resolving outside MODELS_DIR/],
    ['c/secret.json', /^is a symlink resolving outside MODELS_DIR/],
    ['a/1/dangling.json', /^is missing$/],
    ['a/1/none.json', /^is missing$/],
  ] as const) {
    const error = await refusal(files.resolve(rel));
    t.ok(error instanceof RepositoryFileError, `${rel}: refused`);
    t.match((error as Error).message, message, rel);
    t.notOk((error as Error).message.includes(dir), `${rel}: the message holds no absolute path`);
  }
  const viaLink = outside(t);
  symlinkSync(dir, join(viaLink, 'models'));
  const linked = (await RepositoryFiles.at(join(viaLink, 'models')))!;
  t.equal(
    (await linked.read('b/1/model.json', { max: 100, limit: 'X' })).toString(),
    '{"b": 1}',
    'MODELS_DIR itself may be a symlink: its real path is the repository',
  );
  t.equal(await RepositoryFiles.at(join(dir, 'nope')), null, 'a missing MODELS_DIR is no repository');
});

t.test('paths are shown as configured: models/hello/1/model.json for MODELS_DIR=./models', async (t) => {
  const dir = modelsDir(t, { 'hello/1/model.json': '{}' });
  const configured = `./${relative(process.cwd(), dir)}`;
  const files = (await RepositoryFiles.at(configured))!;
  t.equal(files.shown('hello/1/model.json'), `${relative(process.cwd(), dir)}/hello/1/model.json`);
  t.equal(RepositoryFiles.path('hello', '1', 'model.json'), 'hello/1/model.json');
});

t.test('a file is measured before it is opened, and read once', async (t) => {
  const opened: string[] = [];
  const { RepositoryFiles: Spied, RepositoryFileError: SpiedError } = await t.mockImport<
    typeof import('../../src/models/repository-files.js')
  >('../../src/models/repository-files.js', {
    'node:fs/promises': {
      ...fsPromises,
      open: (path: string, flags: number) => {
        opened.push(path);
        return fsPromises.open(path, flags);
      },
    },
  });
  const dir = modelsDir(t, { 'm/1/model.json': '{"ok": true}', 'm/1/w.bin': 'x'.repeat(100) });
  writeFileSync(join(dir, 'm', '1', 'big.json'), '');
  truncateSync(join(dir, 'm', '1', 'big.json'), 1025);
  mkdirSync(join(dir, 'm', '1', 'dir.json'));
  execFileSync('mkfifo', [join(dir, 'm', '1', 'fifo.bin')]);
  const files = (await Spied.at(dir))!;

  for (const [rel, size, message] of [
    ['m/1/big.json', { max: 1024, limit: 'MAX_TEST' }, /^is 1025 bytes; the limit is 1024 bytes \(MAX_TEST\)$/],
    ['m/1/w.bin', { exact: 96, described: 'the manifest declares' }, /^is 100 bytes; the manifest declares 96 bytes$/],
    ['m/1/fifo.bin', { exact: 0, described: 'the manifest declares' }, /^is not a regular file$/],
    ['m/1/dir.json', { max: 1024, limit: 'MAX_TEST' }, /^is not a regular file$/],
  ] as const) {
    const error = await refusal(files.read(rel, size));
    t.ok(error instanceof SpiedError, `${rel}: refused`);
    t.match((error as Error).message, message, `${rel}: the reason`);
  }
  t.same(opened, [], 'none of them was opened (the FIFO did not block: it was never opened)');
  t.match(
    (await refusal(files.measure('m/1/fifo.bin'))) as Error,
    { message: 'is not a regular file' },
    'measure refuses the FIFO too',
  );
  t.same(await files.measure('m/1/w.bin'), { real: join(files.real, 'm', '1', 'w.bin'), size: 100 });

  t.equal((await files.read('m/1/w.bin', { exact: 100, described: 'declared' })).length, 100);
  t.equal((await files.read('m/1/model.json', { max: 1024, limit: 'X' })).toString(), '{"ok": true}');
  t.same(
    opened,
    [join(files.real, 'm', '1', 'w.bin'), join(files.real, 'm', '1', 'model.json')],
    'a good file is opened once, by its real path',
  );
  t.equal(
    ((await refusal(files.read('m/1/none.bin', { max: 1, limit: 'X' }))) as Error).message,
    'is missing',
    'a missing file',
  );
});
