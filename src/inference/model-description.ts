/** The model a request (or a repository file) describes: the model fields of the ForwardRequest schema, parsed. */
import type { z } from 'zod';
import type { ModelFields } from '../../schemas/forward.js';

type FieldsOf<T extends Record<string, z.ZodType>> = { [K in keyof T]?: z.output<T[K]> };
export type ModelDescription = FieldsOf<typeof ModelFields>;
