/**
 * openapi.yaml passes Redocly's `recommended` ruleset (@redocly/openapi-core, the linter behind
 * `redocly lint`) with no errors and no warnings; anything it reports is printed in the test output with
 * its rule and JSON pointer. (openapi:check holds openapi.yaml equal to what the app serves.)
 */
import { readFile } from 'node:fs/promises';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import t from 'tap';
import { SPEC_PATH } from './workspace.js';

t.test("Redocly's recommended rules", async (t) => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: await readFile(SPEC_PATH, 'utf8'), absoluteRef: SPEC_PATH, config });
  for (const problem of problems) {
    const where = problem.location.map((l) => l.pointer).join(', ');
    t.comment(`${problem.severity} ${problem.ruleId}: ${problem.message} (${where})`);
  }
  const errors = problems.filter((p) => p.severity === 'error');
  t.equal(errors.length, 0, 'no errors');
  t.equal(problems.length - errors.length, 0, 'no warnings');
});

t.test('the linter does find problems (a document without them is not vacuous)', async (t) => {
  const config = await createConfig({ extends: ['recommended'] });
  const broken = JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'x', version: '1' },
    paths: { '/a': { get: { responses: { '200': { description: 'ok' } } } } },
  });
  const problems = await lintFromString({ source: broken, absoluteRef: '/tmp/broken.json', config });
  const rules = new Set(problems.map((p) => p.ruleId));
  for (const rule of ['security-defined', 'info-license', 'operation-operationId', 'no-empty-servers'])
    t.ok(rules.has(rule), `${rule} is reported`);
});
