import { z } from 'zod';

/**
 * At most this many errors are listed in one answer (`errors`); the rest are only counted (`errorCount`).
 * One body can hold millions of bad values, and an answer the size of the request helps nobody.
 */
export const MAX_REPORTED_ERRORS = 20;

/** One offending value: `path` is its JSON path in the request body, e.g. `inputs[2][7]` (`$` is the body). */
export const ProblemDetail = z
  .object({
    path: z.string().describe('JSON path of the offending value, e.g. `inputs[2][7]`; `$` is the whole body'),
    message: z.string().describe('What is wrong with it, and the limit or expectation it breaks'),
  })
  .meta({ id: 'ProblemDetail' });

/** RFC 9457 problem details, the one error format of every route (`application/problem+json`). */
export const Problem = z
  .object({
    type: z.string().describe('A URI naming the kind of problem, e.g. `urn:rnn-serve:problem:invalid-request`'),
    title: z.string().describe('Short, human-readable summary of the kind of problem'),
    status: z.number().int().describe('The HTTP status code'),
    detail: z.string().describe('What went wrong with this request'),
    instance: z.string().optional().describe('The request path'),
    requestId: z.string().optional().describe('The request id (also in the `x-request-id` header)'),
    errors: z
      .array(ProblemDetail)
      .optional()
      .describe(
        `Each offending value, with its JSON path; at most ${MAX_REPORTED_ERRORS} (the first found), see \`errorCount\``,
      ),
    errorCount: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        `How many offending values were found, when that is more than \`errors\` lists (the list stops at ${MAX_REPORTED_ERRORS}; ` +
          '`detail` says how many more there are)',
      ),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details (`application/problem+json`)',
    examples: [
      {
        type: 'urn:rnn-serve:problem:invalid-request',
        title: 'Invalid request',
        status: 400,
        detail: 'inputs[0][1] has 3 features; expected 4 (inputs[0][0])',
        instance: '/rnn/forward',
        errors: [{ path: 'inputs[0][1]', message: 'has 3 features; expected 4 (inputs[0][0])' }],
      },
    ],
  });

export type Problem = z.infer<typeof Problem>;
export type ProblemDetail = z.infer<typeof ProblemDetail>;

/** A documented error response of a route: `application/problem+json` with the Problem schema. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem } },
});

/** The errors every route taking a JSON body can answer; `badRequest` says what a 400 means there. */
export const jsonBodyErrorResponses = (badRequest: string) => ({
  400: problemResponse(badRequest),
  404: problemResponse('Unknown route'),
  405: problemResponse('Known route, other method (see `Allow`)'),
  413: problemResponse('Request body larger than BODY_LIMIT_BYTES (a compressed body: once decompressed)'),
  415: problemResponse('Content-Type is not application/json, or Content-Encoding is not gzip, deflate or br'),
  500: problemResponse('Unexpected server error (logged; no details exposed)'),
});
