/**
 * The JSON body parser, replacing Fastify's so that a rejected body says why: the parser's own message
 * (with the position) for bad JSON, the byte offset for invalid UTF-8 (which a plain string decode would
 * silently turn into U+FFFD), and the key for `__proto__`/`constructor` poisoning. Only `application/json`
 * is accepted: every other media type is 415, except on the Open Inference Protocol's routes (see
 * `inferenceProtocolBodies`).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import fp from 'fastify-plugin';
import { parseJsonBody } from '../../codec/json-parse.js';
import { ProblemError, invalidAt } from '../../errors/problem-error.js';
import { readAlignedBody } from '../aligned-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bytes after the JSON of an Open Inference Protocol body with binary tensors; null without. */
    binaryData: Uint8Array | null;
    /**
     * An inference request's `parameters.sequence_id` as the JSON wrote its digits, when the parsed number cannot
     * hold them (an unsigned 64-bit id past 2^53, as Triton's clients send it); null otherwise.
     */
    exactSequenceId: string | null;
  }
}

/**
 * The digits of the one `"sequence_id": <integer>` in a JSON text (the request's own; an input's parameters
 * could name one too, then this is ambiguous and null).
 */
function sequenceIdDigits(json: Buffer): string | null {
  const text = json.toString('latin1');
  const found = [...text.matchAll(/"sequence_id"\s*:\s*(\d+)\s*[,}]/g)];
  return found.length === 1 ? found[0][1] : null;
}

/** The parsed body, noting an unsigned 64-bit `parameters.sequence_id` past what a number holds. */
function withExactSequenceId(request: FastifyRequest, json: Buffer): unknown {
  const parsed = parseJsonBody(json) as { parameters?: { sequence_id?: unknown } } | null;
  const id = parsed?.parameters?.sequence_id;
  request.exactSequenceId =
    typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id) ? sequenceIdDigits(json) : null;
  return parsed;
}

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

/**
 * The Open Inference Protocol's bodies, in this (encapsulated) context: the JSON inference request, or with the
 * binary tensor data extension the JSON followed by binary tensors, its length in the Inference-Header-Content-
 * Length header. Read whatever the Content-Type: none (Triton's own HTTP client sends none, and Triton reads
 * such bodies), `application/json` with any parameters, or `application/octet-stream`; any other type is 415,
 * as everywhere. The JSON is parsed here; the binary part is left in `request.binaryData`, unread.
 */
export function inferenceProtocolBodies(app: FastifyInstance): void {
  const parse = (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
    try {
      const header = request.headers['inference-header-content-length'];
      if (header === undefined) {
        request.binaryData = null;
        done(null, withExactSequenceId(request, body));
        return;
      }
      const length = Number(header);
      if (typeof header !== 'string' || !/^[0-9]+$/.test(header.trim()))
        invalidAt('Inference-Header-Content-Length', `is '${header}'; expected the length of the JSON in bytes`);
      if (length > body.length)
        invalidAt('Inference-Header-Content-Length', `is ${length}, past the end of the body (${body.length} bytes)`);
      if (length === 0)
        invalidAt(
          'Inference-Header-Content-Length',
          'is 0 (a body of one raw tensor without JSON), which this server does not read; send the JSON inference request first',
        );
      request.binaryData = body.subarray(length);
      done(null, withExactSequenceId(request, body.subarray(0, length)));
    } catch (error) {
      done(error as Error, undefined);
    }
  };
  // The body is read so that its binary part, if any, starts 4-aligned: float32 tensors are read in place.
  const read = (request: FastifyRequest, payload: Readable, done: (error: Error | null, value?: unknown) => void) => {
    const header = request.headers['inference-header-content-length'];
    const alignAt = typeof header === 'string' && /^[0-9]+$/.test(header.trim()) ? Number(header) : 0;
    readAlignedBody(request, payload, alignAt, (error, body) => {
      if (error !== null) done(error);
      else parse(request, body as Buffer, done);
    });
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) => read(request, payload as Readable, done));
  app.addContentTypeParser('application/octet-stream', (request, payload, done) =>
    read(request, payload as Readable, done),
  );
  // '*' is Fastify's parser for a body without Content-Type, and for every type without a parser of its own.
  app.addContentTypeParser('*', (request, payload, done) => {
    const type = request.headers['content-type'];
    if (type === undefined) read(request, payload as Readable, done);
    else
      done(
        new ProblemError(
          'unsupported-media-type',
          `Content-Type '${type}' is not supported; send application/json, application/octet-stream (binary ` +
            'tensors) or no Content-Type',
        ),
      );
  });
}

export default fp(
  async function jsonBody(app: FastifyInstance) {
    app.decorateRequest('binaryData', null);
    app.decorateRequest('exactSequenceId', null);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  },
  { name: 'json-body' },
);
