/**
 * The JSON body parser, replacing Fastify's so that a rejected body says why: the parser's own message
 * (with the position) for bad JSON, the byte offset for invalid UTF-8 (which a plain string decode would
 * silently turn into U+FFFD), and the key for `__proto__`/`constructor` poisoning. Only `application/json`
 * is accepted: every other media type is 415.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { ProblemError } from '../problems.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): ProblemError {
  return ProblemError.at('invalid-json', [{ path: '$', message }]);
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw invalid('is empty; expected a JSON object');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalid('is not valid UTF-8');
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw invalid(`is not valid JSON: ${(error as Error).message}`);
  }
}

export default fp(
  async function jsonBody(app: FastifyInstance) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  },
  { name: 'json-body' },
);
