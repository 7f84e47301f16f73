/**
 * The OpenAPI document passes Spectral's `spectral:oas` ruleset (@stoplight/spectral-core and -rulesets, what
 * `spectral lint` runs) with no findings of any severity: errors, warnings, information and hints all count, since
 * each is something a reader or a generated client trips over. Both the document the app serves (/openapi.json)
 * and the committed openapi.yaml are linted; anything reported is printed with its rule, severity and path.
 *
 * Every rule of the ruleset is on, the ones it leaves off by default too, except two that contradict choices the
 * document makes on purpose:
 * - `openapi-tags-alphabetical`: the tags are in reading order (Swagger UI shows them so): inference first,
 *   operations and the playground last.
 * - `license-url`: in OpenAPI 3.1 a license names its SPDX `identifier` or a `url`, not both; ours has the identifier.
 * and `contact-properties` (name, url and email) only where the deployment has configured all three
 * (OPENAPI_CONTACT_*): the defaults name no URL or address that would be made up.
 */
import { readFile } from 'node:fs/promises';
// CommonJS packages: their exports are read from the default import (Node's ESM loader cannot see them all by name).
import spectralCore, { type ISpectralDiagnostic, type RulesetDefinition } from '@stoplight/spectral-core';
import spectralParsers from '@stoplight/spectral-parsers';
import spectralRulesets from '@stoplight/spectral-rulesets';
import t from 'tap';
import { build } from '../helpers/build.js';
import { SPEC_PATH } from './workspace.js';

const { Document, Spectral } = spectralCore;
const { Json, Yaml } = spectralParsers;
const { oas } = spectralRulesets;

const SEVERITIES = ['error', 'warning', 'information', 'hint'];

function linter(options: { contactProperties: boolean }): InstanceType<typeof Spectral> {
  const spectral = new Spectral();
  spectral.setRuleset({
    extends: [[oas as RulesetDefinition, 'all']],
    rules: {
      'openapi-tags-alphabetical': 'off',
      'license-url': 'off',
      ...(options.contactProperties ? {} : { 'contact-properties': 'off' }),
    },
  });
  return spectral;
}

/** Spectral's findings on `source`, each also printed as a test comment. */
async function lint(
  t: { comment(message: string): void },
  spectral: InstanceType<typeof Spectral>,
  source: string,
  format: 'json' | 'yaml',
  name: string,
): Promise<ISpectralDiagnostic[]> {
  const findings = await spectral.run(
    format === 'json' ? new Document(source, Json, name) : new Document(source, Yaml, name),
  );
  for (const f of findings)
    t.comment(`${SEVERITIES[f.severity]} ${f.code}: ${f.message} (${f.path.join('.') || '(root)'})`);
  return findings;
}

t.test('spectral:oas finds nothing in the served /openapi.json and in openapi.yaml', async (t) => {
  const spectral = linter({ contactProperties: false });
  const { app } = await build(t);
  const served = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(served.statusCode, 200);
  const findings = await lint(t, spectral, served.body, 'json', '/openapi.json');
  t.same(
    findings.map((f) => f.code),
    [],
    'no finding of any severity in /openapi.json',
  );

  const committed = await readFile(SPEC_PATH, 'utf8');
  t.same(
    (await lint(t, spectral, committed, 'yaml', SPEC_PATH)).map((f) => f.code),
    [],
    'none in openapi.yaml',
  );
});

t.test('a configured contact is complete: contact-properties passes too', async (t) => {
  const contact = { name: 'Inference platform team', url: 'https://platform.example.com/rnn', email: 'ml@example.com' };
  const { app } = await build(t, { apiContact: contact });
  const served = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.same(served.json().info.contact, contact);
  const findings = await lint(t, linter({ contactProperties: true }), served.body, 'json', '/openapi.json');
  t.same(
    findings.map((f) => f.code),
    [],
  );
});

t.test('the linter does find problems (a document without them is not vacuous)', async (t) => {
  const broken = JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'x', version: '1' },
    tags: [{ name: 'b' }, { name: 'a' }],
    paths: { '/a': { get: { tags: ['a', 'b'], responses: { '200': { description: 'ok' } } } } },
  });
  const findings = await lint(t, linter({ contactProperties: true }), broken, 'json', 'broken.json');
  const codes = new Set(findings.map((f) => f.code));
  for (const rule of [
    'info-contact',
    'info-description',
    'info-license',
    'operation-description',
    'operation-operationId',
    'operation-singular-tag',
    'tag-description',
    'oas3-api-servers',
  ])
    t.ok(codes.has(rule), `${rule} is reported`);
  t.notOk(codes.has('openapi-tags-alphabetical'), 'a rule turned off stays off');
});
