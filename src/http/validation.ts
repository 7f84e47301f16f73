/**
 * Request validation: fastify-type-provider-zod's validator (the zod schemas in schemas/ are the one source
 * of truth), with a shortcut for the schemas that have one: a check that returns exactly zod's output for the
 * common bodies and null for everything else, which zod then decides (and explains).
 *
 * Fast path of: zod's parse. The shortcut (schemas/forward-shortcut.ts) is held to zod's output by
 * test/schemas/forward-shortcut.test.ts.
 *
 * A body the shortcut does not take first passes the pre-check (src/errors/precheck.ts): one with more than
 * 20 errors it can count (wrong JSON types, numbers out of range, strings outside an enum, missing or unknown
 * fields) is rejected there, with the first 20 and their count, because zod would build an issue per error
 * and, for arrays of arrays, overflow the stack (a 500). Before both, zod parses stopping at its first issue
 * (`parseIfValid`): a valid body is taken as it is, without a union building an issue per entry of an option
 * it tries first and rejects. If zod overflows anyway (an invalid body that also holds an array of hundreds of
 * thousands of entries a union tries against the wrong option), the answer is a 400.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';
import { ForwardRequest } from '../../schemas/forward.js';
import { parseCommonForwardRequest, parseCommonModelForwardRequest } from '../../schemas/forward-shortcut.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import { parseIfValid } from '../errors/parse-if-valid.js';
import { isStackOverflow, precheck, tooLargeToValidate } from '../errors/precheck.js';

const SHORTCUTS = new Map<unknown, (data: unknown) => unknown>([
  [ForwardRequest, parseCommonForwardRequest],
  [ModelForwardRequest, parseCommonModelForwardRequest],
]);

export const validatorCompiler: FastifySchemaCompiler<ZodType> = (route) => {
  const validate = zodValidatorCompiler(route);
  if (route.httpPart !== 'body') return validate;
  const shortcut = SHORTCUTS.get(route.schema);
  // A ProblemError as the error: Fastify hands it to the error handler as it is (a 400 with its problems).
  return (data) => {
    if (shortcut !== undefined) {
      const value = shortcut(data);
      if (value !== null) return { value };
    }
    // A valid body is parsed stopping at the first issue: no union builds issues for its wrong options.
    const valid = parseIfValid(route.schema, data);
    if (valid !== null) return valid;
    const rejected = precheck(route.schema, data);
    if (rejected !== null) return { error: rejected };
    try {
      return validate(data);
    } catch (error) {
      if (isStackOverflow(error)) return { error: tooLargeToValidate() };
      throw error;
    }
  };
};
