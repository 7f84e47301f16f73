/**
 * docs/configuration.md is what scripts/config-docs.ts makes of the environment variables' schemas: every variable,
 * in its section, with its description, default and accepted values; machine-dependent defaults as their rule.
 * (`npm run docs:config:check` holds the committed page equal too; this runs under every Node of CI.)
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { z } from 'zod';
import { CONFIG_SECTIONS, ConfigError, ConfigFromEnv, loadConfig } from '../../src/config/config.js';
import { CONFIGURATION_PAGE, configurationReference, documentVariable } from '../../scripts/config-docs.js';

const page = configurationReference();

t.test('the committed page is the generated one', async (t) => {
  t.equal(readFileSync(CONFIGURATION_PAGE, 'utf8'), page, 'run `npm run docs:config` when this fails');
});

t.test('every variable is documented once, in its section, with a description', async (t) => {
  const sectioned = CONFIG_SECTIONS.flatMap((section) => Object.keys(section.variables));
  t.same([...sectioned].sort(), Object.keys(ConfigFromEnv.shape).sort(), 'the sections hold exactly the schema');
  t.equal(new Set(sectioned).size, sectioned.length, 'no variable in two sections');
  for (const name of sectioned) {
    const headings = page.split('\n').filter((line) => line === `### \`${name}\``);
    t.equal(headings.length, 1, `${name} has one heading`);
  }
  for (const section of CONFIG_SECTIONS) t.match(page, `\n## ${section.title}\n`);
});

t.test('defaults, ranges and values come from the schemas', async (t) => {
  /** The default and accepted values in the variable's row of its section's table. */
  const row = (name: string) => {
    const line = page.split('\n').find((l) => l.startsWith(`| [\`${name}\`](#${name.toLowerCase()})`));
    return line
      ?.split('|')
      .slice(2, -1)
      .map((cell) => cell.trim());
  };
  t.same(row('PORT'), ['`8080`', 'an integer from 0 to 65535']);
  t.same(row('BODY_LIMIT_BYTES'), ['`16777216` (16 MiB)', 'an integer ≥ 1']);
  t.same(row('MAX_INPUT_VALUES'), ['`8388608` (2²³)', 'an integer ≥ 1']);
  t.same(row('MAX_COMPUTE'), ['`1000000000` (10⁹)', 'an integer ≥ 1']);
  t.same(row('SHUTDOWN_DELAY_MS'), ['`5000` (5 s)', 'an integer ≥ 0']);
  t.same(row('MAX_EVENT_LOOP_UTILIZATION'), ['`0`', 'a number from 0 to 1']);
  t.same(row('MODELS_ON_ERROR'), ['`fail`', '`fail`, `skip`']);
  t.same(row('METRICS_AUTH'), ['`false`', '`0`, `1`, `true`, `false`']);
  t.same(row('API_KEYS'), ['_(empty)_', 'a comma-separated list of keys']);
  t.same(row('OPENAPI_CONTACT_URL'), ['_(empty)_', 'empty or a URL']);
  // Defaults that depend on the machine are written as their rule, so the page is the same wherever it is made.
  t.same(row('POOL_THREADS'), ["cores − 1, at least 1 (Node's availableParallelism())", 'an integer from 0 to 256']);
  t.same(row('MEMORY_BUDGET_BYTES'), ['0.5 × the memory limit', 'an integer ≥ 0']);
});

t.test('a variable without a description or a default is refused by the generator', async (t) => {
  t.throws(() => documentVariable('UNDOCUMENTED', z.string().default('x')), /UNDOCUMENTED has no description/);
  t.throws(() => documentVariable('NO_DEFAULT', z.string().describe('Something')), /NO_DEFAULT has no default/);
  t.same(documentVariable('DOCUMENTED', z.coerce.number().int().min(2).max(9).default(3).describe('Three')), {
    name: 'DOCUMENTED',
    description: 'Three',
    default: '`3`',
    accepts: 'an integer from 2 to 9',
  });
});

t.test('OPENAPI_CONTACT_*: empty by default, an http(s) URL and an e-mail address when given', async (t) => {
  t.same(loadConfig({}).apiContact, { name: 'rnn-serve' });
  t.same(
    loadConfig({
      OPENAPI_CONTACT_NAME: 'ML platform',
      OPENAPI_CONTACT_URL: 'https://example.com/help',
      OPENAPI_CONTACT_EMAIL: 'ml@example.com',
    }).apiContact,
    { name: 'ML platform', url: 'https://example.com/help', email: 'ml@example.com' },
  );
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      return error instanceof ConfigError ? error.message : `not a ConfigError: ${error}`;
    }
    return 'accepted';
  };
  t.equal(
    refusal({ OPENAPI_CONTACT_URL: 'ftp://example.com' }),
    'invalid environment variable OPENAPI_CONTACT_URL="ftp://example.com": expected an http or https URL',
  );
  t.equal(
    refusal({ OPENAPI_CONTACT_EMAIL: 'nobody' }),
    'invalid environment variable OPENAPI_CONTACT_EMAIL="nobody": expected an e-mail address',
  );
});
