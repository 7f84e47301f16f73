/**
 * The JSON body parser, replacing Fastify's so that a rejected body says why: the parser's own message
 * (with the position) for bad JSON, the byte offset for invalid UTF-8 (which a plain string decode would
 * silently turn into U+FFFD), and the key for `__proto__`/`constructor` poisoning. Only `application/json`
 * is accepted: every other media type is 415.
 */
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import fp from 'fastify-plugin';
import { parseJsonBody } from '../../codec/json-parse.js';

function parseJson(
  _request: unknown,
  body: string | Buffer,
  done: (error: Error | null, value?: unknown) => void,
): void {
  try {
    done(null, parseJsonBody(body as Buffer));
  } catch (error) {
    done(error as Error, undefined);
  }
}

/** A JSON body left as bytes, to be parsed and validated on a worker (see `deferLargeJson`). */
export class DeferredJson {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * In this (encapsulated) context, JSON bodies of at least `minBytes` are not parsed on the event loop: the
 * route receives a DeferredJson and hands its bytes to a worker, which parses and validates them with the
 * same code. Smaller bodies are parsed here as everywhere else.
 */
export function deferLargeJson(app: FastifyInstance, minBytes: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if ((body as Buffer).length >= minBytes) done(null, new DeferredJson(body as Buffer));
    else parseJson(request, body, done);
  });
}

/**
 * A validator compiler that lets a DeferredJson through (its worker validates it) and validates the rest with
 * `compile`'s.
 */
export function passDeferred<S>(compile: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const validate = compile(route);
    return (data) => (data instanceof DeferredJson ? { value: data } : validate(data));
  };
}

export default fp(
  async function jsonBody(app: FastifyInstance) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  },
  { name: 'json-body' },
);
