/**
 * Optional API keys: when API_KEYS is set, every request needs `Authorization: Bearer <key>` with one of
 * them; missing → 401 with `WWW-Authenticate: Bearer`, wrong → 403, both problem+json. Health probes and the
 * API description stay open (probes must work without secrets; the description holds none); /metrics is
 * open unless METRICS_AUTH. Keys are compared as SHA-256 digests with timingSafeEqual against every
 * configured key, so the time taken says nothing about how much of a key was right.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ProblemError } from '../../errors/problem-error.js';
import { credentialProblem, keyDigests } from '../../runtime/api-keys.js';
import { isApiDescription, isMetrics, isPlaygroundPage, isProbe } from '../route-kinds.js';

export interface ApiKeyOptions {
  keys: readonly string[];
  /** Whether /metrics needs a key too. */
  protectMetrics: boolean;
}

function isOpen(request: FastifyRequest, protectMetrics: boolean): boolean {
  // Preflights carry no credentials by design; CORS answers them.
  if (request.method === 'OPTIONS') return true;
  return (
    isProbe(request) ||
    isApiDescription(request) ||
    isPlaygroundPage(request) ||
    (isMetrics(request) && !protectMetrics)
  );
}

/** Why this request may not pass; undefined when it may. */
function refusal(
  request: FastifyRequest,
  protectMetrics: boolean,
  digests: readonly Buffer[],
): ProblemError | undefined {
  if (isOpen(request, protectMetrics)) return undefined;
  return credentialProblem(request.headers.authorization, digests);
}

export default fp(
  async function apiKeys(app: FastifyInstance, { keys, protectMetrics }: ApiKeyOptions) {
    if (keys.length === 0) return;
    const digests = keyDigests(keys);
    app.addHook('onRequest', (request, _reply, done) => {
      done(refusal(request, protectMetrics, digests));
    });
  },
  { name: 'api-keys', dependencies: ['problems'] },
);
