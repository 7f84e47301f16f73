/**
 * Optional API keys: when API_KEYS is set, every request needs `Authorization: Bearer <key>` with one of
 * them; missing → 401 with `WWW-Authenticate: Bearer`, wrong → 403, both problem+json. Health probes and the
 * API description stay open (probes must work without secrets; the description holds none); /metrics is
 * open unless METRICS_AUTH. Keys are compared as SHA-256 digests with timingSafeEqual against every
 * configured key, so the time taken says nothing about how much of a key was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../errors/problem-error.js';
import { isApiDescription, isMetrics, isPlaygroundPage, isProbe } from '../route-kinds.js';

export interface ApiKeyOptions {
  keys: readonly string[];
  /** Whether /metrics needs a key too. */
  protectMetrics: boolean;
}

const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;
const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/** True when `candidate` is one of the keys; always compares against all of them. */
export function keyMatches(candidate: string, keyDigests: readonly Buffer[]): boolean {
  const candidateDigest = digest(candidate);
  let found = false;
  for (const keyDigest of keyDigests) found = timingSafeEqual(candidateDigest, keyDigest) || found;
  return found;
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
  keyDigests: readonly Buffer[],
): ProblemError | undefined {
  if (isOpen(request, protectMetrics)) return undefined;
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    return new ProblemError('unauthorized', 'this server needs an API key: send Authorization: Bearer <key>', [], {
      'www-authenticate': 'Bearer realm="rnn-serve"',
    });
  }
  const match = BEARER.exec(header);
  if (match === null) {
    return new ProblemError('unauthorized', 'the Authorization header is not of the form Bearer <key>', [], {
      'www-authenticate': 'Bearer realm="rnn-serve", error="invalid_request"',
    });
  }
  return keyMatches(match[1], keyDigests)
    ? undefined
    : new ProblemError('forbidden', 'the API key is not valid for this server');
}

export default fp(
  async function apiKeys(app: FastifyInstance, { keys, protectMetrics }: ApiKeyOptions) {
    if (keys.length === 0) return;
    const keyDigests = keys.map(digest);
    app.addHook('onRequest', (request, _reply, done) => {
      done(refusal(request, protectMetrics, keyDigests));
    });
  },
  { name: 'api-keys', dependencies: ['problems'] },
);
