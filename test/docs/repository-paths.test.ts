/**
 * Every repository path named in a comment or a document exists (scripts/repository-paths.ts says what is read and
 * how a name resolves), and the check does find a stale one where one is.
 */
import t from 'tap';
import { scannedFiles, unresolvedIn, unresolvedNames } from '../../scripts/repository-paths.js';

t.test('every path and file name in comments and documents exists', async (t) => {
  const files = scannedFiles();
  for (const file of [
    'README.md',
    'src/http/app.ts',
    'schemas/forward.ts',
    'scripts/make-pytorch-fixtures.py',
    '.ci/run',
  ])
    t.ok(files.includes(file), `${file} is read`);
  t.notOk(
    files.some((file) => file.startsWith('test/fixtures/')),
    'fixtures are data, not prose',
  );
  const unresolved = unresolvedNames();
  for (const { file, line, name } of unresolved) t.comment(`${file}:${line}: ${name}`);
  t.same(unresolved, [], 'nothing names a file that does not exist');
});

t.test('a stale name is found; strings, URLs, placeholders and resolvable names are not', async (t) => {
  const source = [
    '/**',
    ' * Held equal by test/plugins/metric-series.test.ts, built into dist/bench/nowhere.js.',
    ' * See src/http/metric-series.ts, metric-series.ts, plugins/json-body.ts, runtime/pool.ts, hello/1/model.json,',
    ' * dist/bench/run.js, models/NAME/VERSION/model.json, test/**/*.test.ts, https://example.com/src/gone.ts, TF.js.',
    ' */',
    "const where = 'test/also/gone.ts'; // and gone-too.ts",
    '',
  ].join('\n');
  t.same(
    unresolvedIn('src/http/example.ts', source).map(({ line, name }) => `${line}:${name}`),
    ['2:test/plugins/metric-series.test.ts', '2:dist/bench/nowhere.js', '6:gone-too.ts'],
  );

  const markdown = ['Run `scripts/gone.ts`.', '', '```sh', 'cp x models/my-model/1/model.json', '```', ''].join('\n');
  t.same(
    unresolvedIn('README.md', markdown).map(({ name }) => name),
    ['scripts/gone.ts'],
    'fenced code blocks show a user’s own files',
  );
  t.same(
    unresolvedIn(
      'scripts/example.py',
      '"""Writes test/fixtures/gone/cases.json."""\nx = 1  # for test/gone.test.ts\n',
    ).map(({ name }) => name),
    ['test/fixtures/gone/cases.json', 'test/gone.test.ts'],
  );
});
