/**
 * API keys (API_KEYS), as both frontends check them: `Authorization: Bearer <key>` (an HTTP header, or gRPC
 * metadata of the same name). Keys are compared as SHA-256 digests with timingSafeEqual against every configured
 * key, so the time taken says nothing about how much of a key was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ProblemError } from '../errors/problem-error.js';

const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;
const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/** The digests `keyMatches` compares against, made once. */
export const keyDigests = (keys: readonly string[]): Buffer[] => keys.map(digest);

/** True when `candidate` is one of the keys; always compares against all of them. */
export function keyMatches(candidate: string, digests: readonly Buffer[]): boolean {
  const candidateDigest = digest(candidate);
  let found = false;
  for (const keyDigest of digests) found = timingSafeEqual(candidateDigest, keyDigest) || found;
  return found;
}

/**
 * Why a request with this Authorization value may not pass (undefined when it may): none is `unauthorized`
 * (401, UNAUTHENTICATED), one not of the form `Bearer <key>` too, a key that is not one of ours `forbidden`
 * (403, PERMISSION_DENIED). The `www-authenticate` header is HTTP's; gRPC leaves it out.
 */
export function credentialProblem(
  authorization: string | undefined,
  digests: readonly Buffer[],
): ProblemError | undefined {
  if (authorization === undefined || authorization === '') {
    return new ProblemError('unauthorized', 'this server needs an API key: send Authorization: Bearer <key>', [], {
      'www-authenticate': 'Bearer realm="rnn-serve"',
    });
  }
  const match = BEARER.exec(authorization);
  if (match === null) {
    return new ProblemError('unauthorized', 'the Authorization header is not of the form Bearer <key>', [], {
      'www-authenticate': 'Bearer realm="rnn-serve", error="invalid_request"',
    });
  }
  return keyMatches(match[1], digests)
    ? undefined
    : new ProblemError('forbidden', 'the API key is not valid for this server');
}
