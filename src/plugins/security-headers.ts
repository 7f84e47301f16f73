/**
 * Security headers (@fastify/helmet) on every answer. The API answers JSON only, so its Content-Security-
 * Policy allows nothing; the Swagger UI under /docs gets the policy it needs (its own scripts, styles and
 * the spec from this origin, inline styles, data: images). No `upgrade-insecure-requests`: the service is
 * plain HTTP behind the cluster's TLS, and the docs must load over plain HTTP on localhost too.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

export default fp(
  async function securityHeaders(app: FastifyInstance) {
    await app.register(helmet, { contentSecurityPolicy: false });
    app.addHook('onSend', async (request, reply) => {
      const url = request.routeOptions.url ?? '';
      reply.header('content-security-policy', url === '/docs' || url.startsWith('/docs/') ? DOCS_CSP : API_CSP);
    });
  },
  { name: 'security-headers' },
);
