/**
 * zod's parse, stopping at the first issue: the parsed value of a valid body, or null for an invalid one, which
 * the full parse then explains (issue by issue, after the pre-check, src/errors/precheck.ts, has bounded how
 * many there can be).
 *
 * Why: a union tries its options in order and keeps every issue of each one that fails. A valid body whose
 * array matches a later option (`initialState` as a list holding one matrix of 600,000 rows, tried first as one
 * matrix) had zod build an issue per row of the wrong option (1–2 s), then overflow the stack spreading them
 * into one `push(...)` (a 400 "too large to validate"). Stopping at the first issue, the wrong option costs one
 * row, and the body reaches the checks that name what is wrong with it (here: 600,000 rows for a batch of 1).
 *
 * Porting note: `abortEarly` is zod 4's internal parse option, the one its own `validate` sets: arrays, objects
 * and tuples stop before their next element once one has failed. A success is the same as the full parse's
 * (stopping applies only after an issue); test/errors/parse-if-valid.test.ts holds the two equal and checks
 * that the option is still honoured.
 */
import type { z } from 'zod';

const ABORT_EARLY = { abortEarly: true } as z.core.ParseContext<z.core.$ZodIssue>;

/**
 * The value of a valid body, or null. It cannot overflow the stack as the full parse can: a container stops at
 * its first failed entry, so the issues held at once are a few per level of the schema, never spread by the
 * thousand.
 */
export function parseIfValid<T>(schema: z.ZodType<T>, data: unknown): { value: T } | null {
  const result = schema.safeParse(data, ABORT_EARLY);
  return result.success ? { value: result.data } : null;
}
