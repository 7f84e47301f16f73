/**
 * environment.ts: the environment variables as one schema, by section. Held to how each kind of variable reads:
 * numbers coerced from text with their bounds, flags (`true`/`1`/`false`/`0`, not any non-empty string), lists
 * (blanks dropped), API keys of at least MIN_API_KEY_CHARS, TRUST_PROXY (false, true, addresses and CIDRs; a hop
 * count refused), REDIS_URL checked and never quoted, optional texts; and each variable in one section.
 */
import t from 'tap';
import { MIN_API_KEY_CHARS, SERVICE_NAME } from '../../src/config/environment.js';
import { CONFIG_SECTIONS, ConfigFromEnv } from '../../src/config/sections.js';

const read = (env: Record<string, string>) => ConfigFromEnv.parse(env);
const issue = (env: Record<string, string>) => {
  const parsed = ConfigFromEnv.safeParse(env);
  if (parsed.success) throw new Error(`${JSON.stringify(env)} was accepted`);
  return [String(parsed.error.issues[0].path[0]), parsed.error.issues[0].message];
};

t.test('numbers from text, with their bounds and defaults', async (t) => {
  const defaults = read({});
  t.same([defaults.PORT, defaults.HOST, defaults.MAX_BATCH, defaults.RATE_LIMIT_MAX], [8080, '0.0.0.0', 1024, 0]);
  t.same([read({ PORT: '0' }).PORT, read({ MAX_BATCH: '7' }).MAX_BATCH], [0, 7]);
  t.equal(issue({ PORT: '65536' })[0], 'PORT');
  t.equal(issue({ MAX_BATCH: '0' })[0], 'MAX_BATCH', 'a limit is positive');
  t.equal(issue({ MAX_BATCH: '2.5' })[0], 'MAX_BATCH');
  t.equal(issue({ MAX_BATCH: 'many' })[0], 'MAX_BATCH');
  t.equal(read({ RATE_LIMIT_MAX: '0' }).RATE_LIMIT_MAX, 0, '0 is off');
  t.equal(issue({ LOG_LEVEL: 'verbose' })[0], 'LOG_LEVEL');
  t.equal(SERVICE_NAME, 'rnn-serve');
});

t.test('flags and lists', async (t) => {
  t.same(
    ['true', '1', 'false', '0'].map((v) => read({ METRICS_AUTH: v }).METRICS_AUTH),
    [true, true, false, false],
  );
  t.equal(read({}).METRICS_AUTH, false);
  t.equal(issue({ METRICS_AUTH: 'yes' })[0], 'METRICS_AUTH', 'not any non-empty string');
  t.same(read({ CORS_ORIGINS: ' https://a.example , ,https://b.example,' }).CORS_ORIGINS, [
    'https://a.example',
    'https://b.example',
  ]);
  t.same(read({}).CORS_ORIGINS, []);
  const key = 'k'.repeat(MIN_API_KEY_CHARS);
  t.same(read({ API_KEYS: `${key},${key}2` }).API_KEYS, [key, `${key}2`]);
  t.same(issue({ API_KEYS: `${key},short` }), [
    'API_KEYS',
    `each key must be at least ${MIN_API_KEY_CHARS} printable ASCII characters without spaces`,
  ]);
  t.equal(issue({ API_KEYS: `${key} x` })[0], 'API_KEYS', 'no spaces in a key');
});

t.test('TRUST_PROXY: false, true, addresses and CIDRs', async (t) => {
  t.equal(read({}).TRUST_PROXY, false);
  t.equal(read({ TRUST_PROXY: 'true' }).TRUST_PROXY, true);
  t.equal(read({ TRUST_PROXY: ' ' }).TRUST_PROXY, false);
  t.same(read({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,loopback,::1/128,192.168.0.0/255.255.0.0' }).TRUST_PROXY, [
    '10.0.0.0/8',
    '127.0.0.1',
    'loopback',
    '::1/128',
    '192.168.0.0/255.255.0.0',
  ]);
  t.match(issue({ TRUST_PROXY: '2' }), ['TRUST_PROXY', /^a hop count is not accepted/]);
  t.match(issue({ TRUST_PROXY: '10.0.0.0/33' }), ['TRUST_PROXY', /^'10\.0\.0\.0\/33' is not an IP address or CIDR/]);
  t.match(issue({ TRUST_PROXY: 'proxy.local' }), ['TRUST_PROXY', /^'proxy\.local' is not an IP address or CIDR/]);
});

t.test('REDIS_URL: checked, never quoted', async (t) => {
  t.equal(read({}).REDIS_URL, null);
  t.equal(read({ REDIS_URL: 'redis://:secret@cache:6379/2' }).REDIS_URL, 'redis://:secret@cache:6379/2');
  t.equal(read({ REDIS_URL: 'rediss://cache' }).REDIS_URL, 'rediss://cache');
  t.same(issue({ REDIS_URL: 'http://cache' }), ['REDIS_URL', 'the scheme is not redis:// or rediss:// (TLS)']);
  t.same(issue({ REDIS_URL: 'redis://cache/zero' }), [
    'REDIS_URL',
    'the path must be a database number, e.g. redis://host:6379/0',
  ]);
  t.same(issue({ REDIS_URL: 'not a url with secret' }), [
    'REDIS_URL',
    'is not a URL; expected redis://[user[:password]@]host[:port][/db]',
  ]);
});

t.test('optional texts: empty is none', async (t) => {
  t.equal(read({}).OPENAPI_CONTACT_URL, undefined);
  t.equal(read({ OPENAPI_CONTACT_URL: 'https://example.com/team' }).OPENAPI_CONTACT_URL, 'https://example.com/team');
  t.same(issue({ OPENAPI_CONTACT_URL: 'ftp://example.com' }), ['OPENAPI_CONTACT_URL', 'expected an http or https URL']);
  t.same(issue({ OPENAPI_CONTACT_EMAIL: 'nobody' }), ['OPENAPI_CONTACT_EMAIL', 'expected an e-mail address']);
});

t.test('every variable in exactly one section', async (t) => {
  const listed = CONFIG_SECTIONS.flatMap((section) => Object.keys(section.variables));
  t.equal(new Set(listed).size, listed.length, 'none twice');
  t.same([...listed].sort(), Object.keys(ConfigFromEnv.shape).sort());
  t.equal(CONFIG_SECTIONS[0].title, 'Server');
});
