/**
 * security-headers.ts: the headers every answer carries, and those only documents carry. Held, on a bare app, to
 * every answer (errors and 404s included) carrying the API headers and no document-only one, and a documents
 * context (Swagger UI's) giving its HTML the docs CSP and the document-only headers, and its JSON none of them.
 */
import t from 'tap';
import securityHeaders, {
  API_CSP,
  API_SECURITY_HEADERS,
  DOCS_CSP,
  DOCUMENT_SECURITY_HEADERS,
  docsContext,
} from '../../../src/http/plugins/security-headers.js';
import { bareApp } from '../../helpers/bare-app.js';

const pick = (headers: Record<string, unknown>, names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, headers[name]]));
const DOCUMENT_ONLY = Object.keys(DOCUMENT_SECURITY_HEADERS).filter((name) => !(name in API_SECURITY_HEADERS));

t.test('every answer: the API headers and its CSP', async (t) => {
  const app = await bareApp(t, securityHeaders, {});
  for (const [method, url] of [
    ['POST', '/rnn/forward'],
    ['GET', '/nowhere'],
    ['DELETE', '/healthz'],
  ] as const) {
    const answer = await app.inject({ method, url });
    t.same(pick(answer.headers, Object.keys(API_SECURITY_HEADERS)), API_SECURITY_HEADERS, `${method} ${url}`);
    t.equal(answer.headers['content-security-policy'], API_CSP);
    t.same(pick(answer.headers, DOCUMENT_ONLY), Object.fromEntries(DOCUMENT_ONLY.map((n) => [n, undefined])));
  }
  t.match(API_CSP, /^default-src 'none'/);
});

t.test('a documents context: its CSP, and the document-only headers on HTML', async (t) => {
  const app = await bareApp(
    t,
    async (instance) => {
      await instance.register(securityHeaders);
      await instance.register(async (docs) => {
        await docsContext(docs);
        docs.get('/docs', async (_request, reply) => reply.type('text/html').send('<!doctype html><p>docs'));
        docs.get('/docs/json', async () => ({ ok: true }));
      });
    },
    {},
  );
  const page = await app.inject({ url: '/docs' });
  t.equal(page.headers['content-security-policy'], DOCS_CSP);
  t.same(pick(page.headers, Object.keys(DOCUMENT_SECURITY_HEADERS)), DOCUMENT_SECURITY_HEADERS);
  const json = await app.inject({ url: '/docs/json' });
  t.equal(json.headers['content-security-policy'], DOCS_CSP);
  t.equal(json.headers['referrer-policy'], undefined, 'not on JSON');
});
