/**
 * Request validation: fastify-type-provider-zod's validator (the zod schemas in schemas/ are the one source
 * of truth), with a shortcut for the schemas that have one: a check that returns exactly zod's output for the
 * common bodies and null for everything else, which zod then decides (and explains).
 *
 * Fast path of: zod's parse. The shortcut (schemas/forward-shortcut.ts) is held to zod's output by
 * test/schemas/forward-shortcut.test.ts.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';
import { ForwardRequest } from '../../schemas/forward.js';
import { parseCommonForwardRequest, parseCommonModelForwardRequest } from '../../schemas/forward-shortcut.js';
import { ModelForwardRequest } from '../../schemas/models.js';

const SHORTCUTS = new Map<unknown, (data: unknown) => unknown>([
  [ForwardRequest, parseCommonForwardRequest],
  [ModelForwardRequest, parseCommonModelForwardRequest],
]);

export const validatorCompiler: FastifySchemaCompiler<ZodType> = (route) => {
  const validate = zodValidatorCompiler(route);
  const shortcut = SHORTCUTS.get(route.schema);
  if (shortcut === undefined) return validate;
  return (data) => {
    const value = shortcut(data);
    return value !== null ? { value } : validate(data);
  };
};
