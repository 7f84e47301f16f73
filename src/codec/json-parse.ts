/**
 * A JSON request body → its value, or a problem that says why not: the parser's own message (with the
 * position) for bad JSON, the byte offset for invalid UTF-8 (which a plain string decode would silently turn
 * into U+FFFD), the key for `__proto__`/`constructor` poisoning. Used by the body parser on the event loop and
 * by the workers that parse large bodies.
 *
 * Fast path of: secure-json-parse. Bodies with no backslash, `__proto__` or `constructor` go straight to
 * JSON.parse, which is what secure-json-parse returns for them after its scans; test/codec/json-parse.test.ts
 * holds the two to the same value or the same refusal.
 */
import secureJson from 'secure-json-parse';
import { ProblemError } from '../errors/problem-error.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): ProblemError {
  return ProblemError.at('invalid-json', [{ path: '$', message }]);
}

export function parseJsonBody(body: Uint8Array): unknown {
  if (body.length === 0) throw invalid('is empty; expected a JSON object');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalid('is not valid UTF-8');
  }
  try {
    // A `__proto__` or `constructor` key is spelled out in the text, or escaped (with a backslash): text with
    // neither is what secure-json-parse would hand to JSON.parse and return unchecked (its scans cost more
    // than the parse of a small body).
    if (!text.includes('\\') && !text.includes('__proto__') && !text.includes('constructor')) return JSON.parse(text);
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw invalid(`is not valid JSON: ${(error as Error).message}`);
  }
}
