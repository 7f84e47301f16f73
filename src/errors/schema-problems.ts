/**
 * Schema errors as problem details: zod's issues (as the zod type provider hands them to Fastify's error
 * handler, or straight from `safeParse` on a worker) → one entry per offending JSON path, in words a client
 * can act on. No Fastify here: the worker that parses large bodies reports through the same code.
 */
import type { ProblemDetail } from '../../schemas/problem.js';
import { jsonPath } from './problem-error.js';
import { suggestKey } from './schema-keys.js';

/** One validation error as fastify-type-provider-zod shapes it (Ajv's shape: keyword, instancePath, params). */
export interface ValidationEntry {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/inputs/0/1` (the zod type provider's instancePath) → `['inputs', 0, 1]`. */
function segmentsOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
  errors?: ZodIssueLike[][];
}

/**
 * A union failure (e.g. `inputs` as nested arrays or as a flat tensor) is reported through the branch
 * the value was meant for: the one whose errors are not "wrong type at the top". Its nested paths are
 * far more useful than zod's bare "Invalid input".
 */
function expandIssue(issue: ZodIssueLike, base: PropertyKey[]): ZodIssueLike[] {
  const path = [...base, ...issue.path];
  if (issue.code !== 'invalid_union' || !issue.errors) return [{ ...issue, path }];
  const meant = issue.errors.filter((branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'));
  if (meant.length > 0) return meant[0].flatMap((inner) => expandIssue(inner, path));
  const expected = [
    ...new Set(issue.errors.flatMap((branch) => branch.map((i) => i.expected).filter((e) => e !== undefined))),
  ];
  return [{ ...issue, path, message: `Invalid input: expected ${expected.join(' or ')}` }];
}

/** Validation entries → one problem detail per offending JSON path (at most 20), unknown keys with a "did you mean". */
export function schemaProblems(bodySchema: unknown, entries: readonly ValidationEntry[]): ProblemDetail[] {
  const issues = entries.slice(0, 20).flatMap((entry) =>
    expandIssue(
      {
        code: entry.keyword,
        path: [],
        message: entry.message ?? entry.keyword,
        ...(entry.params as object),
      } as ZodIssueLike,
      segmentsOf(entry.instancePath),
    ),
  );
  const out: ProblemDetail[] = [];
  for (const issue of issues.slice(0, 20)) {
    const segments = issue.path as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) {
        const hint = suggestKey(bodySchema, segments, key);
        out.push({
          path: jsonPath([...segments, key]),
          message: `is not a known field${hint === null ? '' : `; did you mean ${hint}?`}`,
        });
      }
      continue;
    }
    let message = issue.message;
    const missing = /^Invalid input: expected (\w+), received undefined$/.exec(message);
    if (missing) message = `is required (expected ${missing[1]})`;
    out.push({ path: jsonPath(segments), message });
  }
  return out;
}

/** zod issues → the entries the zod type provider would have made of them (same keyword, path and params). */
export function validationEntries(
  issues: readonly { code: string; path: PropertyKey[]; message: string }[],
): ValidationEntry[] {
  return issues.map(({ code, path, message, ...params }) => ({
    keyword: code,
    instancePath: `/${path.join('/')}`,
    message,
    params,
  }));
}
