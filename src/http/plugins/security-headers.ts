/**
 * Security headers on every answer, as precomputed header objects set in synchronous hooks (helmet's
 * per-request middleware cost ~35% of a small request's throughput). JSON answers get what matters for an
 * API, set as the request comes in; HTML documents (the playground, Swagger UI) get the rest of helmet's
 * defaults too, from hooks of their own routes. The API answers JSON only, so its Content-Security-Policy
 * allows nothing; the Swagger UI under /docs gets the policy it needs (its own scripts, styles and the spec
 * from this origin, inline styles, data: images). No `upgrade-insecure-requests`: the service is plain HTTP
 * behind the cluster's TLS, and the docs must load over plain HTTP on localhost too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

/**
 * What every answer carries (OWASP's REST Security Cheat Sheet for JSON APIs): no MIME sniffing, no framing,
 * HTTPS only, not readable cross-origin by no-cors requests, and a CSP (set per route below).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
};

/**
 * The rest of helmet 8's defaults, for HTML documents only (the playground, Swagger UI): they govern what a
 * browser does with a page (opener, referrer, DNS prefetch, old IE and Flash behaviour) and mean nothing on
 * a JSON answer, where they cost a small request ~40% more header bytes.
 */
export const DOCUMENT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...API_SECURITY_HEADERS,
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

const API_HEADERS = { ...API_SECURITY_HEADERS, 'content-security-policy': API_CSP };
const DOCUMENT_EXTRAS = Object.entries(DOCUMENT_SECURITY_HEADERS).filter(([name]) => !(name in API_SECURITY_HEADERS));

/** Whether an answer is an HTML document (its Content-Type, as set by the route). */
function isDocument(type: unknown): boolean {
  return typeof type === 'string' && type.startsWith('text/html');
}

/**
 * Gives an HTML answer the document-only headers and `csp` as its policy (other answers keep the API set).
 * For the contexts and routes that serve documents, as their own onSend hook: an app-wide onSend hook costs
 * every small API request ~5% of its throughput, for headers only a few pages need.
 */
export function documentHeaders(csp: string) {
  return (
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ): void => {
    if (isDocument(reply.getHeader('content-type'))) {
      reply.header('content-security-policy', csp);
      for (const [name, value] of DOCUMENT_EXTRAS) reply.header(name, value);
    }
    done(null, payload);
  };
}

/**
 * Every answer gets the API's headers as the request comes in (errors and 404s included); the contexts that
 * serve documents (Swagger UI, the playground) change the policy and add the document-only ones.
 */
export default fp(
  async function securityHeaders(app: FastifyInstance) {
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(API_HEADERS);
      done();
    });
  },
  { name: 'security-headers' },
);

/**
 * Swagger UI under /docs, in a context of its own: its pages and assets get DOCS_CSP (its own scripts and
 * styles, inline styles, data: images) and, for its HTML, the document-only headers.
 */
export async function docsContext(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('content-security-policy', DOCS_CSP);
    done();
  });
  app.addHook('onSend', documentHeaders(DOCS_CSP));
}
